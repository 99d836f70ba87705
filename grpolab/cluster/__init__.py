"""Cluster scheduler files for a GRPO Lab run: a KubeRay `RayJob` admitted by Kueue, the Kueue objects a
project needs (ResourceFlavor, WorkloadPriorityClass, ClusterQueue and LocalQueue per project), and a Slurm
`sbatch` script that starts Ray on its allocation. Pure functions from a `ClusterJob` to YAML-ready dicts or
script text: nothing here talks to a cluster. `grpolab cluster render` (grpolab/commands/cluster.py) is the CLI.
"""

from grpolab.cluster.kueue import KueueSetup, ProjectQuota, parse_quota, render_kueue
from grpolab.cluster.rayjob import render_rayjob
from grpolab.cluster.slurm import render_sbatch
from grpolab.cluster.spec import ClusterJob, ClusterSpecError, job_from_config, pipeline_command

__all__ = [
    "ClusterJob",
    "ClusterSpecError",
    "KueueSetup",
    "ProjectQuota",
    "job_from_config",
    "parse_quota",
    "pipeline_command",
    "render_kueue",
    "render_rayjob",
    "render_sbatch",
]
