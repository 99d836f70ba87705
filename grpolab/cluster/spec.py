"""What a cluster job of one run is: `ClusterJob`, built from a run config and the command's options, with every
name checked against the rules of the system that will read it (Kubernetes names and labels, KubeRay's name
length, Slurm's time format) so a mistake shows here, with the option and the fix, and not at `kubectl apply`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

#: The Ray release the images are expected to carry (the `ray` extra pins the same one).
RAY_VERSION = "2.58.0"
#: Where the pods mount the run's config (ConfigMap) and, with a volume claim, the shared data folder.
CONFIG_DIR = "/etc/grpolab"
CONFIG_FILE = "config.yaml"
DATA_DIR = "/grpolab/data"
#: KubeRay names the RayJob's RayCluster `<job name>-<5 chars>` and refuses job names over 47 characters.
MAX_RAYJOB_NAME = 47
#: Memory a rank is given by default: a GPU rank holds vLLM and DeepSpeed host buffers, a CPU rank the model.
MEMORY_PER_GPU_RANK_GI = 32
MEMORY_PER_CPU_RANK_GI = 8

_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUANTITY = re.compile(r"^([0-9]+(\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?$")
_SLURM_TIME = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")


class ClusterSpecError(ValueError):
    """An option or config value the generators cannot use; the message names it, the value and the fix."""


@dataclass(frozen=True)
class ClusterJob:
    """One run as a cluster job: its shape (nodes × GPUs, CPUs and memory per node) and where it queues."""

    name: str  # RayJob / Slurm job name: a DNS-1035 label of at most 47 characters
    project: str  # the platform's project (runs.project); picks the Kueue LocalQueue
    config_text: str  # the run config exactly as written (line numbers of lint findings stay right)
    nodes: int
    gpus_per_node: int
    cpus_per_node: int
    memory_per_node: str  # a Kubernetes quantity, e.g. `64Gi`
    namespace: str = "grpolab"
    queue: str = ""  # Kueue LocalQueue (default: the project's) / Slurm partition (default: the site's)
    priority_class: str | None = None  # Kueue WorkloadPriorityClass / Slurm QOS
    image: str | None = None  # container image with grpolab and Ray installed (RayJob only)
    time_limit_s: int | None = None  # RayJob activeDeadlineSeconds / sbatch --time
    volume_claim: str | None = None  # a ReadWriteMany PVC mounted at DATA_DIR in every pod (RayJob only)
    account: str | None = None  # sbatch --account
    # custom Ray resources every node offers (the run's placement group asks each bundle for them)
    ray_resources: dict[str, float] = field(default_factory=dict)
    ray_version: str = RAY_VERSION

    @property
    def worker_replicas(self) -> int:
        """Worker pods beside the head pod: the head is a node of the run too."""
        return self.nodes - 1

    @property
    def local_queue(self) -> str:
        return self.queue or project_queue_name(self.project)

    @property
    def config_sha256(self) -> str:
        return hashlib.sha256(self.config_text.encode()).hexdigest()


def pipeline_command(config_path: str, out_dir: str) -> list[str]:
    """The command that runs the GRPO Lab pipeline on a config in a cluster job (grpolab/cluster/launch.py):
    `grpolab train` on one node, the Ray driver of the `ray` executor over several."""
    return ["python", "-m", "grpolab.cluster.launch", config_path, out_dir]


def project_queue_name(project: str) -> str:
    """The LocalQueue (and ClusterQueue suffix) of a project: the project's name, which must be a DNS label."""
    if not _DNS1123_LABEL.match(project) or len(project) > 63:
        raise ClusterSpecError(
            f"project {project!r} is not a Kubernetes name (lower-case letters, digits and '-', at most 63, "
            "starting and ending with a letter or digit), so it cannot name its Kueue queues: for a RayJob pass "
            "--queue NAME (a LocalQueue of its namespace); for --target kueue, list the projects with --project"
        )
    return project


def check_label(option: str, value: str) -> str:
    """A Kubernetes label value / object name given on the command line."""
    if not _DNS1123_LABEL.match(value) or len(value) > 63:
        raise ClusterSpecError(
            f"{option} {value!r}: not a Kubernetes name (lower-case letters, digits and '-', at most 63 "
            "characters, starting and ending with a letter or digit)"
        )
    return value


def job_name(wanted: str | None, stem: str) -> str:
    """`wanted` checked as KubeRay requires, or a name made from `stem` (the config file's name, a run id)."""
    if wanted:
        if not _DNS1035_LABEL.match(wanted) or len(wanted) > MAX_RAYJOB_NAME:
            raise ClusterSpecError(
                f"--name {wanted!r}: a job name is lower-case letters, digits and '-', starts with a letter, ends "
                f"with a letter or digit and has at most {MAX_RAYJOB_NAME} characters (KubeRay's limit)"
            )
        return wanted
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "run"
    name = f"grpolab-{slug}"
    if len(name) > MAX_RAYJOB_NAME:  # keep it unique with a short hash of what was cut
        digest = hashlib.sha256(slug.encode()).hexdigest()[:6]
        name = f"{name[: MAX_RAYJOB_NAME - 7].rstrip('-')}-{digest}"
    return name


def parse_time_limit(text: str) -> int:
    """Seconds of a Slurm time limit: `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M` or `D-H:M:S`."""
    m = _SLURM_TIME.match(text.strip())
    if not m:
        raise ClusterSpecError(
            f"--time {text!r}: use Slurm's format, e.g. 90 (minutes), 4:00:00 (hours) or 2-00:00:00 (days)"
        )
    days, a, b, c = (int(g) if g is not None else None for g in m.groups())
    assert a is not None  # the pattern requires the first number
    if days is not None:  # D-H[:M[:S]]
        seconds = days * 86400 + a * 3600 + (b or 0) * 60 + (c or 0)
    elif c is not None:  # H:M:S
        seconds = a * 3600 + (b or 0) * 60 + c
    else:  # M[:S]
        seconds = a * 60 + (b or 0)
    if seconds <= 0:
        raise ClusterSpecError(f"--time {text!r}: a time limit is more than 0")
    return seconds


def format_slurm_time(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    hms = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}-{hms}" if days else hms


def check_quantity(option: str, value: str) -> str:
    if not _QUANTITY.match(value):
        raise ClusterSpecError(
            f"{option} {value!r}: not a Kubernetes quantity; write e.g. 64Gi, 512Mi or 8 (plain number)"
        )
    return value


def run_shape(config: Any) -> tuple[int, int, int]:
    """(nodes, GPUs per node, learner ranks per node) of a RunConfig (`gpus_per_node` is 0 on one node: the
    node then has `resources.gpus`)."""
    res = config.resources
    gpus_per_node = res.gpus_per_node or res.gpus // res.nodes
    return res.nodes, gpus_per_node, res.ranks_per_node


def job_from_config(config: Any, config_text: str, *, name: str, project: str, **options: Any) -> ClusterJob:
    """A ClusterJob for a validated RunConfig. `options` are ClusterJob fields; `cpus_per_node` and
    `memory_per_node` default to what the config's ranks need (cpu_threads per rank and one core for Ray)."""
    nodes, gpus_per_node, ranks_per_node = run_shape(config)
    cpus = options.pop("cpus_per_node", None) or ranks_per_node * int(config.resources.cpu_threads) + 1
    per_rank = MEMORY_PER_GPU_RANK_GI if gpus_per_node else MEMORY_PER_CPU_RANK_GI
    memory = options.pop("memory_per_node", None) or f"{per_rank * ranks_per_node}Gi"
    job = ClusterJob(
        name=name,
        project=project,
        config_text=config_text,
        nodes=nodes,
        gpus_per_node=gpus_per_node,
        cpus_per_node=int(cpus),
        memory_per_node=check_quantity("--memory-per-node", str(memory)),
        ray_resources=dict(config.resources.ray_resources),
        **{k: v for k, v in options.items() if v is not None},
    )
    if job.cpus_per_node < 1:
        raise ClusterSpecError(f"--cpus-per-node {job.cpus_per_node}: a node needs at least 1 CPU")
    return job
