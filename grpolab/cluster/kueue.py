"""The Kueue objects GRPO Lab's projects need, once per cluster (an administrator applies them): one
ResourceFlavor, the WorkloadPriorityClasses a RayJob may name, and per project a ClusterQueue holding that
project's quota plus the LocalQueue its RayJobs name.

One ClusterQueue per project because Kueue keeps quota per ClusterQueue; all of them share one cohort, so a
project may borrow another's idle quota and gets it back by preemption when that project needs it. API version
kueue.x-k8s.io/v1beta2 (served from Kueue v0.15, the stored version from v0.16).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from grpolab.cluster.spec import ClusterSpecError, check_label, check_quantity, project_queue_name

KUEUE_API = "kueue.x-k8s.io/v1beta2"
GPU_RESOURCE = "nvidia.com/gpu"
#: Priority classes a RayJob may name with --priority-class; higher values are admitted (and preempt) first.
DEFAULT_PRIORITY_CLASSES: dict[str, int] = {"grpolab-low": 100, "grpolab-normal": 1000, "grpolab-high": 10000}
_QUOTA_KEYS = {"gpus", "cpus", "memory"}
_INT = re.compile(r"^[0-9]+$")


@dataclass(frozen=True)
class ProjectQuota:
    """What a project's runs may hold at once (Kueue's nominal quota), beyond which they wait in the queue."""

    gpus: int
    cpus: int
    memory: str  # a Kubernetes quantity


@dataclass
class KueueSetup:
    projects: dict[str, ProjectQuota]
    namespace: str = "grpolab"  # where the LocalQueues live (the RayJobs' namespace)
    flavor: str = "grpolab-default"
    cohort: str = "grpolab"
    priority_classes: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PRIORITY_CLASSES))


def parse_quota(text: str) -> tuple[str | None, ProjectQuota]:
    """`[PROJECT:]gpus=N,cpus=N,memory=Q` → (project or None for every project, quota)."""
    project, _, body = text.rpartition(":")
    values: dict[str, str] = {}
    for part in body.split(","):
        key, eq, value = part.strip().partition("=")
        if not eq or key not in _QUOTA_KEYS:
            raise ClusterSpecError(
                f"--quota {text!r}: {part.strip()!r} is not one of gpus=N, cpus=N, memory=QUANTITY "
                "(e.g. --quota team-a:gpus=16,cpus=128,memory=1Ti)"
            )
        values[key] = value.strip()
    missing = sorted(_QUOTA_KEYS - set(values))
    if missing:
        raise ClusterSpecError(f"--quota {text!r}: missing {', '.join(missing)} (give gpus, cpus and memory)")
    for key in ("gpus", "cpus"):
        if not _INT.match(values[key]):
            raise ClusterSpecError(f"--quota {text!r}: {key}={values[key]!r} is not a whole number")
    quota = ProjectQuota(
        gpus=int(values["gpus"]),
        cpus=int(values["cpus"]),
        memory=check_quantity(f"--quota {text!r}: memory", values["memory"]),
    )
    return (project or None), quota


def cluster_queue_name(project: str) -> str:
    return f"grpolab-{project_queue_name(project)}"


def render_kueue(setup: KueueSetup) -> list[dict[str, Any]]:
    """ResourceFlavor, WorkloadPriorityClasses, then a ClusterQueue and a LocalQueue per project."""
    if not setup.projects:
        raise ClusterSpecError("no project to make queues for: pass --project NAME (repeatable) or --url")
    check_label("--namespace", setup.namespace)
    objects: list[dict[str, Any]] = [
        {"apiVersion": KUEUE_API, "kind": "ResourceFlavor", "metadata": {"name": setup.flavor}, "spec": {}}
    ]
    for name, value in setup.priority_classes.items():
        objects.append(
            {
                "apiVersion": KUEUE_API,
                "kind": "WorkloadPriorityClass",
                "metadata": {"name": check_label("--priority-class", name)},
                "value": value,
                "description": f"GRPO Lab runs labelled kueue.x-k8s.io/priority-class: {name}",
            }
        )
    for project, quota in sorted(setup.projects.items()):
        objects.append(_cluster_queue(setup, project, quota))
        objects.append(
            {
                "apiVersion": KUEUE_API,
                "kind": "LocalQueue",
                "metadata": {"name": project_queue_name(project), "namespace": setup.namespace},
                "spec": {"clusterQueue": cluster_queue_name(project)},
            }
        )
    return objects


def _cluster_queue(setup: KueueSetup, project: str, quota: ProjectQuota) -> dict[str, Any]:
    # the order of `resources` must be that of `coveredResources` (a rule of the ClusterQueue CRD)
    covered = ["cpu", "memory", GPU_RESOURCE]
    nominal: dict[str, Any] = {"cpu": quota.cpus, "memory": quota.memory, GPU_RESOURCE: quota.gpus}
    return {
        "apiVersion": KUEUE_API,
        "kind": "ClusterQueue",
        "metadata": {"name": cluster_queue_name(project), "labels": {"grpolab/project": project}},
        "spec": {
            "cohortName": setup.cohort,
            # only the RayJobs of GRPO Lab's namespace draw on these quotas
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": setup.namespace}},
            "queueingStrategy": "BestEffortFIFO",
            "preemption": {"withinClusterQueue": "LowerPriority", "reclaimWithinCohort": "Any"},
            "resourceGroups": [
                {
                    "coveredResources": covered,
                    "flavors": [
                        {
                            "name": setup.flavor,
                            "resources": [{"name": r, "nominalQuota": nominal[r]} for r in covered],
                        }
                    ],
                }
            ],
        },
    }
