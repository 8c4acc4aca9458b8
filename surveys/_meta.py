"""Survey metadata kept beside the coded data (value labels, missing declarations).

The layer never hard-codes answer codes: value labels and missing declarations
travel with the data in a :class:`SurveyMeta`, filled from the file (pyreadstat
metadata), from a synthetic generator, or by the user.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = ["SurveyMeta", "SurveyData"]


@dataclass
class SurveyMeta:
    """Value labels and missing declarations of a coded survey file.

    Attributes
    ----------
    value_labels : dict
        ``{variable: {code: label}}``; codes are floats (numeric variables).
    missing_ranges : dict
        ``{variable: [(lo, hi), ...]}``: SPSS user-missing declarations; a
        discrete missing value ``v`` is the range ``(v, v)``.
    missing_kinds : dict
        ``{variable: {code: kind}}`` with ``kind`` one of ``"nonresponse"``
        or ``"structural"``: classifications that are known without reading
        labels (for example Stata extended missings ``.a``..``.d`` recoded by
        :func:`surveys.read_survey`).  Takes precedence over labels.
    variable_labels : dict
        ``{variable: label}`` (question wording or description).
    """

    value_labels: dict = field(default_factory=dict)
    missing_ranges: dict = field(default_factory=dict)
    missing_kinds: dict = field(default_factory=dict)
    variable_labels: dict = field(default_factory=dict)

    def declared_missing(self, variable, values):
        """Boolean mask: which of ``values`` fall in a declared missing range of ``variable``."""
        import numpy as np

        values = np.asarray(values, dtype=np.float64)
        mask = np.zeros(values.shape, dtype=bool)
        for lo, hi in self.missing_ranges.get(variable, ()):
            mask |= (values >= lo) & (values <= hi)
        return mask

    def subset(self, variables):
        keep = set(variables)
        return SurveyMeta(
            value_labels={k: v for k, v in self.value_labels.items() if k in keep},
            missing_ranges={k: v for k, v in self.missing_ranges.items() if k in keep},
            missing_kinds={k: v for k, v in self.missing_kinds.items() if k in keep},
            variable_labels={k: v for k, v in self.variable_labels.items() if k in keep},
        )


@dataclass
class SurveyData:
    """A coded survey frame with its metadata and (optionally) a profile.

    Attributes
    ----------
    data : pandas.DataFrame
        Raw coded data, one row per respondent (missing codes kept).
    meta : SurveyMeta
        Labels and missing declarations.
    profile : surveys.Profile or None
        Survey family (WVS wave 7, WVS/EVS time series, ESS) supplying the
        default weight, design columns, country column and code rules.
    source : str or None
        File the data came from (used in error messages).
    """

    data: pd.DataFrame
    meta: SurveyMeta = field(default_factory=SurveyMeta)
    profile: object = None
    source: str | None = None

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        prof = getattr(self.profile, "name", None)
        return (
            f"SurveyData({len(self.data)} rows x {self.data.shape[1]} columns, "
            f"profile={prof!r}, source={self.source!r})"
        )
