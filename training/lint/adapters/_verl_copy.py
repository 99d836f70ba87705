"""The copy of verl a research repository ships beside its scripts (TinyZero, Search-R1, PRIME, rllm … keep verl
0.1/0.2 in `verl/`): its version, and two facts read from its code, because forks edit their copies.

Only for a script linted from disk (the engine's reading knows its path). What a copy says is read once per trainer
command (the reading's memo: the re-runs that settle unknown values share it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from training.lint.adapters._source import current_reading

#: where research repositories keep their own copy of verl, relative to a folder at or above the script
_VENDORED = ("verl/version/version", "src/verl/version/version", "verl/verl/version/version")
_VERSION_TEXT = re.compile(r"\d+\.\d+(\.\d+)?[\w.+-]{0,20}")


@dataclass(frozen=True)
class VerlCopy:
    version: str  # as its `version/version` file says
    version_file: Path
    # its reward can carry a KL penalty: `trainer/main_ppo.py` maps a reference-policy worker and
    # `trainer/ppo/ray_trainer.py` calls `apply_kl_penalty`, as upstream ≤ 0.3 always did (Skywork-OR1 comments the
    # worker out, rllm the call); an unreadable file counts as upstream's
    reward_kl: bool
    # it already reads `algorithm.use_kl_in_reward` (verl PR #644): version files lag behind the code they ship
    # with (RLHFlow/Minimal-RL's says 0.2.0.dev and has the switch)
    kl_switch: bool


def find_copy() -> VerlCopy | None:
    """The copy next to the script being linted, or in a folder up to six above it; None when there is none (or
    the text is not from disk)."""
    r = current_reading()
    if r is None or not r.path:
        return None
    here = Path(r.path).resolve().parent
    key = ("verl-copy", str(here))
    if key not in r.memo:
        r.memo[key] = _search(here)
    found: VerlCopy | None = r.memo[key]
    return found


def _search(here: Path) -> VerlCopy | None:
    for folder in (here, *list(here.parents)[:6]):
        for rel in _VENDORED:
            f = folder / rel
            try:
                text = f.read_text(encoding="utf-8").strip() if f.is_file() else ""
            except (OSError, UnicodeDecodeError):
                continue
            if _VERSION_TEXT.fullmatch(text):
                return _read(text, f)
    return None


def _read(version: str, version_file: Path) -> VerlCopy:
    copy = version_file.parent.parent
    main = _live_lines(copy / "trainer" / "main_ppo.py")
    trainer = _live_lines(copy / "trainer" / "ppo" / "ray_trainer.py")
    has_ref = main is None or any("Role.RefPolicy" in ln for ln in main)
    calls = trainer is None or any("apply_kl_penalty(" in ln and not ln.startswith("def ") for ln in trainer)
    switch = any("use_kl_in_reward" in ln for ln in trainer or [])
    return VerlCopy(version, version_file, reward_kl=has_ref and calls, kl_switch=switch)


def _live_lines(path: Path) -> list[str] | None:
    """A file's lines that are not comments (None: unreadable)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
