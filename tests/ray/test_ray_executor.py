"""The `ray` executor against a real local Ray cluster (head + node2 on loopback) and the real service.

(a) a run executes as a Ray Job and succeeds; (d) cancel stops the Ray job; (b) a 2-node CPU run, one gloo rank per
node, trains 3 steps with one metrics writer; (c) killing the node the run trains on requeues it and the next
attempt resumes from its checkpoint.

Most of a scenario is process start-up (the job's driver, a Ray worker per rank, torch in the trainer), so the
runs of (a) and (d) start together, one per node (two workers): (d)'s run is submitted when (a) starts. The node
kill comes last: it changes the cluster.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from infra import tiny_config, wait_for, wait_status

pytestmark = [pytest.mark.ray, pytest.mark.services, pytest.mark.slow]

ON_NODE2 = "  ray_resources:\n    node2: 1\n"  # pins the run's bundle to node2 (the head keeps the driver)


def status_of(job) -> str:  # type: ignore[no-untyped-def]
    return str(getattr(job.status, "value", job.status))


@pytest.fixture(scope="module")
def endless_run(stack) -> dict:  # type: ignore[no-untyped-def]
    """(d)'s run: it trains until cancelled. Asked for by (a) too, so that it starts beside (a)'s run."""
    return stack.submit(tiny_config(steps=100_000, every=0))  # type: ignore[no-any-return]


def test_a_run_executes_as_a_ray_job(stack, endless_run) -> None:  # type: ignore[no-untyped-def]
    run = stack.submit(tiny_config(steps=3))
    done = wait_status(stack.client, run["id"], {"succeeded", "failed"}, 300)
    assert done["status"] == "succeeded", done
    assert (done["executor"], done["nodes"], done["ranks"]) == ("ray", 1, 1)
    assert stack.metric_steps(run["id"]) == [1, 2, 3]
    assert done["summary"]["steps"] == 3 and done["step"] == 3
    [job] = stack.jobs_of(run["id"])
    assert status_of(job) == "SUCCEEDED" and job.driver_exit_code == 0
    assert "-m worker.executors.ray_driver " in job.entrypoint
    logs = stack.logs(run["id"])
    assert any(line.startswith("ray: 1 rank(s) over 1 node(s)") for line in logs), logs[:20]


def test_cancel_stops_the_ray_job(stack, endless_run) -> None:  # type: ignore[no-untyped-def]
    run = endless_run
    wait_for(lambda: stack.run(run["id"])["step"] >= 2, 300, "no progress")
    r = stack.client.post(f"/api/v1/runs/{run['id']}/cancel")
    assert r.status_code == 200 and r.json()["cancel_requested"] is True
    done = wait_status(stack.client, run["id"], {"cancelled", "failed", "succeeded"}, 120)
    assert done["status"] == "cancelled", done
    assert done["summary"]["stopped"] is True  # the ranks stopped after their step, as with a local child

    def stopped_job():  # type: ignore[no-untyped-def]
        [job] = stack.jobs_of(run["id"])  # one attempt, one job
        return job if status_of(job) == "STOPPED" else None

    wait_for(stopped_job, 60, "the run's Ray job did not end STOPPED", every=0.5)


def test_two_nodes_one_gloo_rank_each_one_metrics_writer(stack) -> None:  # type: ignore[no-untyped-def]
    run = stack.submit(tiny_config(steps=3) + "  nodes: 2\n")
    done = wait_status(stack.client, run["id"], {"succeeded", "failed"}, 420)
    assert done["status"] == "succeeded", done
    assert (done["executor"], done["nodes"], done["ranks"]) == ("ray", 2, 2)
    assert done["summary"]["ranks"] == 2  # the pipeline trained on a world of two
    logs = stack.logs(run["id"])
    placed = next(line for line in logs if line.startswith("ray: 2 rank(s) over 2 node(s)"))
    nodes = re.findall(r"rank (\d) on \S+ node (\w+)", placed)
    assert [r for r, _ in nodes] == ["0", "1"] and nodes[0][1] != nodes[1][1], placed  # STRICT_SPREAD
    assert stack.metric_steps(run["id"]) == [1, 2, 3]  # each step stored once
    out_dir = Path(stack.env["GRPOLAB_DATA_DIR"]) / "runs" / run["id"]
    rows = (out_dir / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["step"] for r in rows] == [1, 2, 3]  # rank 0 alone wrote the file


def test_a_bundle_no_node_can_hold_is_said_while_waiting_then_fails_clearly(stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The driver as a Ray Job of its own (the executor's submission, a short placement wait): a run that asks for a
    resource no node has says in its log that it waits for the cluster, then fails naming the bundle."""
    import queue

    from worker.executors import LaunchSpec
    from worker.executors.ray_job import RayExecutor

    config = {"resources": {"ray_resources": {"nowhere": 1}}}
    spec = LaunchSpec("unplaceable", 1, config, tmp_path, {"GRPOLAB_RAY_PLACEMENT_TIMEOUT_S": "15"}, tmp_path)
    lines: queue.Queue[str | None] = queue.Queue()
    execution = RayExecutor(stack.cluster.address).start(spec, lines)

    def ended() -> tuple[int] | None:
        code = execution.poll()
        return None if code is None else (code,)

    (rc,) = wait_for(ended, 180, "the driver did not end", every=0.5)
    execution.close()
    got = []
    while (line := lines.get(timeout=30)) is not None:
        got.append(line)
    text = "\n".join(got)
    assert rc == 1, text
    assert "ray: waiting for the cluster to place 1 bundle(s) {'CPU': 1.0, 'nowhere': 1.0} (PACK)" in text, (
        text
    )
    assert re.search(r"free now: \{'CPU': [\d.]+, 'node2': [\d.]+\}; giving up after 15 s", text), text
    assert "could not place 1 bundle(s) {'CPU': 1.0, 'nowhere': 1.0} (PACK) within 15 s" in text, text
    assert "2 node(s) with {'CPU': 2, 'node2': 1} in all" in text, text


def test_killing_the_runs_node_requeues_and_resumes(stack) -> None:  # type: ignore[no-untyped-def]
    # killed as soon as its first checkpoint is on disk, watched on the filesystem: the API learns of a step a second
    # or two late (the job's log stream), and a 12-step run had already finished by then at load 3-6
    stack.wait_idle()  # what the earlier tests' runs held on node2 is released: the run can be placed there at once
    run = stack.submit(tiny_config(steps=30, every=2) + ON_NODE2)
    first_checkpoint = (
        Path(stack.env["GRPOLAB_DATA_DIR"]) / "runs" / run["id"] / "checkpoints" / "step-000002"
    )

    polls = iter(range(10**9))

    def checkpointed() -> bool:
        if first_checkpoint.is_dir():
            return True
        ended = next(polls) % 20 == 0 and stack.run(run["id"])["status"] in {
            "succeeded",
            "failed",
            "cancelled",
        }
        if ended:  # the checkpoint cannot come any more
            raise AssertionError(f"the run ended before its first checkpoint:\n{stack.diagnose(run['id'])}")
        return False

    try:
        wait_for(checkpointed, 300, "no checkpoint on node2", every=0.05)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{stack.diagnose(run['id'])}") from None
    [first] = stack.jobs_of(run["id"])
    stack.cluster.nodes["node2"].kill()  # every process of node2, its raylet and the run's rank included
    # the cluster heals at once (the node boots while the run is requeued); the second attempt is placed there
    stack.cluster.add_node("node2-again", {"node2": 1})
    wait_for(lambda: stack.run(run["id"])["attempts"] >= 2 or None, 180, "the run was not requeued")
    history = stack.run(run["id"])["history"]
    assert [h["status"] for h in history][:3] == ["queued", "running", "queued"], history
    assert "lost a node" in history[2]["reason"] and "resume from its last checkpoint" in history[2]["reason"]
    wait_for(lambda: any(line.startswith("resumed from") for line in stack.logs(run["id"])), 420, "no resume")
    done = wait_status(stack.client, run["id"], {"succeeded", "failed"}, 600)
    assert done["status"] == "succeeded", done
    assert done["attempts"] == 2
    assert stack.metric_steps(run["id"]) == list(range(1, 31))
    resumed = next(line for line in stack.logs(run["id"]) if line.startswith("resumed from"))
    assert int(resumed.split("step ")[-1].rstrip(")")) >= 2, resumed  # from a checkpoint, not from scratch
    jobs = stack.jobs_of(run["id"])
    assert len(jobs) == 2 and jobs[0].submission_id == first.submission_id
    assert status_of(jobs[0]) == "FAILED" and status_of(jobs[1]) == "SUCCEEDED"
