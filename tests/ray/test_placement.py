"""Multi-node resources without a cluster: the config's checks, the Ray bundles, the linter's world size, the
`grpolab runs` column and the local executor's refusal. Fast (no Ray processes)."""

from __future__ import annotations

import queue
from pathlib import Path

import pytest
from pydantic import ValidationError

from grpolab.commands.runs import format_row
from training.config import ResourcesConfig, RunConfig
from training.lint.engine import lint_text
from worker.executors import ExecutorRefused, LaunchSpec
from worker.executors.local import LocalExecutor
from worker.executors.ray_driver import bundles


def test_nodes_and_gpus_per_node_give_the_world_size() -> None:
    gpu = ResourcesConfig(nodes=2, gpus_per_node=8)
    assert (gpu.gpus, gpu.ranks_per_node, gpu.world_size) == (16, 8, 16)  # gpus follows: the gpu queue
    split = ResourcesConfig(nodes=2, gpus=8)
    assert (split.gpus_per_node, split.world_size) == (4, 8)
    cpu = ResourcesConfig(nodes=3, cpu_ranks=2)
    assert (cpu.gpus, cpu.world_size) == (0, 6)
    assert ResourcesConfig(cpu_ranks=3).world_size == 3  # one node: as before
    assert ResourcesConfig(gpus=4).world_size == 4
    again = RunConfig.model_validate(RunConfig(resources=gpu).model_dump(mode="json"))  # stored and re-read
    assert again.resources.gpus == 16


@pytest.mark.parametrize(
    ("resources", "says"),
    [
        ({"nodes": 2, "gpus": 3}, "does not split evenly over resources.nodes (2)"),
        ({"nodes": 2, "gpus_per_node": 4, "gpus": 6}, "set gpus to 8, or leave it out"),
        ({"nodes": 0}, "nodes"),
        ({"ray_resources": {"a100": -1}}, "amounts ≥ 0"),
    ],
)
def test_bad_resources_name_the_field_and_the_fix(resources: dict, says: str) -> None:
    with pytest.raises(ValidationError) as err:
        RunConfig.model_validate({"resources": resources})
    assert says in str(err.value)


def test_bundles_one_per_node_with_its_ranks_gpus_and_custom_resources() -> None:
    res = ResourcesConfig(nodes=2, gpus_per_node=4, ray_resources={"a100": 1})
    assert bundles(res) == [{"CPU": 4.0, "GPU": 4.0, "a100": 1.0}] * 2
    assert bundles(ResourcesConfig(nodes=2)) == [{"CPU": 1.0}] * 2
    assert bundles(ResourcesConfig(gpus=2)) == [{"CPU": 2.0, "GPU": 2.0}]


def test_lint_sees_the_world_size_across_nodes() -> None:
    text = "algorithm:\n  group_size: 4\nrollout:\n  batch_size: 8\nresources:\n  nodes: 4\n"
    [hit] = [f for f in lint_text(text, path="run.yaml").findings if f.rule == "GL006"]
    assert hit.severity == "warning" and "2 group(s) per step over 4 learner ranks" in hit.message
    assert "at least 16" in (hit.fix or "") and hit.line == 6
    fine = text.replace("nodes: 4", "nodes: 2")
    assert not [f for f in lint_text(fine, path="run.yaml").findings if f.rule == "GL006"]


def test_runs_table_shows_executor_nodes_and_ranks() -> None:
    base = {"id": "r1", "status": "running", "step": 1, "total_steps": 3, "last_reward": None, "name": "n"}
    assert " local " in format_row({**base, "executor": "local", "nodes": 1, "ranks": 1})
    assert " local 4r " in format_row({**base, "executor": "local", "nodes": 1, "ranks": 4})
    assert " ray 2n/16r " in format_row({**base, "executor": "ray", "nodes": 2, "ranks": 16})
    assert " local " in format_row(base)  # an older API without the columns


def test_local_executor_refuses_a_multi_node_run(tmp_path: Path) -> None:
    config = RunConfig(resources=ResourcesConfig(nodes=2)).model_dump(mode="json")
    spec = LaunchSpec("r1", 1, config, tmp_path, {}, tmp_path)
    with pytest.raises(ExecutorRefused, match="--executor ray"):
        LocalExecutor().start(spec, queue.Queue())
    assert LocalExecutor().placement(config) == (1, 1)
