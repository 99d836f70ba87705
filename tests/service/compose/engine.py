"""A real OCI engine for the compose test: podman + runc, configured for this test's runs only.

Nothing here touches /etc/containers: the engine reads CONTAINERS_CONF / CONTAINERS_STORAGE_CONF written under the
cache folder, which also holds the Debian base image (a debootstrap tarball) and podman's storage, so a second run
reuses the built layers. The storage is keyed by a hash of what the base image is made from (a new key starts a new
storage and removes the old ones); stand-in images are tagged with a hash of their Dockerfiles. docs/service.md ("docker compose, run for real") describes what this covers.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
CACHE = Path(os.environ.get("GRPOLAB_COMPOSE_CACHE", "/var/tmp/grpolab-compose-cache"))
RUNROOT = Path(os.environ.get("GRPOLAB_COMPOSE_RUNROOT", "/run/grpolab-compose-test"))
MIRROR = os.environ.get("GRPOLAB_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SUITE = "bookworm"
PACKAGES = ("podman", "runc", "debootstrap")
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
TAG = "localhost/grpolab-test"

# The settings the reference found necessary on this machine kind: crun refuses "cgroups in hybrid mode" and
# setting rlimits inside the sandbox is refused; no systemd, so no journald events either.
CONTAINERS_CONF = """\
[containers]
default_ulimits = []
log_driver = "k8s-file"

[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
events_logger = "file"
tmp_dir = "{runroot}/libpod"

[network]
network_config_dir = "{network}"
"""

STORAGE_CONF = """\
[storage]
driver = "overlay"
graphroot = "{graphroot}"
runroot = "{runroot}/storage"
"""


def base_key() -> str:
    """Hash of what the Debian base image is made from."""
    return hashlib.sha256(f"{SUITE}\n{MIRROR}\nminbase\n".encode()).hexdigest()[:16]


def standin_key(name: str) -> str:
    """Hash of what a stand-in image is made from (its Dockerfile and the base): a change builds it anew."""
    h = hashlib.sha256(base_key().encode())
    for path in sorted((HERE / "standins").glob(f"{name}*")):
        h.update(path.name.encode() + b"\n" + path.read_bytes())
    return h.hexdigest()[:16]


def why_unavailable() -> str | None:
    """None when this machine can run the test (root, podman installed or installable with apt-get), else why."""
    if os.geteuid() != 0:
        return "needs root: rootful podman with its storage under /var/tmp (rootless podman is not set up by the test)"
    if not all(shutil.which(p) for p in PACKAGES) and not shutil.which("apt-get"):
        return f"{', '.join(PACKAGES)} not all installed and no apt-get to install them"
    if not shutil.which("node"):
        return "node (20) not found: the node:20-slim stand-in copies the host's"
    return None


def hold_cache_lock() -> int:
    """One compose test at a time on this machine (a CI run and a developer's share the cache, the project name and
    podman's run state): blocks until the other has finished. The lock goes with the process."""
    CACHE.mkdir(parents=True, exist_ok=True)
    fd = os.open(CACHE / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def install_packages() -> None:
    if all(shutil.which(p) for p in PACKAGES):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", *PACKAGES]
    if subprocess.run(cmd, env=env).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, check=True)
        subprocess.run(cmd, env=env, check=True)


class Engine:
    """podman with this test's configuration; `env` also drives podman-compose."""

    def __init__(self) -> None:
        self.key = base_key()
        self.dir = CACHE / f"storage-{self.key}"
        self.dir.mkdir(parents=True, exist_ok=True)
        for stale in CACHE.iterdir():
            if stale.name.startswith("storage-") and stale != self.dir:
                self._remove_storage(stale)
            elif stale.name.startswith("debian-") and self.key not in stale.name:
                stale.unlink()
        RUNROOT.mkdir(parents=True, exist_ok=True)
        (self.dir / "network").mkdir(exist_ok=True)
        conf = self.dir / "containers.conf"
        conf.write_text(CONTAINERS_CONF.format(runroot=RUNROOT, network=self.dir / "network"))
        storage = self.dir / "storage.conf"
        storage.write_text(STORAGE_CONF.format(graphroot=self.dir / "storage", runroot=RUNROOT))
        self.env = {
            **os.environ,
            "CONTAINERS_CONF": str(conf),
            "CONTAINERS_STORAGE_CONF": str(storage),
        }

    def _remove_storage(self, folder: Path) -> None:
        # a crashed run may have left the overlay folder mounted: unmount it before deleting
        subprocess.run(["umount", "-R", str(folder / "storage" / "overlay")], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)

    def podman(
        self, *args: str, check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(["podman", *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and out.returncode != 0:
            raise RuntimeError(f"podman {' '.join(args)} failed ({out.returncode}):\n{out.stderr[-4000:]}")
        return out

    def image_exists(self, ref: str) -> bool:
        return self.podman("image", "exists", ref, check=False).returncode == 0

    def base_image(self) -> str:
        """localhost/grpolab-test/debian:bookworm from a cached debootstrap tarball."""
        ref = f"{TAG}/debian:{SUITE}"
        if self.image_exists(ref):
            return ref
        tarball = CACHE / f"debian-{SUITE}-{base_key()}.tar"
        if not tarball.is_file():
            with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
                rootfs = Path(tmp) / "rootfs"
                subprocess.run(
                    ["debootstrap", "--variant=minbase", SUITE, str(rootfs), MIRROR],
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
                shutil.rmtree(rootfs / "var" / "cache" / "apt" / "archives", ignore_errors=True)
                partial = tarball.with_suffix(".partial")
                subprocess.run(
                    ["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(partial), "."], check=True
                )
                partial.rename(tarball)
        self.podman("import", str(tarball), ref)
        return ref

    def build(
        self,
        ref: str,
        dockerfile: Path,
        context: Path,
        build_args: dict[str, str],
        volumes: Sequence[str] = (),
        ignorefile: Path | None = None,
    ) -> float:
        """podman build; returns the seconds it took."""
        args = ["build", "--network", "host", "--layers", "-t", ref, "-f", str(dockerfile)]
        if ignorefile is not None:  # BuildKit finds <Dockerfile>.dockerignore itself; podman 4.3 is told
            args += ["--ignorefile", str(ignorefile)]
        for k, v in build_args.items():
            args += ["--build-arg", f"{k}={v}"]
        for v in volumes:
            args += ["-v", v]
        start = time.monotonic()
        out = subprocess.run(
            ["podman", *args, str(context)], env=self.env, capture_output=True, text=True, timeout=1800
        )
        if out.returncode != 0:
            raise RuntimeError(f"building {ref} failed:\n{(out.stdout + out.stderr)[-6000:]}")
        return time.monotonic() - start

    def image_size_mb(self, ref: str) -> float:
        return int(self.podman("image", "inspect", "--format", "{{.Size}}", ref).stdout.strip()) / 1e6

    def prune(self) -> None:
        """Drop dangling layers from earlier builds so the cache does not grow run after run."""
        self.podman("image", "prune", "-f", check=False)


def build_standins(engine: Engine) -> dict[str, str]:
    """The images compose and the Dockerfiles name that cannot be pulled here, built from Debian packages."""
    base = engine.base_image()
    refs = {}
    for name in ("python", "node", "postgres", "redis"):
        ref = f"{TAG}/{name}:{standin_key(name)}"
        refs[name] = ref
        if engine.image_exists(ref):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            context = Path(tmp)
            shutil.copy(HERE / "standins" / "postgres-entrypoint.sh", context)
            if name == "node":
                node = shutil.which("node")
                assert node, "node (20) is needed on the host for the node:20-slim stand-in"
                shutil.copy(node, context / "node")
                shutil.copytree(
                    Path(node).resolve().parents[1] / "lib" / "node_modules" / "npm", context / "npm"
                )
            engine.build(ref, HERE / "standins" / f"{name}.Dockerfile", context, {"BASE": base})
    return refs


MOUNTS = Path("/run/host-build")  # the stand-ins have these mount points (python.Dockerfile says why)


def pip_sources() -> tuple[dict[str, str], list[str]]:
    """Build args and read-only mounts that point pip and npm at this host's package sources: its local indexes
    (two at most), the folder with the CPU torch wheel (pip's find-links) and its CA bundle (TLS is re-signed here)."""
    config = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "pip", "config", "list"],
        capture_output=True,
        text=True,
    ).stdout
    values: dict[str, str] = {}
    for line in config.splitlines():
        key, _, value = line.partition("=")
        values[key.split(".")[-1]] = value.strip().strip("'\"")
    args = {"PIP_CERT": f"{MOUNTS}/ca.crt", "NODE_EXTRA_CA_CERTS": f"{MOUNTS}/ca.crt"}
    volumes = [f"{HOST_CA}:{MOUNTS}/ca.crt:ro"]
    local = [url for url in values.get("extra-index-url", "").split() if url.startswith("file://")][:2]
    urls = []
    for i, url in enumerate(local):  # file:///opt/pypi/simple -> /opt/pypi mounted at index-0, URL .../simple
        index = Path(url.removeprefix("file://"))
        volumes.append(f"{index.parent}:{MOUNTS}/index-{i}:ro")
        urls.append(f"file://{MOUNTS}/index-{i}/{index.name}")
    if urls:
        args["PIP_EXTRA_INDEX_URL"] = " ".join(urls)
    wheels = values.get("find-links") or os.environ.get("PIP_FIND_LINKS", "")
    if wheels and Path(wheels).is_dir():
        volumes.append(f"{wheels}:{MOUNTS}/wheels:ro")
        args["PIP_FIND_LINKS"] = f"{MOUNTS}/wheels"
        # the CPU wheel there (2.13.0+cpu ranks above PyPI's CUDA 2.13.0); its dependencies from the indexes
        args["TORCH_PIP_ARGS"] = f"--find-links {MOUNTS}/wheels"
    return args, volumes


def build_project_images(engine: Engine, standins: dict[str, str]) -> dict[str, float]:
    """The real docker/api.Dockerfile and docker/worker-cpu.Dockerfile, with the stand-in bases and this host's
    package sources as build args. Returns the build time of each in seconds (layers cached from earlier runs
    count: a warm run rebuilds only what changed)."""
    args, volumes = pip_sources()
    args["PYTHON_IMAGE"] = standins["python"]
    seconds = {}
    for name, extra in (("api", {"NODE_IMAGE": standins["node"]}), ("worker-cpu", {})):
        dockerfile = ROOT / "docker" / f"{name}.Dockerfile"
        seconds[name] = engine.build(
            project_image(name),
            dockerfile,
            ROOT,
            {**args, **extra},
            volumes,
            ignorefile=dockerfile.with_name(dockerfile.name + ".dockerignore"),
        )
    return seconds


def project_image(name: str) -> str:
    return f"{TAG}/grpolab-{name}:latest"


class HealthcheckDriver:
    """podman runs healthchecks from systemd timers; without systemd nothing runs them. This thread does what
    the timers would: `podman healthcheck run` on every running container of the project, every few seconds."""

    def __init__(self, engine: Engine, project: str, every_s: float = 3.0) -> None:
        self.engine, self.project, self.every_s = engine, project, every_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.stop.wait(self.every_s):
            out = self.engine.podman(
                "ps",
                "--filter",
                f"label=io.podman.compose.project={self.project}",
                "--format",
                "{{.Names}}",
                check=False,
            )
            for name in out.stdout.split():
                self.engine.podman("healthcheck", "run", name, check=False, timeout=30)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
