"""Imports point one way: alignstat <- surveys, inference <- analyses."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("alignstat", "surveys", "inference", "analyses")
ALLOWED = {
    "alignstat": set(),
    "surveys": {"alignstat"},
    "inference": {"alignstat"},
    "analyses": {"alignstat", "surveys", "inference"},
}


def _imported_layers(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for n in names:
            top = n.split(".")[0]
            if top in LAYERS:
                yield top, node.lineno


@pytest.mark.parametrize("layer", LAYERS)
def test_imports_point_one_way(layer):
    files = sorted((ROOT / layer).rglob("*.py"))
    assert files, f"layer {layer} has no modules"
    bad = [
        f"{f.relative_to(ROOT)}:{line} imports {top}"
        for f in files
        for top, line in _imported_layers(f)
        if top != layer and top not in ALLOWED[layer]
    ]
    assert not bad, "\n".join(bad)


def test_core_import_is_light():
    code = (
        "import sys, alignstat, surveys, inference; "
        "heavy = [m for m in ('pymc', 'arviz', 'openai', 'transformers', 'torch', 'matplotlib') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing the core layers pulled in: {out.stdout.strip()}"
