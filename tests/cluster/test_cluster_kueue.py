"""The Kueue objects of the platform's projects: valid against Kueue's published CRDs (v0.19.2, API v1beta2), a
quota per project, and consistent with the RayJobs that name them."""

from __future__ import annotations

import copy

import crds
import pytest
import yaml
from cel_rules import cel_problems
from conftest import make_job

from grpolab.cluster import (
    ClusterSpecError,
    KueueSetup,
    ProjectQuota,
    parse_quota,
    render_kueue,
    render_rayjob,
)
from grpolab.cluster.kueue import DEFAULT_PRIORITY_CLASSES, GPU_RESOURCE
from grpolab.cluster.rayjob import PRIORITY_LABEL, QUEUE_LABEL

QUOTAS = {
    "vision": ProjectQuota(gpus=16, cpus=256, memory="2Ti"),
    "nlp": ProjectQuota(gpus=8, cpus=64, memory="512Gi"),
}


def _by_kind(objects: list[dict]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for obj in objects:
        found.setdefault(obj["kind"], []).append(obj)
    return found


def test_kueue_objects_validate_against_the_published_crds(crd_errors) -> None:
    objects = yaml.safe_load_all(yaml.safe_dump_all(render_kueue(KueueSetup(projects=QUOTAS))))
    errors = [e for obj in objects for e in crd_errors(obj)]
    assert errors == []


def test_each_project_gets_its_quota_and_its_queue() -> None:
    kinds = _by_kind(render_kueue(KueueSetup(projects=QUOTAS, namespace="ml")))
    (flavor,) = kinds["ResourceFlavor"]
    assert {
        w["metadata"]["name"]: w["value"] for w in kinds["WorkloadPriorityClass"]
    } == DEFAULT_PRIORITY_CLASSES
    cluster_queues = {q["metadata"]["name"]: q for q in kinds["ClusterQueue"]}
    assert sorted(cluster_queues) == ["grpolab-nlp", "grpolab-vision"]
    for project, quota in QUOTAS.items():
        spec = cluster_queues[f"grpolab-{project}"]["spec"]
        (group,) = spec["resourceGroups"]
        (flavor_quota,) = group["flavors"]
        assert flavor_quota["name"] == flavor["metadata"]["name"]
        # Kueue's rule: a flavor lists its resources in the order of coveredResources
        assert [r["name"] for r in flavor_quota["resources"]] == group["coveredResources"]
        nominal = {r["name"]: r["nominalQuota"] for r in flavor_quota["resources"]}
        assert nominal == {"cpu": quota.cpus, "memory": quota.memory, GPU_RESOURCE: quota.gpus}
        assert spec["cohortName"] == "grpolab"  # idle quota is lent between projects
        assert spec["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "ml"}
    local = {
        (q["metadata"]["namespace"], q["metadata"]["name"]): q["spec"]["clusterQueue"]
        for q in kinds["LocalQueue"]
    }
    assert local == {("ml", "nlp"): "grpolab-nlp", ("ml", "vision"): "grpolab-vision"}


def test_a_rayjob_names_a_rendered_local_queue_and_priority_class() -> None:
    """What `kubectl apply` of both files gives: the RayJob's labels point at objects that exist."""
    kinds = _by_kind(render_kueue(KueueSetup(projects=QUOTAS, namespace="ml")))
    _, rayjob = render_rayjob(
        make_job("gpu-2-nodes-8", project="vision", namespace="ml", priority_class="grpolab-low")
    )
    labels = rayjob["metadata"]["labels"]
    queues = {(q["metadata"]["namespace"], q["metadata"]["name"]) for q in kinds["LocalQueue"]}
    assert (rayjob["metadata"]["namespace"], labels[QUEUE_LABEL]) in queues
    assert labels[PRIORITY_LABEL] in {w["metadata"]["name"] for w in kinds["WorkloadPriorityClass"]}
    # the whole gang (2 nodes × 8 GPUs) fits the project's nominal quota, so Kueue admits it without borrowing
    cluster = rayjob["spec"]["rayClusterSpec"]
    gpus = cluster["headGroupSpec"]["template"]["spec"]["containers"][0]["resources"]["requests"][
        GPU_RESOURCE
    ]
    gpus += sum(
        g["replicas"] * g["template"]["spec"]["containers"][0]["resources"]["requests"][GPU_RESOURCE]
        for g in cluster["workerGroupSpecs"]
    )
    assert gpus == 16 == QUOTAS["vision"].gpus


def test_quota_option_parsing() -> None:
    assert parse_quota("vision:gpus=16,cpus=256,memory=2Ti") == ("vision", ProjectQuota(16, 256, "2Ti"))
    assert parse_quota("gpus=0, cpus=8, memory=16Gi") == (None, ProjectQuota(0, 8, "16Gi"))
    with pytest.raises(ClusterSpecError, match="missing memory"):
        parse_quota("gpus=1,cpus=2")
    with pytest.raises(ClusterSpecError, match="'gpu=1' is not one of gpus=N"):
        parse_quota("gpu=1,cpus=2,memory=1Gi")
    with pytest.raises(ClusterSpecError, match=r"cpus=.1\.5. is not a whole number"):
        parse_quota("gpus=1,cpus=1.5,memory=1Gi")
    with pytest.raises(ClusterSpecError, match="memory '2TB'"):
        parse_quota("gpus=1,cpus=1,memory=2TB")
    with pytest.raises(ClusterSpecError, match="project 'Team A'"):
        render_kueue(KueueSetup(projects={"Team A": QUOTAS["nlp"]}))


def test_the_crds_cel_rules_on_our_fields_hold(crd_errors) -> None:
    """The CEL rules jsonschema skips, checked through their Python equivalents (tests/cluster/cel_rules.py)."""
    objects = render_kueue(KueueSetup(projects=QUOTAS)) + render_rayjob(make_job("gpu-2-nodes-8"))[1:]
    problems, skipped = [], 0
    for obj in objects:
        found, transitions = cel_problems(crds.schema(obj["kind"]), obj)
        problems += found
        skipped += transitions
    assert problems == []
    assert skipped == 5  # update-only rules: 3 of the ResourceFlavor, 1 per LocalQueue
    broken = copy.deepcopy(next(o for o in objects if o["kind"] == "ClusterQueue"))
    broken["spec"]["resourceGroups"][0]["flavors"][0]["resources"].pop()
    found, _ = cel_problems(crds.schema("ClusterQueue"), broken)
    assert found == [
        "ClusterQueue /spec/resourceGroups/0: breaks ClusterQueue: each flavor gives a quota for each covered resource"
    ]
