"""A run as a Slurm batch script: one task per node on `nodes` exclusive nodes; over several nodes, Ray's head on
the first node (where the batch script itself runs) and a Ray worker on each other node through one `srun` step;
then the pipeline (grpolab/cluster/launch.py: `grpolab train` on one node, which needs no Ray; the Ray driver over
several). The run config travels inside the script (a quoted here-document), so `sbatch FILE` is all it takes.

The run folder is named after the job, not the Slurm job id: submitting the same script again resumes from the
last checkpoint there (the pipeline resumes from a folder that holds one).
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex

from grpolab.cluster.spec import (
    ClusterJob,
    ClusterSpecError,
    format_slurm_time,
    pipeline_command,
)

RAY_PORT = 6379
#: Seconds the script waits for every Ray node to join before it gives up (and frees the allocation).
NODE_WAIT_S = 300
_SLURM_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18, "m": 10**-3, "": 1}


def slurm_memory(quantity: str) -> str:
    """A Kubernetes quantity as sbatch's --mem: whole MiB (Slurm's `M`), rounded up."""
    m = re.match(r"^([0-9.]+)([A-Za-z]*)$", quantity)
    assert m, quantity  # checked by check_quantity when the job was made
    number, unit = float(m.group(1)), m.group(2)
    size = number * (_BINARY.get(unit) or _DECIMAL[unit])
    return f"{max(1, -(-int(size) // 2**20))}M"


def _check_slurm_names(job: ClusterJob) -> None:
    if not job.project.isprintable():  # it goes into a comment line and an `export`
        raise ClusterSpecError(f"project {job.project!r}: a project name with control characters")
    for option, value in (
        ("--queue", job.queue),
        ("--priority-class", job.priority_class),
        ("--account", job.account),
    ):
        if value and not _SLURM_NAME.match(value):
            raise ClusterSpecError(
                f"{option} {value!r}: a Slurm partition, QOS or account name is letters, digits, '_', '.', '-'"
            )


def sbatch_options(job: ClusterJob) -> list[tuple[str, str | None]]:
    """(option, value) of the script's #SBATCH lines; value None for a flag."""
    options: list[tuple[str, str | None]] = [
        ("--job-name", job.name),
        ("--nodes", str(job.nodes)),
        ("--ntasks-per-node", "1"),  # one Ray node per host; Ray places the ranks
        ("--cpus-per-task", str(job.cpus_per_node)),
        ("--mem", slurm_memory(job.memory_per_node)),
        ("--exclusive", None),  # no other job on these nodes: NCCL and the rollout engines own the GPUs
        ("--output", "%x-%j.out"),
    ]
    if job.gpus_per_node:
        options.insert(4, ("--gpus-per-node", str(job.gpus_per_node)))
    if job.time_limit_s:
        options.append(("--time", format_slurm_time(job.time_limit_s)))
    for option, value in (
        ("--partition", job.queue),
        ("--qos", job.priority_class),
        ("--account", job.account),
    ):
        if value:
            options.append((option, value))
    return options


def _heredoc_delimiter(text: str) -> str:
    """A here-document end word that no line of the config is."""
    lines = set(text.splitlines())
    word = "GRPOLAB_CONFIG_END"
    while word in lines:
        word += "_" + hashlib.sha256(word.encode()).hexdigest()[:4]
    return word


def render_sbatch(job: ClusterJob) -> str:
    """The batch script's text."""
    _check_slurm_names(job)
    header = [
        "#!/bin/bash",
        f"# GRPO Lab run {job.name} (project {job.project}): "
        + (f"Ray on {job.nodes} nodes, then the pipeline." if job.nodes > 1 else "the pipeline on one node."),
        "# Made by `grpolab cluster render --target slurm`; submit with `sbatch THIS_FILE`.",
    ]
    header += [f"#SBATCH {o}" if v is None else f"#SBATCH {o}={v}" for o, v in sbatch_options(job)]
    # the other words of the command are plain, so joining them as they are is the quoting bash needs
    train = " ".join(pipeline_command('"$config"', '"$run_dir"'))
    ray = _ray_nodes(job) if job.nodes > 1 else ""
    return "\n".join(header) + "\n\n" + _setup(job) + ray + f"\n{train}\n"


def _setup(job: ClusterJob) -> str:
    """Strict mode, the run folder with the config written into it, the allocation checked against the run."""
    config = job.config_text if job.config_text.endswith("\n") else job.config_text + "\n"
    end = _heredoc_delimiter(config)
    return f"""\
set -euo pipefail

export GRPOLAB_PROJECT={shlex.quote(job.project)}
run_dir="${{GRPOLAB_RUN_DIR:-$SLURM_SUBMIT_DIR/runs/{job.name}}}"
mkdir -p "$run_dir"
config="$run_dir/config.yaml"
cat >"$config" <<'{end}'
{config}{end}

# the run's placement group asks for {job.nodes} node(s): an allocation of another size would never fit it
if [[ "$SLURM_JOB_NUM_NODES" != {job.nodes} ]]; then
  echo "grpolab: the allocation has $SLURM_JOB_NUM_NODES nodes, the run config resources.nodes {job.nodes}" >&2
  exit 1
fi
"""


def _ray_nodes(job: ClusterJob) -> str:
    """Ray's head on the batch host, one worker per other node, and the wait until all of them joined (runs over
    several nodes only)."""
    gpus = f" --gpus-per-node={job.gpus_per_node}" if job.gpus_per_node else ""
    node_args = f"--num-cpus={job.cpus_per_node} --num-gpus={job.gpus_per_node}"
    if job.ray_resources:  # the custom resources the run's placement group asks every node for
        node_args += " --resources=" + shlex.quote(json.dumps(job.ray_resources, sort_keys=True))
    return f"""
mapfile -t nodes < <(scontrol show hostnames "$SLURM_JOB_NODELIST")
head_node="${{nodes[0]}}"
head_ip="$(srun --overlap --nodes=1 --ntasks=1 --nodelist="$head_node" hostname --ip-address | awk '{{print $1}}')"
ray_port="${{GRPOLAB_RAY_PORT:-{RAY_PORT}}}"
export RAY_ADDRESS="$head_ip:$ray_port"

# Ray's processes run as srun steps in the background; they end with the allocation, or here on exit.
ray_steps=()
stop_ray() {{
  kill "${{ray_steps[@]}}" 2>/dev/null || true
}}
trap stop_ray EXIT

# Wait until N Ray nodes are alive (Ray's own node table, read by a short driver).
wait_for_nodes() {{
  local want="$1" waited=0
  until python -c "import ray, sys; ray.init(logging_level='ERROR'); sys.exit(sum(n['Alive'] for n in ray.nodes()) < $want)" 2>/dev/null; do
    if ((waited >= {NODE_WAIT_S})); then
      echo "grpolab: fewer than $want Ray nodes joined after {NODE_WAIT_S} s; see the srun output above" >&2
      exit 1
    fi
    sleep 5
    waited=$((waited + 5))
  done
}}

srun --overlap --nodes=1 --ntasks=1 --nodelist="$head_node"{gpus} \\
  ray start --head --node-ip-address="$head_ip" --port="$ray_port" {node_args} --block &
ray_steps+=("$!")
wait_for_nodes 1
srun --nodes={job.worker_replicas} --ntasks={job.worker_replicas} --ntasks-per-node=1 --exclude="$head_node"{gpus} \\
  ray start --address="$RAY_ADDRESS" {node_args} --block &
ray_steps+=("$!")
wait_for_nodes {job.nodes}
"""
