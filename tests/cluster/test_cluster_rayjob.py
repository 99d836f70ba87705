"""The KubeRay RayJob and its ConfigMap: valid against the published RayJob CRD (KubeRay v1.7.0), shaped like the
run config (head + nodes-1 workers, gpus_per_node GPUs each), and what Kueue needs to admit it."""

from __future__ import annotations

import copy
import json
import shlex
import shutil
import subprocess
from typing import Any

import pytest
import yaml
from conftest import SHAPES, make_job

from grpolab.cluster import ClusterSpecError, render_rayjob
from grpolab.cluster.rayjob import PRIORITY_LABEL, QUEUE_LABEL
from grpolab.cluster.spec import MAX_RAYJOB_NAME, job_name


def _pods(rayjob: dict[str, Any]) -> list[tuple[str, int, dict[str, Any]]]:
    """(group, replicas, container) of every pod group of the Ray cluster: the head first."""
    cluster = rayjob["spec"]["rayClusterSpec"]
    groups = [("head", 1, cluster["headGroupSpec"]["template"])]
    groups += [(g["groupName"], g["replicas"], g["template"]) for g in cluster.get("workerGroupSpecs", [])]
    return [(name, n, template["spec"]["containers"][0]) for name, n, template in groups]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_rayjob_validates_against_the_published_crd(shape: str, crd_errors) -> None:
    config_map, rayjob = render_rayjob(make_job(shape, priority_class="grpolab-high", time_limit_s=3600))
    # what `kubectl apply -f` reads back from the YAML text, not the dicts
    rayjob = yaml.safe_load(yaml.safe_dump(rayjob))
    assert crd_errors(rayjob) == []
    assert config_map["apiVersion"] == "v1" and config_map["kind"] == "ConfigMap"


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_rayjob_has_the_run_configs_shape(shape: str) -> None:
    _, nodes, gpus_per_node = SHAPES[shape]
    _, rayjob = render_rayjob(make_job(shape))
    pods = _pods(rayjob)
    assert sum(n for _, n, _ in pods) == nodes  # the head is a node of the run
    workers = rayjob["spec"]["rayClusterSpec"].get("workerGroupSpecs", [])
    if nodes == 1:
        assert workers == []
    else:  # a fixed-size gang: Kueue admits all of it, the autoscaler may not shrink it
        (group,) = workers
        assert group["replicas"] == group["minReplicas"] == group["maxReplicas"] == nodes - 1
    for _, _, container in pods:
        limits, requests = container["resources"]["limits"], container["resources"]["requests"]
        assert limits.get("nvidia.com/gpu", 0) == gpus_per_node
        assert requests == limits  # Kueue charges the quota by requests


def test_rayjob_is_queued_by_kueue_for_its_project() -> None:
    _, rayjob = render_rayjob(make_job("gpu-2-nodes-8", project="vision", priority_class="grpolab-high"))
    labels, spec = rayjob["metadata"]["labels"], rayjob["spec"]
    assert labels[QUEUE_LABEL] == "vision"  # the project's LocalQueue (test_cluster_kueue renders it)
    assert labels[PRIORITY_LABEL] == "grpolab-high"
    assert labels["grpolab/project"] == "vision"
    # Kueue's RayJob webhook: suspended until admitted, own cluster, cluster deleted after the job, no autoscaling
    assert spec["suspend"] is True
    assert "clusterSelector" not in spec
    assert spec["shutdownAfterJobFinishes"] is True
    assert spec["rayClusterSpec"]["enableInTreeAutoscaling"] is False
    assert all(g["groupName"] != "head" for g in spec["rayClusterSpec"]["workerGroupSpecs"])
    _, other = render_rayjob(make_job("gpu-2-nodes-8", project="vision", queue="vision-urgent"))
    assert other["metadata"]["labels"][QUEUE_LABEL] == "vision-urgent"
    assert PRIORITY_LABEL not in other["metadata"]["labels"]


def test_entrypoint_runs_the_pipeline_on_the_shipped_config() -> None:
    job = make_job("cpu-3-nodes", volume_claim="grpolab-runs")
    config_map, rayjob = render_rayjob(job)
    words = shlex.split(rayjob["spec"]["entrypoint"])
    assert words[:3] == ["python", "-m", "grpolab.cluster.launch"]
    config_path, out_dir = words[3:]
    # the config file the entrypoint names is the ConfigMap's key, mounted in the head pod
    head = rayjob["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
    mounts = {m["name"]: m["mountPath"] for m in head["containers"][0]["volumeMounts"]}
    volumes = {v["name"]: v for v in head["volumes"]}
    config_volume = next(n for n, v in volumes.items() if "configMap" in v)
    assert volumes[config_volume]["configMap"]["name"] == config_map["metadata"]["name"]
    mounted_dir = mounts[config_volume]
    assert config_path.startswith(mounted_dir + "/")
    assert config_map["data"][config_path[len(mounted_dir) + 1 :]] == job.config_text
    # the run folder is on the volume claim, so checkpoints outlive the Ray cluster
    data_volume = next(n for n, p in mounts.items() if out_dir.startswith(p + "/"))
    assert volumes[data_volume]["persistentVolumeClaim"]["claimName"] == "grpolab-runs"
    assert rayjob["metadata"]["annotations"]["grpolab/config-sha256"] == job.config_sha256
    assert volumes[next(n for n, p in mounts.items() if p == "/dev/shm")]["emptyDir"] == {"medium": "Memory"}


def test_custom_ray_resources_are_offered_by_every_node() -> None:
    job = make_job("cpu-3-nodes")
    job = type(job)(**{**job.__dict__, "ray_resources": {"a100": 1.0, "fast-disk": 0.5}})
    _, rayjob = render_rayjob(job)
    cluster = rayjob["spec"]["rayClusterSpec"]
    expected = {"a100": "1", "fast-disk": "0.5"}
    assert cluster["headGroupSpec"]["resources"] == expected
    assert cluster["workerGroupSpecs"][0]["resources"] == expected


def test_the_strict_schema_refuses_a_misspelled_field_and_a_wrong_type(crd_errors) -> None:
    """The validator bites: the API server would drop the misspelled field silently."""
    _, rayjob = render_rayjob(make_job("gpu-2-nodes-8"))
    typo = copy.deepcopy(rayjob)
    typo["spec"]["shutdownAfterJobFinish"] = typo["spec"].pop("shutdownAfterJobFinishes")
    assert any("shutdownAfterJobFinish" in e for e in crd_errors(typo))
    wrong = copy.deepcopy(rayjob)
    wrong["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["replicas"] = "one"
    assert any("workerGroupSpecs/0/replicas" in e for e in crd_errors(wrong))
    bad_name = copy.deepcopy(rayjob)
    bad_name["metadata"]["labels"][QUEUE_LABEL] = "Vision Queue"
    assert any(QUEUE_LABEL in e for e in crd_errors(bad_name))


def test_job_names_follow_kuberays_rules() -> None:
    long = job_name(None, "A Very_Long config name " * 4)
    assert len(long) <= MAX_RAYJOB_NAME and long.startswith("grpolab-a-very-long-config-name")
    assert long != job_name(None, "A Very_Long config name " * 5)  # the cut keeps a hash of the rest
    with pytest.raises(ClusterSpecError, match="--name '9lives'"):
        job_name("9lives", "x")
    with pytest.raises(ClusterSpecError, match="--image"):
        render_rayjob(make_job("cpu-1-node", image=None))
    with pytest.raises(ClusterSpecError, match=r"project 'Vision Team'.*--queue"):
        render_rayjob(make_job("cpu-1-node", project="Vision Team"))
    with pytest.raises(ClusterSpecError, match="--volume-claim: a run over 3 nodes needs a ReadWriteMany"):
        render_rayjob(make_job("cpu-3-nodes", volume_claim=None))


@pytest.mark.skipif(
    shutil.which("kubectl") is None, reason="kubectl not installed: it builds the reference ConfigMap"
)
def test_configmap_is_what_kubectl_makes_from_the_config_file(tmp_path) -> None:
    job = make_job("gpu-1-node-4")
    config_map, _ = render_rayjob(job)
    (tmp_path / "config.yaml").write_text(job.config_text)
    made = subprocess.run(
        ["kubectl", "create", "configmap", config_map["metadata"]["name"], "--namespace", job.namespace,
         f"--from-file=config.yaml={tmp_path / 'config.yaml'}", "--dry-run=client", "-o", "json"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    reference = json.loads(made)
    ours = yaml.safe_load(yaml.safe_dump(config_map))
    assert ours["data"] == reference["data"]
    assert {k: ours["metadata"][k] for k in ("name", "namespace")} == {
        k: reference["metadata"][k] for k in ("name", "namespace")
    }
    assert (ours["apiVersion"], ours["kind"]) == (reference["apiVersion"], reference["kind"])
