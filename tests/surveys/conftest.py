"""Fixtures of the survey layer's tests: R's API samples from ../shared/survey-data."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]


def _survey_dir() -> Path:
    env = os.environ.get("ALIGNSTAT_SURVEY_DATA")
    return Path(env) if env else REPO.parent / "shared" / "survey-data"


@pytest.fixture(scope="session")
def api():
    """``{"srs": frame, "strat": frame, "clus1": frame}`` (R ``data(api)``)."""
    path = _survey_dir()
    out = {}
    for name in ("srs", "strat", "clus1"):
        f = path / f"api{name}.csv"
        if not f.is_file():
            pytest.fail(
                f"survey test data {f} is missing: the API samples must sit in ../shared/survey-data "
                "beside the repository (or set ALIGNSTAT_SURVEY_DATA to their folder)."
            )
        out[name] = pd.read_csv(f)
    return out
