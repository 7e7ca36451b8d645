"""Imports point down the layers of DESIGN.md (README "Development"), never up."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "tfod_doctor"

#: Top to bottom. A module may import its own layer and the layers below it.
LAYERS = [
    {"cli", "__main__"},
    {"api", "__init__"},
    {"fixing"},
    {"explain"},
    {"checkup"},
    {"model"},
    {"config"},
    {"engine"},
    {"checks"},
    {"repair", "converters"},
    {"report"},
    {"odapi"},
    {"catalogue", "findings", "errors", "guard", "policy"},
    {"records", "_version"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _layer(module: str) -> str:
    return module.split(".")[1] if "." in module else "__init__"


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return [(line, name) for line, name in found if name.startswith("tfod_doctor.")]


def _modules() -> list[Path]:
    skip = PACKAGE / "testing"  # the dataset factory serves tests, benchmarks and the demo
    return [p for p in sorted(PACKAGE.rglob("*.py")) if skip not in p.parents]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path):
    relative = path.relative_to(PACKAGE).with_suffix("")
    own = relative.parts[0]
    assert own in RANK, f"{own} is in no layer: add it to LAYERS and to the README"
    upward = [
        f"line {line}: {name}" for line, name in _imports(path)
        if _layer(name) in RANK and RANK[_layer(name)] < RANK[own]
        and not (own == "cli" and _layer(name) == "testing")
    ]
    assert not upward, f"{relative} imports a higher layer: {upward}"
