"""A run as a KubeRay `RayJob` (ray.io/v1) that Kueue admits: the ConfigMap holding the run config, and the
RayJob whose Ray cluster has one head pod and `nodes - 1` worker pods, each with `gpus_per_node` GPUs.

What Kueue asks of a RayJob it manages (its RayJob webhook, kueue v0.19): the `kueue.x-k8s.io/queue-name`
label naming a LocalQueue of the job's namespace, its own `rayClusterSpec` (no `clusterSelector`),
`shutdownAfterJobFinishes: true` (a finished job must give its quota back), no in-tree autoscaling, and the job
created suspended (`suspend: true`): Kueue unsuspends it once the whole cluster fits the queue's quota, so the
head and every worker start together or not at all. What KubeRay asks (its validation, v1.7): a job name that is a
DNS-1035 label of at most 47 characters, and `minReplicas`/`maxReplicas` on every worker group when autoscaling
is off.
"""

from __future__ import annotations

import shlex
from typing import Any

from grpolab.cluster.spec import (
    CONFIG_DIR,
    CONFIG_FILE,
    DATA_DIR,
    ClusterJob,
    ClusterSpecError,
    check_label,
    pipeline_command,
    project_queue_name,
)

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
PRIORITY_LABEL = "kueue.x-k8s.io/priority-class"
PROJECT_LABEL = "grpolab/project"
CONFIG_HASH_ANNOTATION = "grpolab/config-sha256"
WORKER_GROUP = "workers"
#: Ray's ports on the head: GCS, dashboard (the Jobs API the submitter talks to), Ray client.
HEAD_PORTS = {"gcs-server": 6379, "dashboard": 8265, "client": 10001}
#: Seconds a finished job's cluster stays up (its logs readable) before KubeRay deletes it.
TTL_AFTER_FINISHED_S = 300


def out_dir(job: ClusterJob) -> str:
    return f"{DATA_DIR}/runs/{job.name}"


def entrypoint(job: ClusterJob) -> str:
    """The command the Ray job runs on the head: the pipeline on the mounted config (one node: `grpolab train`;
    several: the ranks placed over the cluster's nodes by the `ray` executor's driver)."""
    return shlex.join(pipeline_command(f"{CONFIG_DIR}/{CONFIG_FILE}", out_dir(job)))


def render_rayjob(job: ClusterJob) -> list[dict[str, Any]]:
    """The ConfigMap and the RayJob, in the order `kubectl apply -f` must create them."""
    if not job.image:
        raise ClusterSpecError(
            "--image: the RayJob needs a container image with grpolab and Ray installed (e.g. built from "
            "docker/worker-gpu.Dockerfile with the `ray` extra; see docs/cluster.md)"
        )
    _check_kubernetes_names(job)
    if job.nodes > 1 and not job.volume_claim:
        raise ClusterSpecError(
            f"--volume-claim: a run over {job.nodes} nodes needs a ReadWriteMany PersistentVolumeClaim for its run "
            "folder (every rank reads the run's config there and rank 0 writes the checkpoints); pass its name"
        )
    labels = {
        "app.kubernetes.io/name": "grpolab",
        "app.kubernetes.io/instance": job.name,
        PROJECT_LABEL: job.project,
    }
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{job.name}-config", "namespace": job.namespace, "labels": dict(labels)},
        "data": {CONFIG_FILE: job.config_text},
    }
    job_labels = {**labels, QUEUE_LABEL: job.local_queue}
    if job.priority_class:
        job_labels[PRIORITY_LABEL] = job.priority_class
    spec: dict[str, Any] = {
        "suspend": True,
        "entrypoint": entrypoint(job),
        "shutdownAfterJobFinishes": True,
        "ttlSecondsAfterFinished": TTL_AFTER_FINISHED_S,
        "submissionMode": "K8sJobMode",
        "rayClusterSpec": _ray_cluster_spec(job),
    }
    if job.time_limit_s:
        spec["activeDeadlineSeconds"] = job.time_limit_s
    rayjob = {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "metadata": {
            "name": job.name,
            "namespace": job.namespace,
            "labels": job_labels,
            "annotations": {CONFIG_HASH_ANNOTATION: job.config_sha256},
        },
        "spec": spec,
    }
    return [config_map, rayjob]


def _check_kubernetes_names(job: ClusterJob) -> None:
    check_label("--namespace", job.namespace)
    if job.queue:
        check_label("--queue", job.queue)
    project_queue_name(job.project)  # a label value, and the default LocalQueue's name
    if job.priority_class:
        check_label("--priority-class", job.priority_class)
    if job.volume_claim:
        check_label("--volume-claim", job.volume_claim)


def _ray_cluster_spec(job: ClusterJob) -> dict[str, Any]:
    cluster: dict[str, Any] = {
        "rayVersion": job.ray_version,
        "enableInTreeAutoscaling": False,
        "headGroupSpec": {
            "rayStartParams": {"dashboard-host": "0.0.0.0"},  # the submitter pod reaches the Jobs API
            "template": _pod_template(job, "ray-head", ports=HEAD_PORTS),
        },
    }
    custom = {name: _amount(value) for name, value in job.ray_resources.items()}
    if custom:
        cluster["headGroupSpec"]["resources"] = custom
    if job.worker_replicas:
        cluster["workerGroupSpecs"] = [
            {
                "groupName": WORKER_GROUP,
                # a fixed size: Kueue admits the whole gang, so min = max = replicas
                "replicas": job.worker_replicas,
                "minReplicas": job.worker_replicas,
                "maxReplicas": job.worker_replicas,
                "rayStartParams": {},
                "template": _pod_template(job, "ray-worker", ports={}),
                **({"resources": custom} if custom else {}),
            }
        ]
    return cluster


def _amount(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _pod_template(job: ClusterJob, container_name: str, ports: dict[str, int]) -> dict[str, Any]:
    """A pod of the Ray cluster: Ray reads its CPUs and GPUs from the limits; requests = limits, because Kueue
    charges the quota by requests and a node must not be shared with another run's ranks."""
    amounts: dict[str, Any] = {"cpu": job.cpus_per_node, "memory": job.memory_per_node}
    if job.gpus_per_node:
        amounts["nvidia.com/gpu"] = job.gpus_per_node
    data_volume: dict[str, Any] = (
        {"name": "data", "persistentVolumeClaim": {"claimName": job.volume_claim}}
        if job.volume_claim
        else {"name": "data", "emptyDir": {}}
    )
    container: dict[str, Any] = {
        "name": container_name,
        "image": job.image,
        "env": [{"name": "GRPOLAB_PROJECT", "value": job.project}],
        "resources": {"limits": dict(amounts), "requests": dict(amounts)},
        "volumeMounts": [
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "data", "mountPath": DATA_DIR},
            {"name": "dshm", "mountPath": "/dev/shm"},
        ],
    }
    if ports:
        container["ports"] = [{"name": n, "containerPort": p} for n, p in ports.items()]
    return {
        "spec": {
            "containers": [container],
            "volumes": [
                {"name": "config", "configMap": {"name": f"{job.name}-config"}},
                data_volume,
                # a container's /dev/shm is 64 MiB by default: too small for Ray's object store and NCCL
                {"name": "dshm", "emptyDir": {"medium": "Memory"}},
            ],
        }
    }
