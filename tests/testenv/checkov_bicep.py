"""Checkov's Bicep parser (pycep) predates user-defined types: it stops at `param tags { *: string }` and
checks nothing. Checkov looks at resources, not at parameter types, so it scans a copy of the Bicep whose
typed parameters are declared `object` / `array` again (same lines, same resources, same skip comments).

    python3 tests/testenv/checkov_bicep.py SRC_DIR DEST_DIR      copy SRC_DIR's .bicep files, types erased
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

_PARAM = re.compile(r"^(\s*param\s+\w+\s+)(.*)$")
_PLAIN = {"string", "int", "bool", "object", "array"}


def _depth(text: str) -> int:
    bare = re.sub(r"'(?:[^'\\]|\\.)*'", "''", text)
    return sum(bare.count(c) for c in "{([") - sum(bare.count(c) for c in "})]")


def _split_default(expr: str) -> tuple[str, str]:
    """(type, ' = default' or '') at the first top-level '='."""
    depth = 0
    bare = re.sub(r"'(?:[^'\\]|\\.)*'", lambda m: "_" * len(m.group()), expr)
    for index, char in enumerate(bare):
        depth += char in "{([" and 1 or 0
        depth -= char in "})]" and 1 or 0
        if char == "=" and depth == 0:
            return expr[:index].strip(), " " + expr[index:].strip()
    return expr.strip(), ""


def erase_types(text: str) -> str:
    """The Bicep text with every user-defined parameter type replaced by object or array, line count kept."""
    lines = text.splitlines()
    out = []
    i = 0
    while i < len(lines):
        match = _PARAM.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        head, expr = match.groups()
        end = i
        while _depth(expr) > 0:
            end += 1
            expr += "\n" + lines[end]
        ptype, default = _split_default(expr)
        if ptype in _PLAIN:
            kind = ptype
        elif ptype.endswith("[]"):
            kind = "array"
        elif ptype.startswith("{"):
            kind = "object"
        else:
            raise ValueError(f"line {i + 1}: no erasure for parameter type {ptype!r}")
        declaration = head + kind + default  # a multi-line default keeps its lines
        out.extend(declaration.split("\n"))
        out.extend([""] * (end - i - declaration.count("\n")))
        i = end + 1
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    src, dest = Path(argv[0]), Path(argv[1])
    shutil.rmtree(dest, ignore_errors=True)
    for path in sorted(src.rglob("*.bicep")):
        target = dest / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(erase_types(path.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
