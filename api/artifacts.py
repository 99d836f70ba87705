"""Reading a run's output folder for the API: sample episodes, checkpoints, exports, and a streamed tar.gz.

The API never imports torch or the pipeline, so the layouts the trainer writes are named here again (a test runs a
real run through a real worker and reads them back through these functions):

- `samples.jsonl` (training/samples.py): one line per step, `{"step": N, "episodes": [...]}`, steps ascending;
- `checkpoints/step-NNNNNN/` with a `state.json` (training/checkpoint.py; `.tmp-*` folders are half-written);
- `export/step-NNNNNN/` (worker/export_task.py) and `export/state.json` (service/export_state.py).

Every path is resolved and must stay inside the run's folder, which must stay inside the data dir; a symlink
anywhere in an archived folder refuses the archive (a link could point at any file of the server).
"""

from __future__ import annotations

import json
import os
import stat
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from api.errors import ApiError

SAMPLES_FILE = "samples.jsonl"
CHECKPOINT_PREFIX = "step-"
_BLOCK = 64 * 1024
_CHUNK = 1024 * 1024


def run_folder(data_dir: Path, output_dir: str, run_id: str) -> Path:
    """The run's output folder, resolved; 404 when it is not (or not yet) on this API's disk."""
    root = data_dir.resolve()
    folder = Path(output_dir).resolve()
    if root not in folder.parents:
        raise ApiError(404, "not_found", f"run {run_id}'s folder is not inside this server's data dir")
    if not folder.is_dir():
        raise ApiError(
            404,
            "not_found",
            f"run {run_id} has no output folder on this server yet (it has not started, or its worker writes to "
            "a disk this API does not see: docs/artifacts.md)",
        )
    return folder


def _inside(folder: Path, target: Path) -> bool:
    return folder == target or folder in target.parents


# -- sample episodes -----------------------------------------------------------------------------------------------
def _step_of(line: bytes) -> int | None:
    try:
        return int(json.loads(line)["step"])
    except (ValueError, KeyError, TypeError):
        return None


def _line_from(f: BinaryIO, offset: int) -> tuple[int, bytes]:
    """The first complete line starting at or after `offset`, and where it starts."""
    if offset > 0:
        f.seek(offset - 1)
        f.readline()  # the rest of the line `offset - 1` is in (nothing when `offset` starts a line)
    else:
        f.seek(0)
    start = f.tell()
    line = f.readline()
    return start, line if line.endswith(b"\n") else b""  # a line being written is not complete yet


def _first_at_or_after(f: BinaryIO, size: int, step: int) -> int:
    """Byte offset of the first line whose step is >= `step` (steps ascend through the file); `size` if none."""
    lo, hi = 0, size
    while lo < hi:
        mid = (lo + hi) // 2
        _, line = _line_from(f, mid)
        found = _step_of(line) if line else None
        if not line or (found is not None and found >= step):
            hi = mid
        else:
            lo = mid + 1
    start, line = _line_from(f, lo)
    return start if line else size


def _lines_before(f: BinaryIO, end: int, limit: int) -> list[bytes]:
    """Up to `limit` complete lines ending at or before `end`, latest first (read backwards in blocks)."""
    out: list[bytes] = []
    tail, pos, first = b"", end, True
    while pos > 0 and len(out) < limit:
        n = min(_BLOCK, pos)
        pos -= n
        f.seek(pos)
        parts = (f.read(n) + tail).split(b"\n")
        if first:
            parts.pop()  # after the last newline: empty, or a line still being written
            first = False
        tail = parts[0]
        out.extend(p for p in reversed(parts[1:]) if p.strip())
    if pos == 0 and tail.strip() and len(out) < limit:
        out.append(tail)
    return out[:limit]


def read_samples(folder: Path, step: int | None, before: int | None, limit: int) -> list[dict[str, Any]]:
    """Steps of samples.jsonl, latest first: the one of `step`, or up to `limit` steps before `before` (or the
    latest ones). Never reads the whole file: a binary search finds the step, then a backwards read."""
    path = folder / SAMPLES_FILE
    if not path.is_file():
        return []
    with path.open("rb") as f:
        size = f.seek(0, os.SEEK_END)
        if step is not None:
            _, line = _line_from(f, _first_at_or_after(f, size, step))
            lines = [line] if line and _step_of(line) == step else []
        else:
            end = size if before is None else _first_at_or_after(f, size, before)
            lines = _lines_before(f, end, limit)
    items = []
    for line in lines:
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and isinstance(item.get("step"), int):
            items.append({"step": item["step"], "episodes": item.get("episodes") or []})
    return items


# -- folders: listing and archives ---------------------------------------------------------------------------------
@dataclass
class FolderFile:
    path: Path
    name: str  # relative to the folder, with "/"
    size: int
    mtime: float


def folder_files(folder: Path) -> list[FolderFile]:
    """Every regular file under `folder`, sorted; 409 when any entry is a symlink (or another special file)."""
    found: list[FolderFile] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        base = Path(dirpath)
        for name in sorted(dirnames) + sorted(filenames):
            path = base / name
            st = path.lstat()
            rel = path.relative_to(folder).as_posix()
            if stat.S_ISLNK(st.st_mode) or not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
                raise ApiError(
                    409,
                    "conflict",
                    f"{folder.name}/{rel} is a symbolic link or special file; such a folder is not archived "
                    "(a link could point anywhere on the server)",
                )
            if stat.S_ISREG(st.st_mode):
                found.append(FolderFile(path, rel, st.st_size, st.st_mtime))
        dirnames.sort()
    return sorted(found, key=lambda f: f.name)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def numbered_folders(root: Path) -> dict[int, Path]:
    """`step-NNNNNN` folders of `root` (not symlinks) by step."""
    if not root.is_dir() or root.is_symlink():
        return {}
    out: dict[int, Path] = {}
    for p in root.iterdir():
        digits = p.name[len(CHECKPOINT_PREFIX) :]
        if p.name.startswith(CHECKPOINT_PREFIX) and digits.isdigit() and p.is_dir() and not p.is_symlink():
            out[int(digits)] = p
    return dict(sorted(out.items()))


def checkpoints(folder: Path) -> dict[int, Path]:
    """Complete checkpoints (a `state.json` is written last, before the rename) by step."""
    return {s: p for s, p in numbered_folders(folder / "checkpoints").items() if (p / "state.json").is_file()}


def describe(step: int, path: Path) -> dict[str, Any]:
    files = folder_files(path)
    created = (
        (path / "state.json").stat().st_mtime if (path / "state.json").is_file() else path.stat().st_mtime
    )
    return {
        "step": step,
        "size": sum(f.size for f in files),
        "files": [{"name": f.name, "size": f.size} for f in files],
        "created_at": iso(created),
    }


def checkpoint_folder(folder: Path, step: int, run_id: str) -> Path:
    found = checkpoints(folder)
    path = found.get(step)
    if path is None:
        have = ", ".join(str(s) for s in found) or "none yet"
        raise ApiError(404, "not_found", f"run {run_id} has no checkpoint of step {step} (steps: {have})")
    if not _inside(folder, path.resolve()):
        raise ApiError(404, "not_found", f"run {run_id}'s checkpoint {step} is outside its folder")
    return path


def open_files(files: list[FolderFile]) -> list[tuple[FolderFile, BinaryIO]]:
    """Open every file before the first byte is sent: a checkpoint rotated away meanwhile (the trainer keeps the
    last two) is still read whole through the open handles."""
    opened: list[tuple[FolderFile, BinaryIO]] = []
    try:
        for f in files:
            opened.append((f, f.path.open("rb")))
    except OSError:
        for _, h in opened:
            h.close()
        raise ApiError(409, "conflict", "the folder changed while it was being read; try again") from None
    return opened


def tar_gz_stream(top: str, opened: list[tuple[FolderFile, BinaryIO]]) -> Iterator[bytes]:
    """A .tar.gz of `opened` under the folder `top`, produced chunk by chunk (memory stays ~1 MB whatever the
    size): tar headers from the standard library's TarInfo, the data read in 1 MB pieces, gzip by zlib."""
    gz = zlib.compressobj(1, zlib.DEFLATED, 31)  # level 1: model weights barely compress; speed matters more
    written = 0
    try:
        for f, handle in opened:
            info = tarfile.TarInfo(f"{top}/{f.name}")
            info.size, info.mtime, info.mode = f.size, int(f.mtime), 0o644
            header = info.tobuf(format=tarfile.PAX_FORMAT)
            written += len(header)
            yield gz.compress(header)
            remaining = f.size
            while remaining > 0:
                piece = handle.read(min(_CHUNK, remaining))
                if not piece:  # the file shrank after it was listed: pad, the size in the header stands
                    piece = b"\0" * min(_CHUNK, remaining)
                remaining -= len(piece)
                written += len(piece)
                yield gz.compress(piece)
            pad = -f.size % tarfile.BLOCKSIZE
            written += pad
            yield gz.compress(b"\0" * pad)
        end = 2 * tarfile.BLOCKSIZE
        end += -(written + end) % tarfile.RECORDSIZE  # as tarfile pads an archive: whole records
        yield gz.compress(b"\0" * end) + gz.flush()
    finally:
        for _, handle in opened:
            handle.close()
