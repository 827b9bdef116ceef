"""The house rules for the watch and runtime packages: no module over 400 lines, no function
over 60 (0.1.0's ``service.py`` had 612 lines)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "daemon" / "maggot_zenodo"
MODULES = sorted([*PACKAGE.glob("watch/*.py"), *PACKAGE.glob("runtime/*.py")])
MAX_MODULE, MAX_FUNCTION = 400, 60


@pytest.mark.parametrize("module", MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_module_and_functions_are_small(module: Path) -> None:
    text = module.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_MODULE, f"{module.name} has over {MAX_MODULE} lines"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION
    ]
    assert not long, f"{module.name}: functions over {MAX_FUNCTION} lines: {long}"
