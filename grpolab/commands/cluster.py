"""`grpolab cluster render`: a run config as a KubeRay RayJob for Kueue, a Slurm batch script, or the Kueue queues
of the platform's projects. Writes files; talks to no cluster."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

HELP = "render a run as a KubeRay RayJob (admitted by Kueue), a Slurm sbatch script, or the Kueue queues"
DESCRIPTION = """\
Render cluster scheduler files for a run config (nothing is submitted):

  --target rayjob   a ConfigMap with the config and a KubeRay RayJob (ray.io/v1): one head pod and
                    resources.nodes - 1 worker pods with resources.gpus_per_node GPUs each, labelled for Kueue
                    (kueue.x-k8s.io/queue-name = the project's LocalQueue, kueue.x-k8s.io/priority-class) and
                    created suspended, so Kueue admits the whole Ray cluster at once or keeps it queued.
  --target slurm    an sbatch script: --nodes, --gpus-per-node, --ntasks-per-node=1, --exclusive; Ray's head on
                    the first node, a worker on each other node (srun), then the pipeline.
  --target kueue    what an administrator applies once: a ResourceFlavor, the WorkloadPriorityClasses
                    (grpolab-low/normal/high), and per project a ClusterQueue with its --quota and a LocalQueue.

The config is validated and linted first (error findings refuse, as `grpolab train` does). --from-run RUN_ID
reads a run's config and project from a GRPO Lab server (--url, --token). These files were validated against
the published CRD schemas (KubeRay v1.7.0, Kueue v0.19.2), not run on a cluster: see docs/cluster.md.

Examples:
  grpolab cluster render --target rayjob big.yaml --project vision --image registry/grpolab:1 --out job.yaml
  grpolab cluster render --target slurm big.yaml --queue gpu --time 12:00:00 --out job.sbatch
  grpolab cluster render --target kueue --project vision --project nlp --quota gpus=16,cpus=256,memory=2Ti
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    r = sub.add_parser("render", help="write the files for a target", description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    r.add_argument(
        "config", nargs="?", metavar="CONFIG", help="run config (YAML/JSON; not for --target kueue)"
    )
    r.add_argument(
        "--target", required=True, choices=["rayjob", "slurm", "kueue"], help="what to write (see above)"
    )
    r.add_argument(
        "--project", action="append", metavar="P",
        help="the run's project (default: `default`, or the run's with --from-run); repeatable with kueue",
    )  # fmt: skip
    r.add_argument("--name", help="job name (default: grpolab-<config file name> or grpolab-<run id>)")
    r.add_argument("--queue", metavar="Q", help="Kueue LocalQueue (default: the project's) / Slurm partition")
    r.add_argument(
        "--priority-class", metavar="C", help="Kueue WorkloadPriorityClass (e.g. grpolab-high) / Slurm QOS"
    )
    r.add_argument("--image", metavar="IMG", help="container image with grpolab and Ray (rayjob: required)")
    r.add_argument("--namespace", default="grpolab", help="Kubernetes namespace (default: grpolab)")
    r.add_argument("--time", metavar="LIMIT", help="wall-time limit, Slurm format: 90, 4:00:00, 2-00:00:00")
    r.add_argument("--cpus-per-node", type=int, metavar="N", help="default: ranks per node × cpu_threads + 1")
    r.add_argument("--memory-per-node", metavar="QTY", help="default: 32Gi per GPU, 8Gi per CPU rank")
    r.add_argument(
        "--volume-claim",
        metavar="PVC",
        help="rayjob: a ReadWriteMany PVC for the run folder (needed over several nodes)",
    )
    r.add_argument("--account", help="slurm: --account")
    r.add_argument(
        "--quota", action="append", default=[], metavar="[P:]gpus=N,cpus=N,memory=Q",
        help="kueue: a project's quota (no P: every project's); repeatable",
    )  # fmt: skip
    r.add_argument(
        "--from-run", metavar="RUN_ID", help="read the config and project of this run from the API"
    )
    r.add_argument(
        "--url",
        default=None,
        help="server URL for --from-run, or for kueue to list its projects (default: $GRPOLAB_URL)",
    )
    r.add_argument("--token", default=None, help="API token for --url (default: $GRPOLAB_TOKEN)")
    r.add_argument("--out", metavar="FILE", help="write here (default: stdout)")


def run(args: argparse.Namespace) -> int:
    from grpolab.cluster import ClusterSpecError

    try:
        text = _render(args)
    except ClusterSpecError as exc:
        print(f"grpolab cluster render: {exc}", file=sys.stderr)
        return 2
    except _Refused as exc:
        print(str(exc), file=sys.stderr)
        return exc.status
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out} ({args.target})", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


class _Refused(Exception):
    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def _render(args: argparse.Namespace) -> str:
    from grpolab.cluster import ClusterSpecError, job_from_config, render_rayjob, render_sbatch
    from grpolab.cluster.launch import LintRefused, validated_config
    from grpolab.cluster.spec import job_name, parse_time_limit

    if args.target == "kueue":
        return _dump_yaml(_kueue_objects(args))
    if bool(args.config) == bool(args.from_run):
        raise ClusterSpecError("give a CONFIG file or --from-run RUN_ID (one of them)")
    if args.project and len(args.project) > 1:
        raise ClusterSpecError("--project: one project for a run (several only with --target kueue)")
    config_text, project, stem = _read_config(args)
    try:
        config = validated_config(config_text, args.config or f"run {args.from_run}")
    except LintRefused as refused:
        raise _Refused("grpolab cluster render: nothing written", refused.status) from None
    job = job_from_config(
        config,
        config_text,
        name=job_name(args.name, stem),
        project=project,
        namespace=args.namespace,
        queue=args.queue or "",
        priority_class=args.priority_class,
        image=args.image,
        time_limit_s=parse_time_limit(args.time) if args.time else None,
        cpus_per_node=args.cpus_per_node,
        memory_per_node=args.memory_per_node,
        volume_claim=args.volume_claim,
        account=args.account,
    )
    return render_sbatch(job) if args.target == "slurm" else _dump_yaml(render_rayjob(job))


def _read_config(args: argparse.Namespace) -> tuple[str, str, str]:
    """(config text, project, name stem) from the file or the API."""
    if args.config:
        try:
            text = Path(args.config).read_text(encoding="utf-8")
        except OSError as exc:
            raise _Refused(f"grpolab cluster render: cannot read {args.config}: {exc.strerror}", 2) from None
        return text, (args.project or ["default"])[0], Path(args.config).stem
    from grpolab.commands._client import ApiFailure, Client, report_failure

    try:
        found = Client(args).request("GET", f"/runs/{args.from_run}")
    except ApiFailure as exc:
        report_failure(exc)
        raise _Refused(f"grpolab cluster render: could not read run {args.from_run}", 1) from None
    project = (args.project or [found.get("project") or "default"])[0]
    return found["config_text"], project, f"{args.from_run[:12]}"


def _kueue_objects(args: argparse.Namespace) -> list[dict[str, Any]]:
    from grpolab.cluster import ClusterSpecError, KueueSetup, ProjectQuota, parse_quota, render_kueue

    projects = list(args.project or [])
    if args.url and not projects:
        from grpolab.commands._client import ApiFailure, Client

        try:
            listed = Client(args).request("GET", "/projects")
        except ApiFailure as exc:
            raise ClusterSpecError(f"--url: cannot list the projects: {exc}") from None
        projects = [p["name"] for p in listed["items"]]  # GET /api/v1/projects: {"items": [{"name": ...}]}
    shared: ProjectQuota | None = None
    per_project: dict[str, ProjectQuota] = {}
    for text in args.quota:
        project, quota = parse_quota(text)
        if project is None:
            shared = quota
        else:
            per_project[project] = quota
    unknown = sorted(set(per_project) - set(projects))
    if unknown:
        raise ClusterSpecError(f"--quota for {', '.join(unknown)}: not among the projects {projects}")
    quotas: dict[str, ProjectQuota] = {}
    for project in projects:
        chosen = per_project.get(project, shared)
        if chosen is None:
            raise ClusterSpecError(
                f"project {project!r} has no quota: pass --quota {project}:gpus=N,cpus=N,memory=Q "
                "(or --quota gpus=N,cpus=N,memory=Q for every project)"
            )
        quotas[project] = chosen
    return render_kueue(KueueSetup(projects=quotas, namespace=args.namespace))


def _dump_yaml(objects: list[dict[str, Any]]) -> str:
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value else None  # the config stays readable inside its ConfigMap
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)
    return yaml.dump_all(objects, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
