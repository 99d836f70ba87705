"""The published CRD schemas the cluster tests validate against, and where a machine without a cluster finds them.

The CRD files are not in this repository (they are KubeRay's and Kueue's). A test reads each one, pinned to a
release and checked against its sha256, from the first of:

1. `$GRPOLAB_CRD_DIR/<file name>`: a folder holding the six files named in PINNED;
2. a git mirror or clone of the project: `$GRPOLAB_MIRROR_DIR/<owner>+<name>/repo` (default /work/.mirror, where
   a development session's `fetch github:ray-project/kuberay` puts one), read at the release tag;
3. the Go module cache (`$GOMODCACHE`, else `go env GOMODCACHE`, else ~/go/pkg/mod), as filled by
   `go mod download github.com/ray-project/kuberay/ray-operator@v1.7.0 sigs.k8s.io/kueue@v0.19.2`.

Where none has a file, `missing_reason()` says which and how to provide it, and the schema tests skip with that.
`python tests/cluster/crds.py DIR` copies the six files from a mirror or the module cache into DIR (for
GRPOLAB_CRD_DIR on another machine).
"""

from __future__ import annotations

import copy
import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class CrdFile:
    repo: str  # owner/name on GitHub
    tag: str
    path: str  # inside the repository at `tag`
    module: str  # Go module that ships the file, and the file's path inside it
    module_path: str
    sha256: str
    version: str  # the served API version our objects use

    @property
    def name(self) -> str:
        return Path(self.path).name


_KUEUE_TAG = "v0.19.2"
_KUBERAY_TAG = "v1.7.0"


def _kueue(plural: str, sha256: str) -> CrdFile:
    path = f"config/components/crd/bases/kueue.x-k8s.io_{plural}.yaml"
    return CrdFile(
        "kubernetes-sigs/kueue", _KUEUE_TAG, path, f"sigs.k8s.io/kueue@{_KUEUE_TAG}", path, sha256, "v1beta2"
    )


#: kind -> the CRD file that defines it (sha256 of the file at the tag: a different release is not used silently)
PINNED: dict[str, CrdFile] = {
    "RayJob": CrdFile(
        "ray-project/kuberay",
        _KUBERAY_TAG,
        "ray-operator/config/crd/bases/ray.io_rayjobs.yaml",
        f"github.com/ray-project/kuberay/ray-operator@{_KUBERAY_TAG}",
        "config/crd/bases/ray.io_rayjobs.yaml",
        "01a5cf3b17c1769fda44af7e82debcd98722f0c27b9ab84d084681c6649121f5",
        "v1",
    ),
    "ClusterQueue": _kueue(
        "clusterqueues", "e0a5fc9b370c70f3d993d4f599865817338ecf94187b30b15b12ff33c579bd55"
    ),
    "LocalQueue": _kueue("localqueues", "dd10ef8d3578e7212fa52763549e7b6be0949793a5b924495fcd293330109fed"),
    "ResourceFlavor": _kueue(
        "resourceflavors", "19e339c47e9ca3fa2c9eeddd27715a512f765c4794ed859733408a9715720173"
    ),
    "WorkloadPriorityClass": _kueue(
        "workloadpriorityclasses", "0b755726aab05b8def9a53ee15b201eed3846bcffd1ff5528fed123f4ae03519"
    ),
}


class CrdMismatch(Exception):
    """A CRD file was found but is not the pinned release."""


def _from_dir(crd: CrdFile) -> tuple[bytes, str] | None:
    root = os.environ.get("GRPOLAB_CRD_DIR")
    path = Path(root, crd.name) if root else None
    return (path.read_bytes(), str(path)) if path and path.is_file() else None


def _from_mirror(crd: CrdFile) -> tuple[bytes, str] | None:
    git_dir = Path(os.environ.get("GRPOLAB_MIRROR_DIR", "/work/.mirror"), crd.repo.replace("/", "+"), "repo")
    if not git_dir.is_dir():
        return None
    shown = subprocess.run(
        ["git", f"--git-dir={git_dir}", "show", f"{crd.tag}:{crd.path}"], capture_output=True, timeout=60
    )
    return (shown.stdout, f"{git_dir} at {crd.tag}") if shown.returncode == 0 else None


def _go_module_cache() -> Path:
    if os.environ.get("GOMODCACHE"):
        return Path(os.environ["GOMODCACHE"])
    if shutil.which("go"):
        asked = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, timeout=60)
        if asked.returncode == 0 and asked.stdout.strip():
            return Path(asked.stdout.strip())
    return Path.home() / "go" / "pkg" / "mod"


def _from_module_cache(crd: CrdFile) -> tuple[bytes, str] | None:
    cache = _go_module_cache()
    path = cache / crd.module / crd.module_path
    return (path.read_bytes(), str(path)) if path.is_file() else None


def find(crd: CrdFile) -> tuple[bytes, str] | None:
    """The file's bytes and where they came from, or None; CrdMismatch for a file of another release."""
    for source in (_from_dir, _from_mirror, _from_module_cache):
        found = source(crd)
        if found is None:
            continue
        digest = hashlib.sha256(found[0]).hexdigest()
        if digest != crd.sha256:
            raise CrdMismatch(
                f"{found[1]}: {crd.name} has sha256 {digest}, not that of {crd.repo} {crd.tag} ({crd.sha256}); "
                f"provide the {crd.tag} file"
            )
        return found
    return None


def missing_reason() -> str | None:
    """Why the schema tests cannot run here (None: every pinned file was found)."""
    missing = [crd for crd in PINNED.values() if find(crd) is None]
    if not missing:
        return None
    names = ", ".join(f"{c.name} ({c.repo} {c.tag}: {c.path})" for c in missing)
    return (
        f"published CRD schemas not on this machine: {names}. Provide them with GRPOLAB_CRD_DIR=<folder holding "
        "those files>, or a git mirror under GRPOLAB_MIRROR_DIR (default /work/.mirror/<owner>+<name>/repo), or "
        "the Go module cache (go mod download github.com/ray-project/kuberay/ray-operator@v1.7.0 "
        "sigs.k8s.io/kueue@v0.19.2); see tests/cluster/crds.py"
    )


@cache
def schema(kind: str) -> dict[str, Any]:
    """The openAPIV3Schema of `kind` at the version our objects use, made strict (see `strict`)."""
    crd = PINNED[kind]
    found = find(crd)
    if found is None:
        raise FileNotFoundError(missing_reason())
    # libyaml when present: the RayJob CRD is 1.4 MB, 10× slower through the pure-Python loader
    document = yaml.load(found[0], Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    assert document["spec"]["names"]["kind"] == kind, (crd.name, document["spec"]["names"]["kind"])
    for version in document["spec"]["versions"]:
        if version["name"] == crd.version:
            assert version["served"], f"{kind} {crd.version} is not served by {crd.repo} {crd.tag}"
            return strict(version["schema"]["openAPIV3Schema"])
    raise KeyError(f"{crd.name} has no version {crd.version}")


def group_version(kind: str) -> str:
    crd = PINNED[kind]
    group = "ray.io" if crd.repo.endswith("kuberay") else "kueue.x-k8s.io"
    return f"{group}/{crd.version}"


def strict(node: Any) -> Any:
    """A copy of a structural schema where an object with listed properties refuses any other key.

    The API server drops unknown fields of a custom resource (pruning) and `kubectl apply` only warns about
    them, so a misspelled field would apply cleanly and do nothing: the tests treat one as an error, like
    `kubectl apply --validate=strict`. Objects that keep unknown fields (x-kubernetes-preserve-unknown-fields)
    or declare additionalProperties stay as they are."""
    node = copy.deepcopy(node)
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            if (
                "properties" in current
                and "additionalProperties" not in current
                and not current.get("x-kubernetes-preserve-unknown-fields")
            ):
                current["additionalProperties"] = False
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
    return node


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(
            "usage: python tests/cluster/crds.py DIR   (copies the pinned CRD files into DIR)",
            file=sys.stderr,
        )
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for crd in PINNED.values():
        found = find(crd)
        if found is None:
            print(missing_reason(), file=sys.stderr)
            return 1
        (out / crd.name).write_bytes(found[0])
        print(f"{out / crd.name} <- {found[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
