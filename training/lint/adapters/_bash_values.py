"""The values the launch-script reader (`_bash`) works with: the words a program receives, shell values with the file
offsets of their characters, and how values meet: concatenation, and the merge of the variables after an `if` whose
branches assigned them differently (an array assigned in each arm is aligned element by element)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Word:
    """One argument as the program receives it, with the file position of its first character."""

    text: str  # the expanded text; unknown parts are kept as written (`n=$N_SAMPLES`)
    line: int  # 1-based
    column: int  # 1-based
    op: bool = False  # kept for the old interface: a shell operator (never produced now)
    unknown: str = ""  # why (part of) the value cannot be known; "" = fully known
    candidates: tuple[str, ...] = ()  # the texts an ambiguous word may have (one per branch value)
    opaque: bool = False  # the whole word is unknown: it may stand for any number of words


@dataclass(frozen=True)
class Val:
    """A shell value: known text with per-character file offsets, unknown (why), ambiguous, or an array."""

    text: str = ""
    offs: tuple[int, ...] = ()
    unknown: str = ""
    options: tuple[str, ...] = ()  # known values an ambiguous variable may have
    items: tuple[Val, ...] | None = None
    segs: tuple[Seg, ...] = ()  # a partly unknown value's known and unknown pieces (so it still word-splits)


@dataclass
class SimpleCommand:
    words: list[Word]
    line: int


@dataclass
class Script:
    commands: list[SimpleCommand] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    calls: list[ScriptCall] = field(default_factory=list)  # other scripts it runs (`bash other.sh`)


Passed = tuple[tuple[str, str, str, tuple[str, ...]], ...]
"""Variables one script hands to another it runs: (name, text, why unknown or "", ambiguous options)."""


@dataclass(frozen=True)
class ScriptCall:
    """`bash other.sh ...` (or `./other.sh`): the script word, and what goes into that script's environment
    (the command's prefix assignments and the variables exported before it)."""

    script: Word
    line: int
    passed: Passed = ()


@dataclass
class Seg:
    text: str
    offs: tuple[int, ...]
    quoted: bool
    unknown: str = ""
    options: tuple[str, ...] = ()
    brk: bool = False  # a field break ("${A[@]}" between elements)
    args: bool = False  # "$@" / "$*": the script's own arguments


def scalar_val(val: Val) -> Val:
    if val.items is not None:
        return val.items[0] if val.items else Val()
    return val


def concat(a: Val, b: Val) -> Val:
    a, b = scalar_val(a), scalar_val(b)
    if not a.unknown and not b.unknown:
        return Val(text=a.text + b.text, offs=a.offs + b.offs)
    segs: tuple[Seg, ...] = ()
    if (a.segs or not a.unknown) and (b.segs or not b.unknown):  # every piece known or itself in pieces
        segs = pieces(a) + pieces(b)
    options: tuple[str, ...] = ()
    if a.unknown and b.unknown:
        why = f"{a.unknown}; {b.unknown}"
    elif a.unknown:
        why = a.unknown
        options = tuple(o + b.text for o in a.options)
    else:
        why = b.unknown
        options = tuple(a.text + o for o in b.options)
    return Val(text=a.text + b.text, offs=a.offs + b.offs, unknown=why, options=options, segs=segs)


def pieces(v: Val) -> tuple[Seg, ...]:
    if v.segs:
        return v.segs
    return (Seg(v.text, v.offs, False),) if v.text else ()


def merge_branches(outcomes: list[dict[str, Val]], where: str) -> dict[str, Val]:
    """Variables after an `if`: equal in every branch -> that value; otherwise ambiguous with its values."""
    if len(outcomes) == 1:
        return outcomes[0]
    merged: dict[str, Val] = {}
    for name in dict.fromkeys(k for env in outcomes for k in env):
        vals = [env.get(name) for env in outcomes]
        first = vals[0]
        if all(v == first for v in vals):
            if first is not None:
                merged[name] = first
            continue
        if all(v is not None and v.items is not None for v in vals):
            merged[name] = _merge_arrays([v.items or () for v in vals if v is not None], name, where)
            continue
        known = [v.text for v in vals if v is not None and not v.unknown and v.items is None]
        shown = alternatives([shown_value(v) for v in vals])
        # the values are listed only when every branch gives a known one: then they are all it can be
        options = tuple(dict.fromkeys(known)) if len(known) == len(vals) else ()
        merged[name] = Val(unknown=f"`{name}` is {shown} depending on {where}", options=options)
    return merged


def _merge_arrays(arrays: list[tuple[Val, ...]], name: str, where: str) -> Val:
    """An array built differently in the branches (`A=(...)` in each arm of an `if`): the branches are aligned
    element by element (longest common subsequence, by text): an element every branch has, in the same order, stays
    known; the others are kept, in place, as elements that may be absent (each an argument that is there or not).
    So `--rollout_batch_size 512`, written in both arms among flags that differ, keeps its value."""
    merged: list[tuple[Val, bool]] = [(v, True) for v in arrays[0]]
    for other in arrays[1:]:
        merged = _align(merged, list(other))
    items: list[Val] = []
    for item, everywhere in merged:
        if everywhere:
            items.append(item)
        elif not item.unknown and item.items is None:  # an unknown element only in some branches: left out
            why = f"`{name}` has `{item.text}` only in some of {where}"
            piece = Seg(item.text, item.offs, False, unknown=why, options=(item.text, ""))
            items.append(
                Val(text=item.text, offs=item.offs, unknown=why, options=(item.text, ""), segs=(piece,))
            )
    return Val(items=tuple(items))


def _align(merged: list[tuple[Val, bool]], other: list[Val]) -> list[tuple[Val, bool]]:
    """`merged` and another branch's elements as one sequence: their longest common subsequence (same text) keeps
    whether it was in every branch so far; everything else is in some branches only."""

    def key(v: Val) -> tuple[str, str, bool]:
        return (v.text, v.unknown, v.items is None)

    n, m = len(merged), len(other)
    best = [[0] * (m + 1) for _ in range(n + 1)]  # best[i][j]: LCS length of merged[i:] and other[j:]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            if key(merged[i][0]) == key(other[j]):
                best[i][j] = best[i + 1][j + 1] + 1
            else:
                best[i][j] = max(best[i + 1][j], best[i][j + 1])
    out: list[tuple[Val, bool]] = []
    i = j = 0
    while i < n or j < m:
        if i < n and j < m and key(merged[i][0]) == key(other[j]):
            out.append(merged[i])
            i, j = i + 1, j + 1
        elif j >= m or (i < n and best[i + 1][j] >= best[i][j + 1]):
            out.append((merged[i][0], False))
            i += 1
        else:
            out.append((other[j], False))
            j += 1
    return out


def shown_value(v: Val | None) -> str:
    if v is None:
        return "(unset)"
    if v.items is not None:
        return "(" + " ".join(shown_value(x) for x in v.items) + ")"
    return "(unknown)" if v.unknown else v.text


def alternatives(values: list[str]) -> str:
    unique = list(dict.fromkeys(values))
    return " or ".join(unique) if len(unique) <= 4 else ", ".join(unique[:4]) + ", ..."
