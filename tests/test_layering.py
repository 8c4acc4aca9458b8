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


def _loaded_after(code_import: str, prefixes):
    code = (
        f"import sys; {code_import}; "
        f"print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in {tuple(prefixes)!r} "
        "or m.startswith('alignstat._kernels'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def test_analyses_import_does_not_load_extras():
    heavy = ("pymc", "arviz", "nutpie", "openai", "transformers", "torch", "matplotlib", "dask", "distributed")
    loaded = [m for m in _loaded_after("import analyses", heavy) if not m.startswith("alignstat")]
    assert loaded == [], f"`import analyses` pulled in optional dependencies: {sorted({m.split('.')[0] for m in loaded})}"


def test_core_import_does_not_load_kernels():
    loaded = [m for m in _loaded_after("import alignstat", ()) if m.startswith("alignstat._kernels")]
    assert loaded == [], f"`import alignstat` loaded numba kernel modules it does not need: {loaded}"


def test_missing_extra_names_it(monkeypatch):
    from alignstat._optional import MissingExtraError, require

    monkeypatch.setitem(sys.modules, "pymc", None)  # an import of pymc now fails as if it were absent
    with pytest.raises(MissingExtraError, match=r'pip install "alignstat\[bayes\]"'):
        require("pymc", purpose="the variance decomposition")
    # both names: an already-imported submodule would otherwise be found in sys.modules directly
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(MissingExtraError, match=r"alignstat\[plots\]"):
        require("matplotlib.pyplot")
