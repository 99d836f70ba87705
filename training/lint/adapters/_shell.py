"""Launch scripts: the trainer command(s) of a script, read as bash would, and flag/override parsing.

Researchers launch OpenRLHF, OAT, gem, verl and SkyRL with shell scripts: `\\` continuations, comments, quotes,
variables with defaults, arrays, arithmetic, `if` branches, `torchrun`/`uv run`/`ray job submit ... --`
launchers. `_bash.read_script` reads the script with a bash grammar (tree-sitter-bash) and expands every word without
running anything; here we pick the command that starts the trainer and turn its arguments into a `Source`, with
each value pointing at the text the user wrote. A value the reader cannot know becomes an `Unknown` with its
reason (see `_source.py`), never the framework default.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from training.lint.adapters._bash import Word, read_script
from training.lint.adapters._source import Entry, Source, Unknown, current_reading, scalar

__all__ = [
    "Command",
    "Word",
    "find_command",
    "find_commands",
    "flag_source",
    "mentions",
    "overrides",
    "tokenize",
]

_OVERRIDE = re.compile(r"^(\+{0,2}|~)([A-Za-z_][\w.\-]*)(=(.*))?$", re.DOTALL)
_NOT_LAUNCHERS = frozenset({"echo", "printf", "cat", "grep", "tee", "sed", "awk", "ls", "rm", "mkdir", ":"})


def tokenize(text: str) -> list[list[Word]]:
    """The script's simple commands, in the order bash meets them, each as its expanded words (prefix
    assignments and redirections left out). Raises GL000 for a script bash would refuse (unterminated quote)."""
    r = current_reading()
    script = read_script(text, r.inherited if r is not None else ())
    if r is not None:
        r.notes.extend(n for n in script.notes if n not in r.notes)
    return [list(c.words) for c in script.commands]


def script_notes(text: str) -> list[str]:
    """What the reader could not follow in the script (skipped syntax, `$@`, a broken continuation)."""
    r = current_reading()
    return list(read_script(text, r.inherited if r is not None else ()).notes)


@dataclass
class Command:
    """A trainer invocation found in a script: the word that names it and the words after it."""

    program: Word
    args: list[Word]
    opaque: list[Word] = field(default_factory=list)  # arguments that are wholly unknown (`$EXTRA_ARGS`)


def find_commands(statements: list[list[Word]], names: Iterable[str]) -> list[Command]:
    """Every statement that runs one of `names` (a module or script name, after any launcher)."""
    wanted = tuple(names)
    found: list[Command] = []
    for words in statements:
        if not words or words[0].text in _NOT_LAUNCHERS:
            continue
        for i, w in enumerate(words):
            if not w.op and not w.unknown and _matches(w.text, wanted):
                args = []
                for a in words[i + 1 :]:
                    if a.op:
                        break
                    args.append(a)
                found.append(Command(program=w, args=args, opaque=[a for a in args if a.opaque]))
                break
    return found


def find_command(statements: list[list[Word]], names: Iterable[str]) -> Command | None:
    """The trainer command to lint: the first one, or, when the engine lints a script with several, the one the
    current `Reading` asks for (its positions are recorded there)."""
    found = find_commands(statements, names)
    r = current_reading()
    if r is not None:
        r.commands = [(c.program.line, c.program.column) for c in found]
        if 0 < r.command < len(found):
            return found[r.command]
    return found[0] if found else None


def _matches(word: str, wanted: tuple[str, ...]) -> bool:
    base = word.rsplit("/", 1)[-1]
    return any(word == x or base == x or word.endswith("/" + x) for x in wanted)


def mentions(text: str, names: Iterable[str]) -> bool:
    return any(x in text for x in names)


def word_value(w: Word, text: str | None = None) -> Any:
    """A word's value as the framework's parser would read it; `Unknown` (with the reason) when the shell
    value cannot be known. `text` is the part of the word that is the value (after `--flag=` or `key=`)."""
    if w.unknown:
        value_text = w.text if text is None else text
        cut = len(w.text) - len(value_text)
        candidates = tuple(scalar(c[cut:]) for c in w.candidates)
        return Unknown(reason=w.unknown, written=value_text, candidates=candidates)
    return scalar(w.text if text is None else text)


# ------------------------------------------------------------------------------------------ flags and overrides


def flag_source(
    cmd: Command,
    canonical: dict[str, str] | None = None,
    negatable: bool = False,
) -> Source:
    """`--flag value`, `--flag=value`, `--flag v1 v2`, bare `--flag` (true) and, for tyro, `--no-flag`/`--no_flag`.

    `canonical` maps a spelling (without dashes, `-` already turned into `_`) to the adapter's canonical name.
    """
    canonical = canonical or {}
    entries: dict[str, Entry] = {}
    args = cmd.args
    consumed: set[int] = set()
    i = 0
    while i < len(args):
        w = args[i]
        if w.opaque or not w.text.startswith("--") or len(w.text) == 2 or "$" in w.text.split("=", 1)[0]:
            i += 1
            continue
        body = w.text[2:]
        values: list[Any]
        if "=" in body:
            body, v = body.split("=", 1)
            values = [word_value(w, v)]
            i += 1
        else:
            j = i + 1
            values = []
            while j < len(args) and not (args[j].text.startswith("--") and len(args[j].text) > 2):
                values.append(word_value(args[j]))
                consumed.add(j)
                j += 1
            i = j
        name = body.replace("-", "_")
        value: Any
        if not values:
            value = True
            if negatable and name.startswith("no_") and name[3:] not in canonical and name not in canonical:
                name, value = name[3:], False
        else:
            value = values[0] if len(values) == 1 else values
        if isinstance(value, list) and any(isinstance(x, Unknown) for x in value):
            value = Unknown(
                reason="; ".join(dict.fromkeys(x.reason for x in value if isinstance(x, Unknown))),
                written=" ".join(str(x) for x in value),
            )
        key = canonical.get(name, name)
        entries[key] = Entry(value=value, key=w.text.split("=", 1)[0], line=w.line, column=w.column)
    src = Source(entries=entries, anchor=(cmd.program.line, cmd.program.column))
    src.unseen = opaque_reason([a for k, a in enumerate(args) if a.opaque and k not in consumed])
    return src


def opaque_reason(words: list[Word]) -> str:
    """Why keys the command does not show may still be set: an argument that is wholly unknown."""
    if not words:
        return ""
    w = words[0]
    more = f" (and {len(words) - 1} more)" if len(words) > 1 else ""
    return f"it may be set by `{w.text}` on line {w.line}{more}, whose words are unknown here: {w.unknown}"


def overrides(words: list[Word]) -> list[tuple[str, Any, int, int]]:
    """Hydra-style `a.b=v`, `+a.b=v`, `++a.b=v`, `~a.b` words (others, e.g. `--config-path`, are skipped)."""
    out = []
    for w in words:
        if w.text.startswith("-") or w.opaque:
            continue
        m = _OVERRIDE.match(w.text)
        if not m or (m.group(3) is None and m.group(1) != "~"):
            continue
        key = m.group(1) + m.group(2)
        if w.unknown and w.text.find("=") != len(m.group(1) + m.group(2)):
            continue  # the unknown part is in the key itself
        value = word_value(w, m.group(4)) if m.group(3) is not None else None
        out.append((key, value, w.line, w.column))
    return out
