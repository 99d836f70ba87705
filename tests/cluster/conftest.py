"""Fixtures of the cluster tests: run configs of several shapes, and a validator of Kubernetes objects against the
published CRD schemas (tests/cluster/crds.py says where they come from; absent, the schema tests skip saying so).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import crds
import pytest
import yaml

from grpolab.cluster import ClusterJob, job_from_config
from grpolab.cluster.spec import job_name
from training.config_io import validate_raw

_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

#: name -> (resources section of the run config, expected nodes, expected GPUs per node)
SHAPES: dict[str, tuple[dict[str, Any], int, int]] = {
    "cpu-1-node": ({}, 1, 0),
    "gpu-1-node-4": ({"gpus": 4}, 1, 4),
    "gpu-2-nodes-8": ({"nodes": 2, "gpus_per_node": 8}, 2, 8),
    "cpu-3-nodes": ({"nodes": 3, "cpu_ranks": 2}, 3, 0),
}


def make_job(shape: str, **options: Any) -> ClusterJob:
    resources = SHAPES[shape][0]
    raw: dict[str, Any] = {"resources": resources, "run": {"steps": 3}}
    text = f"# shape {shape}\n" + yaml.safe_dump(raw, sort_keys=False)
    config = validate_raw(raw).config
    options.setdefault("image", "registry.example/grpolab:1")
    if SHAPES[shape][1] > 1:  # a multi-node RayJob needs a shared run folder
        options.setdefault("volume_claim", "grpolab-runs")
    return job_from_config(
        config, text, name=job_name(options.pop("name", None), shape), project=options.pop("project", "vision"),
        **options,
    )  # fmt: skip


def metadata_problems(obj: dict[str, Any]) -> list[str]:
    """Kubernetes' own rules for names and labels (the CRD schemas leave `metadata` open)."""
    meta = obj.get("metadata", {})
    problems = []
    name = meta.get("name", "")
    if not _DNS1123_SUBDOMAIN.match(name) or len(name) > 253:
        problems.append(f"metadata.name {name!r} is not a DNS-1123 subdomain")
    for key, value in (meta.get("labels") or {}).items():
        prefix, _, label = key.rpartition("/")
        if prefix and not _DNS1123_SUBDOMAIN.match(prefix):
            problems.append(f"label key {key!r}: prefix is not a DNS subdomain")
        if not _LABEL_NAME.match(label) or len(label) > 63:
            problems.append(f"label key {key!r}: name part is not a label name")
        if not isinstance(value, str) or not _LABEL_VALUE.match(value) or len(value) > 63:
            problems.append(f"label {key}={value!r}: not a label value")
    return problems


@pytest.fixture(scope="session")
def crd_errors() -> Callable[[dict[str, Any]], list[str]]:
    """obj -> every way it breaks its kind's published CRD schema (strict: unknown fields are errors)."""
    import jsonschema

    reason = crds.missing_reason()  # a file of the wrong release fails here (CrdMismatch), it does not skip
    if reason:
        pytest.skip(reason)

    def errors(obj: dict[str, Any]) -> list[str]:
        kind = obj.get("kind", "")
        if kind not in crds.PINNED:
            return [f"no CRD pinned for kind {kind!r}"]
        found = []
        if obj.get("apiVersion") != crds.group_version(kind):
            found.append(f"apiVersion {obj.get('apiVersion')!r}, the CRD serves {crds.group_version(kind)!r}")
        validator = jsonschema.Draft4Validator(crds.schema(kind))
        for err in validator.iter_errors(obj):
            where = "/".join(str(p) for p in err.absolute_path) or "(top)"
            found.append(f"{kind} {where}: {err.message[:300]}")
        return found + metadata_problems(obj)

    return errors
