"""`--input-format auto`: which framework a file is for.

Each adapter scores its own format (`detect(text, path)`, 0..1); this module decides, with three rules of its own:
- a Python file can only be a TRL training script (`GRPOConfig(...)` / `TrlParser`), so only TRL's reader is asked;
- the most confident adapter wins when it is sure enough (>= 0.3) and no other comes within 0.05 of it: a close
  call is refused with both names, never guessed;
- a script the adapters do not recognise, which runs another script of the same tree (SkyRL's algorithm
  examples: `bash examples/train/gsm8k/run_gsm8k.sh trainer.algorithm.x=y "$@"`) or a custom entry point with a
  base config (AReaL: `python examples/x/train.py --config examples/x/base.yaml …`), is for the framework of the
  file it names. That file is looked up next to the script and in the folders above it (the repository root,
  where such paths start), and only for a script linted from disk (not text from the API or stdin); nothing is
  executed.
"""

from __future__ import annotations

from pathlib import Path

from training.lint.adapters import FORMATS, get_adapter
from training.lint.engine import FormatUnknown  # raised here, caught by the engine's lint_text

THRESHOLD = 0.3
CLOSE = 0.05
_SHELLS = ("bash", "sh", "source", ".")
#: programs that run a Python training script named among their arguments (its own file is then detected:
#: a script that builds a GRPOConfig is TRL's, whatever flags the launch passes it)
_PY_LAUNCHERS = ("python", "python3", "torchrun", "accelerate", "deepspeed")
_MAX_FOLLOW = 2
_DATA_SUFFIXES = (".yaml", ".yml", ".json")  # a config file is what it is: never detected from what it names


def detect_format(text: str, path: str | None) -> tuple[str, list[str]]:
    """(format, notes) for `text`; raises `FormatUnknown` with what to pass instead."""
    if path and Path(path).suffix.lower() == ".py":
        if get_adapter("trl").detect(text, path) >= THRESHOLD:
            return "trl", ["format detected: trl (a Python training script)"]
        raise FormatUnknown(
            "a Python file is read only as a TRL training script, and this one has no `GRPOConfig(...)` call "
            "or `TrlParser` with GRPOConfig; lint the YAML or the launch command that configures the trainer"
        )
    scores = _scores(text, path)
    if (not scores or scores[0][0] < THRESHOLD) and path and _is_the_file(text, Path(path)):
        followed = _follow_wrapper(text, Path(path), _MAX_FOLLOW)
        if followed:
            name, callee = followed
            return name, [f"format detected: {name} (from {callee}, the script this one runs)"]
    name = _decide(scores)
    return name, [f"format detected: {name}"]


def _is_the_file(text: str, path: Path) -> bool:
    """Wrappers are followed only for a script linted from disk: `path` is a real script file holding `text`
    (text from the API or stdin never makes the linter open files next to it)."""
    if path.suffix.lower() in _DATA_SUFFIXES:
        return False
    try:
        return path.is_file() and path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False


def _scores(text: str, path: str | None) -> list[tuple[float, str]]:
    scores = []
    for name in FORMATS:
        try:
            adapter = get_adapter(name)
        except ModuleNotFoundError:
            continue
        scores.append((adapter.detect(text, path), name))
    scores.sort(reverse=True)
    return scores


def _decide(scores: list[tuple[float, str]]) -> str:
    if not scores or scores[0][0] < THRESHOLD:
        raise FormatUnknown(
            f"cannot tell which framework this config is for; pass --input-format ({'|'.join(FORMATS)})"
        )
    if len(scores) > 1 and scores[1][0] >= scores[0][0] - CLOSE and scores[1][0] >= THRESHOLD:
        raise FormatUnknown(
            f"this config could be {scores[0][1]} or {scores[1][1]}; pass --input-format to choose"
        )
    return scores[0][1]


def _follow_wrapper(text: str, path: Path, depth: int) -> tuple[str, str] | None:
    """The format of the script `text` runs (`bash other.sh …`) or the config it names, when in the same tree."""
    if depth <= 0:
        return None
    for callee in _called_scripts(text):
        found = locate_callee(callee, path)
        if found is None:
            continue
        try:
            inner = found.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if found.suffix == ".py":  # a Python file can only be a TRL training script (as in detect_format)
            if get_adapter("trl").detect(inner, str(found)) >= THRESHOLD:
                return "trl", callee
            continue
        scores = _scores(inner, str(found))
        try:
            return _decide(scores), callee
        except FormatUnknown:
            deeper = _follow_wrapper(inner, found, depth - 1)
            if deeper:
                return deeper[0], callee
    return None


def _called_scripts(text: str) -> list[str]:
    """Scripts run by `bash|sh|source|. FILE.sh …`, Python training scripts run by `python|torchrun|accelerate|
    deepspeed … FILE.py` and configs named by `--config FILE.yaml`, read with a bash
    grammar (paths relative, leading variables dropped: see `callee_path`); text the grammar cannot parse hides
    nothing else."""
    from training.config_io import ConfigError
    from training.lint.adapters._bash_syntax import command_words  # loaded only for this rare fallback

    out: list[str] = []
    try:
        commands = command_words(text)
    except ConfigError:  # an unterminated quote: nothing to follow
        return out
    for words in commands:
        words = [w.strip("\"'") for w in words]
        if len(words) >= 2 and words[0] in _SHELLS and words[1].endswith(".sh"):
            out.append(callee_path(words[1]))
        elif words and words[0].endswith(".sh"):  # `./train.sh …`
            out.append(callee_path(words[0]))
        elif words and words[0].rsplit("/", 1)[-1] in _PY_LAUNCHERS:  # `torchrun … src/grpo.py --flags`: TRL
            script = next((w for w in words[1:] if w.endswith(".py")), None)
            if script is not None:
                out.append(callee_path(script))
        for i, w in enumerate(words[:-1]):  # `python my_entry.py --config base.yaml …` (AReaL)
            if w == "--config" and words[i + 1].endswith((".yaml", ".yml")):
                out.append(callee_path(words[i + 1]))
    return out


def callee_path(word: str) -> str:
    """`"$SCRIPT_DIR/run.sh"` -> `run.sh`: a leading variable is the script's own folder or the repo root, both
    searched by `locate_callee`; parts after it are literal."""
    parts = word.strip("\"'").split("/")
    while parts and "$" in parts[0]:
        parts.pop(0)
    return "/".join(parts)


def locate_callee(callee: str, path: Path) -> Path | None:
    """The file `callee` (a path from `callee_path`) names: next to the script at `path` or in a folder above it
    (never an absolute path: outside the linted tree), and never the script itself."""
    if not callee or "$" in callee:
        return None
    rel = Path(callee)
    if rel.is_absolute():
        return None  # a path outside the linted tree: not read
    here = path.resolve().parent
    for folder in (here, *here.parents):
        candidate = folder / rel
        if candidate.is_file() and candidate.resolve() != path.resolve():
            return candidate
    return None
