"""bash integer arithmetic (`$(( ))`) on known values, without running anything."""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Callable
from typing import Any

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_ARITH_OPS: dict[type, Any] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: int(a / b) if abs(a) < 2**52 and abs(b) < 2**52 else a // b,
    ast.Mod: lambda a, b: a - b * int(a / b),
    ast.Pow: lambda a, b: a**b,
    ast.LShift: lambda a, b: a << b,
    ast.RShift: lambda a, b: a >> b,
    ast.BitAnd: lambda a, b: a & b,
    ast.BitOr: lambda a, b: a | b,
    ast.BitXor: lambda a, b: a ^ b,
}


def arith_eval(expr: str, value_of: Callable[[str], str | None]) -> int | str:
    """The value of `expr` (already expanded of `$` substitutions), or a string saying why it has none.
    `value_of(name)`: a variable's known text, None when it is unknown or unset."""
    if re.search(r"[?:]|\+\+|--|[^=!<>]=[^=]|^=", expr):
        return "uses arithmetic the reader does not evaluate (assignment or `?:`)"
    py = expr.replace("&&", " and ").replace("||", " or ")
    py = re.sub(r"!(?!=)", " not ", py)
    try:
        with warnings.catch_warnings():  # `1a` is a SyntaxWarning before it is an error
            warnings.simplefilter("ignore")
            tree = ast.parse(py.strip() or "0", mode="eval")
    except SyntaxError:
        return "is not arithmetic the reader can read"

    def ev(node: ast.AST, depth: int = 0) -> int:
        if depth > 50:
            raise ValueError("too deep")
        if isinstance(node, ast.Expression):
            return ev(node.body, depth + 1)
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int)
            and not isinstance(node.value, bool)
        ):
            return node.value
        if isinstance(node, ast.Name):
            text = value_of(node.id)
            if text is None:
                raise LookupError(node.id)
            return _int_of(text, value_of, depth)
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITH_OPS:
            a, b = ev(node.left, depth + 1), ev(node.right, depth + 1)
            if isinstance(node.op, (ast.Div, ast.Mod)) and b == 0:
                raise ZeroDivisionError
            if isinstance(node.op, ast.Pow) and (b < 0 or b > 64):
                raise ValueError("exponent")
            if isinstance(node.op, ast.LShift) and b > 64:
                raise ValueError("shift")
            return int(_ARITH_OPS[type(node.op)](a, b))
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand, depth + 1)
            if isinstance(node.op, ast.USub):
                return -v
            if isinstance(node.op, ast.UAdd):
                return v
            if isinstance(node.op, ast.Invert):
                return ~v
            if isinstance(node.op, ast.Not):
                return int(not v)
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            a, b = ev(node.left, depth + 1), ev(node.comparators[0], depth + 1)
            cmp = {
                ast.Lt: a < b,
                ast.LtE: a <= b,
                ast.Gt: a > b,
                ast.GtE: a >= b,
                ast.Eq: a == b,
                ast.NotEq: a != b,
            }
            if type(node.ops[0]) in cmp:
                return int(cmp[type(node.ops[0])])
        if isinstance(node, ast.BoolOp):
            vals = [ev(v, depth + 1) for v in node.values]
            return int(all(vals)) if isinstance(node.op, ast.And) else int(any(vals))
        raise ValueError("unsupported")

    try:
        return ev(tree)
    except LookupError as exc:
        return f"uses `{exc.args[0]}`, which is not set in this file (or not a number)"
    except ZeroDivisionError:
        return "divides by zero"
    except (ValueError, TypeError, OverflowError, RecursionError):
        return "is not arithmetic the reader can evaluate"


def _int_of(text: str, value_of: Callable[[str], str | None], depth: int) -> int:
    t = text.strip()
    if re.fullmatch(r"[-+]?[0-9]+", t):
        return int(t)
    if t == "":
        return 0
    if _NAME.fullmatch(t) and depth < 10:  # bash follows a variable holding another variable's name
        inner = value_of(t)
        if inner is None:
            raise LookupError(t)
        return _int_of(inner, value_of, depth + 1)
    raise LookupError(t)
