"""`python -m grpolab.preflight -- <launch command…>`: lint the exact argv of a training launch, then run it.

    python -m grpolab.preflight -- python3 -m verl.trainer.main_ppo algorithm.adv_estimator=grpo ...
    python -m grpolab.preflight -- torchrun --nproc_per_node 8 -m openrlhf.cli.train_ppo_ray --advantage_estimator ...
    python -m grpolab.preflight -- trl grpo --config recipe.yaml --num_generations 8
    python -m grpolab.preflight --no-exec -- accelerate launch src/open_r1/grpo.py --config recipes/x/grpo/config.yaml

`bash run.sh …` lints the script itself (with positions in it). Otherwise the framework is named by the
command itself: its trainer entry point (`verl.trainer.main_ppo`,
`openrlhf.cli.train_ppo_ray`, `skyrl.train.entrypoints.main_base`, ROLL's `start_rlvr_pipeline.py`, AReaL's
`areal.launcher.*`, OAT's `oat.experiment.main`, gem's `train_oat_grpo.py`), `trl grpo`, or a Python script that
builds a TRL GRPOConfig. The argv is what the process will receive (your shell has already expanded variables),
so every value is read as given. For TRL the config is the `--config` YAML with the command's `--flag value`
overrides on top, as TrlParser merges them.

Exit status: the command's own when it runs (preflight replaces itself with it, `exec`); 1 when an error finding
stops it; 2 when the command cannot be linted (no known trainer, unreadable config), which also stops it —
run the command directly to launch without the check. `--no-exec` only lints (0, 1 or 2).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Any

#: formats whose adapters read a launch command line (TRL is handled from its YAML/script, below)
_COMMAND_FORMATS = ("verl", "openrlhf", "skyrl", "roll", "areal", "oat", "gem", "easyr1")


def detect_framework(argv: list[str]) -> tuple[str, str] | None:
    """(format, the argv word that names it), from the trainer entry point in the command."""
    from training.lint.adapters import get_adapter

    for i, word in enumerate(argv):
        if i + 1 < len(argv) and Path(word).name == "trl" and argv[i + 1] == "grpo":
            return "trl", f"{word} grpo"
        for fmt in _COMMAND_FORMATS:
            for entry in getattr(get_adapter(fmt), "ENTRY_POINTS", ()):
                if word == entry or word.endswith("/" + entry):
                    return fmt, word
    script = _python_script(argv)
    if script is not None:
        from training.lint.adapters import _python

        try:
            text = script.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        if _python.detect(text, str(script)) > 0:
            return "trl", str(script)
    return None


def _python_script(argv: list[str]) -> Path | None:
    return next((Path(w) for w in argv if w.endswith(".py") and Path(w).is_file()), None)


Place = tuple[str, int | None, int | None]  # (file, or "" for the command line; line; column)


def trl_config(argv: list[str]) -> tuple[str, str, dict[str, Place]]:
    """(YAML text, what it was built from, where each key was set) of the GRPOConfig a TRL command will use: its
    `--config` YAML with the command's `--flag value` overrides on top (TrlParser: the command line wins)."""
    import yaml

    from training.lint.adapters._source import scalar
    from training.sourcemap import ConfigSyntaxError, parse_text

    script = _python_script(argv)
    start = argv.index(str(script)) + 1 if script is not None and str(script) in argv else 0
    if start == 0 and "grpo" in argv:
        start = argv.index("grpo") + 1
    flags = _flags(argv[start:])
    config_path = flags.pop("config", None)
    data: dict[str, Any] = {}
    places: dict[str, Place] = {}
    built = []
    if isinstance(config_path, str):
        built.append(config_path)
        try:
            loaded, smap = parse_text(Path(config_path).read_text(encoding="utf-8"))
        except ConfigSyntaxError as exc:
            raise ValueError(f"{config_path}:{exc.line}: {exc.message}") from None
        if not isinstance(loaded, dict):
            raise ValueError(f"{config_path}: expected a mapping of GRPOConfig fields")
        data.update(loaded)
        for key in loaded:
            pos = smap.positions.get(f"/{key}")
            places[key] = (config_path, pos.line if pos else None, pos.column if pos else None)
    if flags:
        built.append("the command's flags " + ", ".join(f"--{k}" for k in flags))
    columns = _flag_columns(argv)
    for key, value in flags.items():
        data[key] = [scalar(v) for v in value] if isinstance(value, list) else value
        if isinstance(value, str):
            data[key] = scalar(value)
        places[key] = ("", 1, columns.get(key))
    return yaml.safe_dump(data, sort_keys=False), " + ".join(built) or "TRL's defaults", places


def _flag_columns(argv: list[str]) -> dict[str, int]:
    """`--key` -> its 1-based column in `shlex.join(argv)` (the command line the report prints)."""
    out: dict[str, int] = {}
    col = 1
    for word in argv:
        if word.startswith("--"):
            out.setdefault(word[2:].partition("=")[0].replace("-", "_"), col)
        col += len(shlex.quote(word)) + 1
    return out


def _relocate(result: Any, text: str, places: dict[str, Place]) -> None:
    """Point findings at the config file line or the command-line flag that set the key, not at the merged YAML."""
    import dataclasses

    key_at = {
        i: line.split(":", 1)[0].strip("'\"")
        for i, line in enumerate(text.splitlines(), 1)
        if line and not line[0].isspace() and not line.startswith("-") and ":" in line
    }
    moved = []
    for f in result.findings:
        place = places.get(key_at.get(f.line, "")) if f.line else None
        if place is None:
            moved.append(dataclasses.replace(f, line=None, column=None))  # a default: no place to point at
            continue
        file, line, column = place
        moved.append(dataclasses.replace(f, file=file, line=line, column=column))
    result.findings = moved


def _flags(words: list[str]) -> dict[str, Any]:
    """`--key value`, `--key=value`, `--key v1 v2` (a list), `--flag` (true), `--no_flag` (false)."""
    out: dict[str, Any] = {}
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if not word.startswith("--") or word == "--":
            continue
        name, eq, value = word[2:].partition("=")
        if eq:
            out[name.replace("-", "_")] = value
            continue
        values = []
        while i < len(words) and not words[i].startswith("--"):
            values.append(words[i])
            i += 1
        key = name.replace("-", "_")
        if not values:
            if key.startswith("no_"):
                out[key[3:]] = False
            else:
                out[key] = True
        else:
            out[key] = values[0] if len(values) == 1 else values
    return out


def lint_argv(argv: list[str], input_format: str = "auto") -> tuple[Any, str]:
    """(LintResult, what was linted) for a launch argv."""
    from training.lint import lint_file, lint_text

    fmt = input_format
    named = ""
    if len(argv) >= 2 and Path(argv[0]).name in ("bash", "sh") and argv[1].endswith(".sh"):
        script = Path(argv[1])  # a launch script: lint the file itself, with positions in it
        result = lint_file(script, input_format)
        if len(argv) > 2:
            result.notes.append(
                f'the arguments after the script ({shlex.join(argv[2:])}) reach it as "$@"; they are not read here'
            )
        return result, f"{script} (the script this command runs)"
    if fmt == "auto":
        found = detect_framework(argv)
        if found is not None:
            fmt, named = found
    command = shlex.join(argv)
    if fmt == "trl":
        py = _python_script(argv)
        if py is not None and _literal_config(py):  # GRPOConfig(...) in code: flags do not reach it
            return lint_file(py, "trl"), f"{py} (its GRPOConfig(...) call)"
        try:
            text, built, places = trl_config(argv)
        except (OSError, ValueError) as exc:
            return lint_text(f"# {exc}\n", "trl", "<command>"), command
        result = lint_text(text, "trl", "<command>")
        _relocate(result, text, places)
        return result, f"{command}  [trl: the config from {built}]"
    result = lint_text(command + "\n", fmt, "<command>")
    return result, f"{command}" + (f"  [{fmt}, from `{named}`]" if named else "")


def _literal_config(script: Path) -> bool:
    from training.lint.adapters import _python

    return _python.detect(script.read_text(encoding="utf-8"), str(script)) >= 0.95


def exit_status(result: Any) -> int:
    if result.invalid:
        return 2
    return 1 if result.blocking else 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m grpolab.preflight",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="python -m grpolab.preflight [--no-exec] [--input-format FORMAT] -- COMMAND [ARG ...]",
    )
    p.add_argument("--no-exec", action="store_true", help="only lint the command; never run it")
    p.add_argument(
        "--input-format",
        default="auto",
        metavar="FORMAT",
        help="auto (default: from the command's entry point), trl, verl, openrlhf, oat, gem, skyrl, roll, areal, easyr1",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="show the fix of every finding")
    return p


def main(argv: list[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if "--" in args_in:
        split = args_in.index("--")
        own, command = args_in[:split], args_in[split + 1 :]
    else:
        own, command = args_in, []
    parser = build_parser()
    args = parser.parse_args(own)
    if not command:
        parser.error("give the launch command after `--`, e.g. -- python3 -m verl.trainer.main_ppo ...")
    from training.lint.reporters import text_report

    result, what = lint_argv(command, args.input_format)
    result.notes.insert(0, f"linted: {what}")
    sys.stdout.write(text_report([result], verbose=args.verbose))
    status = exit_status(result)
    if status == 2:
        print(
            "preflight: the command could not be linted, so it was not run; pass --input-format, or run it "
            "directly to launch without the check",
            file=sys.stderr,
        )
        return 2
    if status == 1:
        print("preflight: error finding(s) above; the command was not run", file=sys.stderr)
        return 1
    if args.no_exec:
        return 0
    sys.stdout.flush()
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"preflight: cannot run `{command[0]}`: {exc.strerror}", file=sys.stderr)
        return 127
    return 0  # not reached: exec replaces this process


if __name__ == "__main__":
    sys.exit(main())
