r"""Synthetic WVS-like and ESS-like surveys with known effects (a ground truth).

Every respondent ``i`` in country ``c`` and primary sampling unit ``p`` gets a
latent position

.. math::

    z_i = u_c + \sum_f \gamma_{f, \ell_f(i)} + v_p ,

(``u`` country effects, ``gamma`` the level effects of each socio-demographic
factor, ``v`` a PSU random effect that makes the clustering matter).  Answer
to question ``q`` is the ordinal category of

.. math::

    y^*_{iq} = \alpha_q + \lambda_q z_i + \delta_{cq} + \varepsilon_{iq},
    \qquad \varepsilon_{iq} \sim N(0, 1),

cut at thresholds ``tau_{q,k} = 1.5 * Phi^{-1}(k / K_q)``.  Item nonresponse
(don't know / refusal / no answer) is drawn with a probability that rises for
respondents with low political interest, and is coded with the survey's
missing codes (ESS: 7/8/9 padded to the variable's width, 66 for split-ballot
items not shown to the respondent; WVS: -1/-2, -4 for items not asked in a
country).  Weights and design columns (strata, PSUs) follow the published
conventions of each survey (see ``SURVEY_SPEC``-style notes in the module
functions).  The effects are returned in :attr:`SyntheticSurvey.truth`, so a
study run on synthetic data can be checked against what was put in.

The generator is vectorised: the full ESS scale (50,116 respondents,
47 questions) takes about 0.6 s and the WVS scale (97,220 x 144) about 2 s on
one core of the development machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from ._meta import SurveyData, SurveyMeta

__all__ = ["SyntheticSurvey", "make_ess", "make_wvs", "model_answers", "ESS_FACTORS"]

# ----------------------------------------------------------------------------
# ESS round-11-like vocabulary (variable names of the ESS integrated file; the
# 47 opinion items studied in the ESS seed paper, whose three split-ballot
# climate items are asked in three alternative forms testjc34..testjc42).
# ----------------------------------------------------------------------------
_ESS_COUNTRIES = [
    "AT", "BE", "BG", "CH", "CY", "CZ", "DE", "EE", "ES", "FI", "FR", "GB", "GR", "HR", "HU",
    "IE", "IL", "IS", "IT", "LT", "LV", "ME", "NL", "NO", "PL", "PT", "RS", "SE", "SI", "SK",
]

_S10 = "0-10"
_S5 = "1-5"
_S6 = "1-6"
_ESS_ITEMS = (
    [(v, _S10) for v in ("ppltrst", "pplfair", "pplhlp", "trstep", "trstun", "lrscale")]
    + [(v, _S5) for v in ("gincdif", "freehms", "hmsfmlsh", "hmsacld")]
    + [("eufth", _S10), ("lfnobed", _S5), ("ccnthum", _S5), ("ccrdprs", _S10), ("wrlmch", _S5)]
    + [("testjc34", _S10), ("testjc35", _S10), ("testjc36", _S10)]
    + [(v, _S5) for v in ("eqparlv", "freinsw", "fineqpy", "wsekpwr", "weasoff", "wexashr",
                          "wprtbym", "wbrgwrn")]
    + [(v, _S6) for v in ("ipcrtiva", "impricha", "ipeqopta", "ipshabta", "impsafea", "impdiffa",
                          "ipfrulea", "ipudrsta", "ipmodsta", "ipgdtime", "impfreea", "iphlppla",
                          "ipsucesa", "ipstrgva", "ipadvnta", "ipbhprpa", "iprspota", "iplylfra",
                          "impenva", "imprada", "impfuna")]
)
# split-ballot concept -> the three form variables (form A, B, C)
_ESS_SPLIT = {
    "testjc34": ("testjc34", "testjc37", "testjc40"),
    "testjc35": ("testjc35", "testjc38", "testjc41"),
    "testjc36": ("testjc36", "testjc39", "testjc42"),
}

_SCALE_CODES = {_S10: np.arange(0, 11), _S5: np.arange(1, 6), _S6: np.arange(1, 7)}
_SCALE_LABELS = {
    _S10: {0.0: "Extreme low end", 10.0: "Extreme high end"},
    _S5: {1.0: "Agree strongly", 2.0: "Agree", 3.0: "Neither agree nor disagree",
          4.0: "Disagree", 5.0: "Disagree strongly"},
    _S6: {1.0: "Very much like me", 2.0: "Like me", 3.0: "Somewhat like me",
          4.0: "A little like me", 5.0: "Not like me", 6.0: "Not like me at all"},
}


def _ess_missing_labels(width):
    """ESS missing codes of a variable whose valid codes have ``width`` digits."""
    rep = int("1" * width)
    return {
        6.0 * rep: "Not applicable",
        7.0 * rep: "Refusal",
        8.0 * rep: "Don't know",
        9.0 * rep: "No answer",
    }


# Factor definitions: (raw variable, readable column, [(code, label, probability)], missing width)
ESS_FACTORS = {
    "gender": ("gndr", [(1, "Male", 0.49), (2, "Female", 0.51)], 1),
    "ethnic_majority": ("blgetmn", [(1, "Yes", 0.07), (2, "No", 0.93)], 1),
    "education": ("eisced", [
        (1, "ES-ISCED I , less than lower secondary", 0.07),
        (2, "ES-ISCED II, lower secondary", 0.15),
        (3, "ES-ISCED IIIb, lower tier upper secondary", 0.18),
        (4, "ES-ISCED IIIa, upper tier upper secondary", 0.20),
        (5, "ES-ISCED IV, advanced vocational, sub-degree", 0.13),
        (6, "ES-ISCED V1, lower tertiary education, BA level", 0.13),
        (7, "ES-ISCED V2, higher tertiary education, >= MA level", 0.13),
        (55, "Other", 0.01)], 2),
    "income_decile": ("hinctnta", [(k, f"Decile {k}", 0.1)
                                   for k in range(1, 11)], 2),
    "main_activity": ("mnactic", [
        (1, "Paid work", 0.50), (2, "Education", 0.08), (3, "Unemployed, looking for job", 0.04),
        (4, "Unemployed, not looking for job", 0.02), (5, "Permanently sick or disabled", 0.03),
        (6, "Retired", 0.22), (7, "Community or military service", 0.005),
        (8, "Housework, looking after children, others", 0.08), (9, "Other", 0.025)], 2),
    "religion": ("rlgdnm", [
        (1, "Roman Catholic", 0.45), (2, "Protestant", 0.18), (3, "Eastern Orthodox", 0.15),
        (4, "Other Christian denomination", 0.05), (5, "Jewish", 0.03), (6, "Islam", 0.08),
        (7, "Eastern religions", 0.03), (8, "Other non-Christian religions", 0.03)], 2),
    "religiosity": ("rlgdgr", [(k, "Not at all religious" if k == 0 else
                                ("Very religious" if k == 10 else str(k)), 1 / 11)
                               for k in range(0, 11)], 2),
    "domicile": ("domicil", [
        (1, "A big city", 0.2), (2, "Suburbs or outskirts of big city", 0.12),
        (3, "Town or small city", 0.3), (4, "Country village", 0.3),
        (5, "Farm or home in countryside", 0.08)], 1),
    "political_interest": ("polintr", [
        (1, "Very interested", 0.12), (2, "Quite interested", 0.35),
        (3, "Hardly interested", 0.33), (4, "Not at all interested", 0.20)], 1),
}
_GENERATIONS = [("Silent", 1930, 1945, 0.10), ("Baby Boomers", 1946, 1964, 0.28),
                ("Generation X", 1965, 1980, 0.27), ("Millennials", 1981, 1996, 0.23),
                ("Generation Z", 1997, 2008, 0.12)]
_NET_BINS = [("Under 1 hour", 0, 59, 0.25), ("1 to 2 hours", 60, 119, 0.22),
             ("2 to 4 hours", 120, 239, 0.26), ("4 to 6 hours", 240, 359, 0.15),
             ("6 hours or more", 360, 1200, 0.12)]
_FACTOR_ORDER = ["gender", "ethnic_majority", "generation", "education", "income_decile",
                 "main_activity", "religion", "religiosity", "domicile", "political_interest",
                 "internet_time"]
_READABLE = {
    "ethnic_majority": {1: "minority", 2: "majority"},
    "income_decile": {k: str(k) for k in range(1, 11)},
    "religiosity": {k: str(k) for k in range(0, 11)},
}

_EFFECT_DEFAULTS = {
    "country_sd": 0.45,
    "factor_sd": 0.15,
    "psu_sd": 0.25,
    "country_question_sd": 0.25,
    "nonresponse": 0.03,
    "factor_effects": None,
    "not_asked": 0.0,
    "clustered_share": None,
}


@dataclass
class SyntheticSurvey:
    """A generated survey: raw coded data, metadata and the known truth.

    Attributes
    ----------
    data : pandas.DataFrame
        Raw coded microdata as the survey ships it (missing codes, weights,
        design columns, factor variables under the survey's own names).
    meta : SurveyMeta
        Value labels and user-missing declarations of every coded variable.
    questions : list of str
        Question (concept) names; for ESS split-ballot items, the concept is
        named after its first form variable (see :attr:`indicators`).
    positions : dict
        ``{question: array of option positions}`` (the valid codes, ordinal).
    truth : dict of pandas.DataFrame
        Known effects on the latent scale: ``"questions"`` (``question``,
        ``intercept``, ``loading``, ``n_options``), ``"country"``
        (``country``, ``effect``), ``"factors"`` (``factor``, ``level``,
        ``effect``), ``"country_question"`` (``country``, ``question``,
        ``effect``), ``"settings"`` (the effect sizes used).
    kind : str
        ``"ess"`` or ``"wvs"``.
    indicators : dict
        ``{concept: {variable: weight}}``: multi-indicator concepts (the ESS
        split-ballot items: each respondent answers one of three forms).
    weight : str
        Name of the recommended analysis weight column in :attr:`data`.
    country : str
        Name of the country column in :attr:`data`.
    strata, psu : str
        Design columns in :attr:`data`.
    """

    data: pd.DataFrame
    meta: SurveyMeta
    questions: list
    positions: dict
    truth: dict
    kind: str
    indicators: dict = field(default_factory=dict)
    weight: str = "anweight"
    country: str = "cntry"
    strata: str = "stratum"
    psu: str = "psu"
    _clean: pd.DataFrame | None = field(default=None, repr=False)
    _latent: dict = field(default_factory=dict, repr=False)

    # -- profile-like attributes so that the survey object can be passed to
    #    surveys.distributions / surveys.means directly
    @property
    def profile(self):
        """The survey profile of the generated data (``ess`` or ``wvs7``)."""
        from .profiles import get_profile

        return get_profile("ess" if self.kind == "ess" else "wvs7")

    def survey(self) -> SurveyData:
        """Return the raw data as a :class:`surveys.SurveyData` (data, metadata, profile)."""
        return SurveyData(self.data, self.meta, self.profile, source=f"synthetic {self.kind}")

    def responses(self) -> pd.DataFrame:
        """Clean respondent frame that studies consume.

        Returns
        -------
        pandas.DataFrame
            One float column per question in :attr:`questions` holding the
            ordinal position (NaN: no valid answer); ``country``; one column
            per socio-demographic factor with readable string values (NaN where
            missing); ``weight`` (the survey's recommended analysis weight).
        """
        return self._clean.copy()

    def to_sav(self, path, *, compress=False):
        """Write :attr:`data` to an SPSS ``.sav`` (``.zsav`` if ``compress``) with labels and user-missing ranges."""
        import pyreadstat

        df = self.data
        ranges = {
            var: [{"lo": lo, "hi": hi} for lo, hi in rr] for var, rr in self.meta.missing_ranges.items()
        }
        labels = {var: dict(v) for var, v in self.meta.value_labels.items() if var in df.columns}
        pyreadstat.write_sav(
            df, str(path), variable_value_labels=labels, missing_ranges=ranges,
            column_labels={k: v for k, v in self.meta.variable_labels.items() if k in df.columns},
            compress=compress,
        )

    def to_dta(self, path):
        """Write :attr:`data` to a Stata ``.dta``; missing codes become extended missings.

        Codes are mapped by meaning (the ESS Stata convention): ``.a`` not
        applicable, ``.b`` refusal, ``.c`` don't know, ``.d`` no answer, ``.e``
        not asked in the country (WVS -4), ``.f`` other missing (WVS -5).
        """
        import pyreadstat

        df = self.data.copy()
        missing_user_values = {}
        labels = {}
        for var in df.columns:
            miss = self.meta.missing_ranges.get(var)
            vl = self.meta.value_labels.get(var, {})
            if not miss:
                if vl:
                    labels[var] = dict(vl)
                continue
            col = df[var].to_numpy(dtype=np.float64)
            out = col.astype(object)
            used = set()
            for code, label in vl.items():
                letter = _letter_for_label(label)
                if letter is None:
                    continue
                hit = col == code
                if hit.any():
                    out[hit] = letter
                    used.add(letter)
            df[var] = pd.Series(out, index=df.index, dtype=object)
            if used:
                missing_user_values[var] = sorted(used)
            labels[var] = {c: lab for c, lab in vl.items() if _letter_for_label(lab) is None}
        pyreadstat.write_dta(
            df, str(path), variable_value_labels=labels, missing_user_values=missing_user_values,
            column_labels={k: v[:80] for k, v in self.meta.variable_labels.items() if k in df.columns},
        )


_LETTERS = (
    ("not applicable", "a"), ("refusal", "b"), ("don't know", "c"), ("no answer", "d"),
    ("not asked", "e"), ("missing", "f"),
)


def _letter_for_label(label):
    low = str(label).lower()
    for key, letter in _LETTERS:
        if low.startswith(key):
            return letter
    return None


def _effects(kwargs):
    unknown = set(kwargs) - set(_EFFECT_DEFAULTS)
    if unknown:
        raise TypeError(
            f"unknown effect setting(s) {sorted(unknown)}; allowed are {sorted(_EFFECT_DEFAULTS)}."
        )
    out = dict(_EFFECT_DEFAULTS)
    out.update(kwargs)
    for key in ("country_sd", "factor_sd", "psu_sd", "country_question_sd"):
        if not (np.isfinite(out[key]) and out[key] >= 0):
            raise ValueError(f"`{key}` must be a finite non-negative number, got {out[key]!r}.")
    cs = out["clustered_share"]
    if cs is not None and not (0 <= cs <= 1):
        raise ValueError(f"`clustered_share` must be in [0, 1], got {cs!r}.")
    for key in ("nonresponse", "not_asked"):
        if not (0 <= out[key] < 1):
            raise ValueError(f"`{key}` must be in [0, 1), got {out[key]!r}.")
    return out


def _check_sizes(n_respondents, n_countries, n_questions):
    for name, val, lo in (("n_respondents", n_respondents, 1), ("n_countries", n_countries, 1),
                          ("n_questions", n_questions, 1)):
        if not isinstance(val, (int, np.integer)) or val < lo:
            raise ValueError(f"`{name}` must be a positive integer, got {val!r}.")
    if n_respondents < 40 * n_countries:
        raise ValueError(
            f"`n_respondents` ({n_respondents}) must be at least 40 per country "
            f"({40 * n_countries} for {n_countries} countries)."
        )


def _draw_levels(rng, country, probs_by_country):
    """Categorical draw per respondent with country-specific probabilities (vectorised)."""
    cum = np.cumsum(probs_by_country, axis=1)
    cum[:, -1] = 1.0
    u = rng.random(country.shape[0])
    return (u[:, None] >= cum[country]).sum(axis=1)


def _country_probs(rng, base, n_countries, concentration=40.0):
    base = np.asarray(base, dtype=np.float64)
    base = base / base.sum()
    return rng.dirichlet(base * concentration + 0.05, size=n_countries)


def _country_sizes(rng, n, n_countries):
    raw = rng.uniform(0.5, 1.5, n_countries)
    sizes = np.floor(raw / raw.sum() * n).astype(np.int64)
    sizes = np.maximum(sizes, 40)
    diff = n - sizes.sum()
    # distribute the remainder (positive or negative) over the largest countries
    order = np.argsort(-sizes)
    i = 0
    while diff != 0:
        step = 1 if diff > 0 else -1
        k = order[i % n_countries]
        if sizes[k] + step >= 40:
            sizes[k] += step
            diff -= step
        i += 1
    return sizes


def _design(rng, sizes, *, clustered_share=0.6, mean_cluster=8, strata_range=(4, 40)):
    """Strata and PSUs within countries; every stratum gets at least two PSUs.

    Strata have unequal numbers of PSUs (Dirichlet shares); stratum codes are
    ``1000 * (country + 1) + s`` (unique across countries) and PSU codes are
    unique integers.
    """
    n = int(sizes.sum())
    stratum = np.empty(n, dtype=np.int64)
    psu = np.empty(n, dtype=np.int64)
    start = 0
    next_psu = 1
    for c, size in enumerate(sizes):
        size = int(size)
        m = mean_cluster if rng.random() < clustered_share else 1
        n_psu = max(4, size // m)
        psu_c = rng.permutation(np.arange(size) % n_psu)
        n_str = int(rng.integers(strata_range[0], strata_range[1] + 1))
        n_str = max(1, min(n_str, n_psu // 2))
        shares = rng.dirichlet(np.full(n_str, 2.0))
        extra = rng.choice(n_str, size=n_psu - 2 * n_str, p=shares)
        str_of_psu = rng.permutation(np.concatenate([np.repeat(np.arange(n_str), 2), extra]))
        stratum[start:start + size] = (c + 1) * 1000 + str_of_psu[psu_c] + 1
        psu[start:start + size] = next_psu + psu_c
        next_psu += n_psu
        start += size
    return stratum, psu


def _cutpoints(k):
    return 1.5 * ndtri(np.arange(1, k) / k)


def _ordinal(ystar, k):
    """Category index 0..k-1 of latent values (row-wise equal cutpoints)."""
    return np.searchsorted(_cutpoints(k), ystar, side="right")


def _level_effects(rng, name, n_levels, sd, overrides):
    if overrides and name in overrides:
        eff = np.asarray(overrides[name], dtype=np.float64)
        if eff.shape != (n_levels,):
            raise ValueError(
                f"`factor_effects[{name!r}]` must hold {n_levels} level effects, got shape {eff.shape}."
            )
        return eff
    if name == "education" and n_levels == 8:  # ES-ISCED I..V2, then "Other" (no trend)
        eff = np.append(np.linspace(-1, 1, 7) * 1.5 * sd, 0.0)
    elif name in ("education", "political_interest", "income_decile"):
        eff = np.linspace(-1, 1, n_levels) * 1.5 * sd
        if name == "political_interest":
            eff = eff[::-1]  # code 1 = very interested
    elif name == "religiosity":
        eff = -np.linspace(-1, 1, n_levels) * 1.5 * sd
    elif name == "religion":
        eff = rng.normal(0, 2.0 * sd, n_levels)
    else:
        eff = rng.normal(0, sd, n_levels)
    return eff - eff.mean()


def _nonresponse_codes(rng, mask, codes):
    """Replace entries where ``mask`` with DK (70 %), refusal (10 %), no answer (20 %)."""
    u = rng.random(int(mask.sum()))
    dk, ref, na = codes
    return np.where(u < 0.7, dk, np.where(u < 0.8, ref, na)).astype(np.float64)


def _ess_factor_spec(fname):
    """Return (base shares, readable level names) of an ESS-like factor."""
    if fname == "generation":
        return [g[3] for g in _GENERATIONS], [g[0] for g in _GENERATIONS]
    if fname == "internet_time":
        return [b[3] for b in _NET_BINS], [b[0] for b in _NET_BINS]
    spec = ESS_FACTORS[fname][1]
    return [p for _, _, p in spec], [_READABLE.get(fname, {}).get(code, lab) for code, lab, _ in spec]


def _wvs_factor_spec(fname):
    """Return (base shares, readable level names) of a WVS-like factor."""
    if fname == "generation":
        return [g[3] for g in _GENERATIONS], [g[0] for g in _GENERATIONS]
    spec = _WVS_FACTORS[fname][1]
    return [p for _, _, p in spec], [_WVS_READABLE.get(fname, {}).get(code, lab) for code, lab, _ in spec]


def _draw_factors(rng, country, n_countries, order, spec_of, eff, concentration=40.0):
    """Draw each factor's level per respondent (country-specific shares) and its latent effects."""
    overrides = eff["factor_effects"]
    if overrides is not None:
        bad = set(overrides) - set(order)
        if bad:
            raise ValueError(f"`factor_effects` names unknown factor(s) {sorted(bad)}; factors are {order}.")
    levels, level_names, factor_eff = {}, {}, {}  # factor -> level index per respondent, names, effects
    for fname in order:
        base, names = spec_of(fname)
        probs = _country_probs(rng, base, n_countries, concentration=concentration)
        levels[fname] = _draw_levels(rng, country, probs)
        level_names[fname] = names
        factor_eff[fname] = _level_effects(rng, fname, len(names), eff["factor_sd"], overrides)
    return levels, level_names, factor_eff


def _latent_index(rng, eff, country, psu, n_countries, n_questions, levels, factor_eff):
    """Country, PSU and factor effects on the latent scale, plus the question parameters."""
    u_c = rng.normal(0, eff["country_sd"], n_countries)
    u_c -= u_c.mean()
    v_p = rng.normal(0, eff["psu_sd"], int(psu.max()) + 1)
    z = u_c[country] + v_p[psu]
    for fname, effect in factor_eff.items():
        z = z + effect[levels[fname]]
    alpha = rng.normal(0, 0.5, n_questions)
    loading = rng.choice([-1.0, 1.0], n_questions) * rng.uniform(0.6, 1.4, n_questions)
    delta = rng.normal(0, eff["country_question_sd"], (n_countries, n_questions))
    return u_c, v_p, z, alpha, loading, delta


def make_ess(n_respondents=50_116, n_countries=30, n_questions=47, *, rng=0, **effects):
    """Generate an ESS-round-11-like survey with known country and factor effects.

    Parameters
    ----------
    n_respondents : int, default 50,116
        Respondents in all countries together (ESS round 11 size).
    n_countries : int, default 30
        Countries (the ESS round-11 country codes first, then ``X31``...).
    n_questions : int, default 47
        Opinion questions (concepts).  The first 47 are the items of the ESS
        seed paper under their ESS names; three of them are split-ballot
        concepts asked in three forms (``testjc34``..``testjc42``); further
        questions are named ``q048``....
    rng : int or numpy.random.Generator, default 0
        Seed or generator; the same seed gives the same survey.
    **effects
        Effect sizes on the latent scale: ``country_sd`` (0.45),
        ``factor_sd`` (0.15), ``psu_sd`` (0.25), ``country_question_sd``
        (0.25), ``nonresponse`` (base item-nonresponse rate, 0.03),
        ``factor_effects`` (``{factor: level effects}`` to fix effects, e.g.
        ``{"gender": [0.2, -0.2]}``; levels in code order; ``generation`` and
        ``internet_time`` in the order of their readable levels),
        ``clustered_share`` (share of countries whose PSUs are clusters of
        about eight respondents rather than single respondents; 0.6).

    Returns
    -------
    SyntheticSurvey
        Raw columns: ``idno``, ``cntry``, ``essround``, ``dweight``,
        ``pspwght``, ``pweight``, ``anweight``, ``stratum``, ``psu``,
        ``gndr``, ``yrbrn``, ``agea``, ``blgetmn``, ``eisced``, ``hinctnta``,
        ``mnactic``, ``rlgblg``, ``rlgdnm``, ``rlgdgr``, ``domicil``,
        ``polintr``, ``netustm``, ``ballot`` (split-ballot form 1-3) and the
        question variables.

    Notes
    -----
    Weights follow the ESS construction: ``dweight`` (design weight, mean 1
    per country, constant in about a third of the countries), ``pspwght``
    (``dweight`` times a post-stratification factor by gender x generation),
    ``pweight`` (population size weight, mean 1 over the pooled sample) and
    ``anweight = pspwght * pweight``.  Strata are unique across countries and
    hold at least two PSUs each; in about 60 % of the countries PSUs are
    clusters of about eight respondents, elsewhere one respondent each.

    Examples
    --------
    >>> from surveys.synthetic import make_ess
    >>> s = make_ess(2_000, 5, 10, rng=1)
    >>> s.responses().shape[0]
    2000
    """
    _check_sizes(n_respondents, n_countries, n_questions)
    eff = _effects(effects)
    rng = np.random.default_rng(rng)
    n, C = int(n_respondents), int(n_countries)

    countries = list(_ESS_COUNTRIES[:C]) + [f"X{k:02d}" for k in range(len(_ESS_COUNTRIES) + 1, C + 1)]
    sizes = _country_sizes(rng, n, C)
    country = np.repeat(np.arange(C), sizes)
    stratum, psu = _design(rng, sizes, clustered_share=0.6 if eff["clustered_share"] is None
                           else eff["clustered_share"])

    # -- questions ----------------------------------------------------------
    items = list(_ESS_ITEMS[:n_questions])
    scales = [_S10, _S5, _S6]
    for j in range(len(items), n_questions):
        items.append((f"q{j + 1:03d}", scales[j % 3]))
    qnames = [q for q, _ in items]
    Q = len(qnames)
    n_opts = np.array([len(_SCALE_CODES[s]) for _, s in items])

    # -- factors --------------------------------------------------------------
    levels, level_names, factor_eff = _draw_factors(rng, country, C, _FACTOR_ORDER, _ess_factor_spec, eff)
    u_c, v_p, z, alpha, loading, delta = _latent_index(rng, eff, country, psu, C, Q, levels, factor_eff)

    ystar = alpha[None, :] + z[:, None] * loading[None, :] + delta[country] + rng.standard_normal((n, Q))
    positions = {}
    answers = np.empty((n, Q), dtype=np.float64)
    for j, (q, s) in enumerate(items):
        codes = _SCALE_CODES[s]
        answers[:, j] = codes[_ordinal(ystar[:, j], len(codes))]
        positions[q] = codes.astype(np.float64)

    # item nonresponse: more likely with low political interest and older age
    low_int = (levels["political_interest"] >= 2).astype(np.float64)
    old = (levels["generation"] == 0).astype(np.float64)
    logit0 = math.log(eff["nonresponse"] / (1 - eff["nonresponse"])) if eff["nonresponse"] > 0 else -np.inf
    eta_q = rng.normal(0, 0.5, Q)
    logit = logit0 + eta_q[None, :] + (0.5 * low_int + 0.3 * old)[:, None]
    nr = rng.random((n, Q)) < (1.0 / (1.0 + np.exp(-logit)))
    clean_answers = np.where(nr, np.nan, answers)

    # -- raw coded data ------------------------------------------------------
    meta = SurveyMeta()
    cols = {}
    cols["idno"] = np.arange(1, n + 1, dtype=np.float64)
    cols["cntry"] = np.asarray(countries, dtype=object)[country]
    cols["essround"] = np.full(n, 11.0)

    # weights
    dweight = np.ones(n)
    for c in range(C):
        sel = country == c
        if rng.random() < 2 / 3:
            w_psu = rng.lognormal(0, 0.3, len(v_p))
            dw = w_psu[psu[sel]]
            dweight[sel] = dw / dw.mean()
    cell = country * 10 + levels["gender"] * 5 + levels["generation"]
    ps_factor = rng.lognormal(0, 0.15, C * 10 + 10)[cell]
    pspwght = dweight * ps_factor
    for c in range(C):
        sel = country == c
        pspwght[sel] /= pspwght[sel].mean()
    pop = rng.uniform(0.3e6, 70e6, C)
    pweight_c = (pop / sizes) / (pop.sum() / n)
    pweight = pweight_c[country]
    cols["dweight"] = dweight
    cols["pspwght"] = pspwght
    cols["pweight"] = pweight
    cols["anweight"] = pspwght * pweight
    cols["stratum"] = stratum.astype(np.float64)
    cols["psu"] = psu.astype(np.float64)

    def coded_factor(fname, missing_rate, width, nr_kinds=(7, 8, 9)):
        var, spec, _w = ESS_FACTORS[fname]
        codes = np.array([c for c, _, _ in spec], dtype=np.float64)
        vals = codes[levels[fname]]
        miss = rng.random(n) < missing_rate
        rep = int("1" * width)
        mc = [k * rep for k in nr_kinds]
        vals[miss] = _nonresponse_codes(rng, miss, (mc[1], mc[0], mc[2]))
        lab = {float(c): text for c, text, _ in spec}
        lab.update(_ess_missing_labels(width))
        meta.value_labels[var] = lab
        meta.missing_ranges[var] = [(6.0 * rep, 9.0 * rep)] if width > 1 else [(7.0, 9.0)]
        return var, vals, miss

    fac_missing = {}
    for fname, rate in (("gender", 0.001), ("ethnic_majority", 0.012), ("education", 0.005),
                        ("income_decile", 0.2), ("main_activity", 0.006), ("religiosity", 0.008),
                        ("domicile", 0.002), ("political_interest", 0.002)):
        var, vals, miss = coded_factor(fname, rate, ESS_FACTORS[fname][2])
        cols[var] = vals
        fac_missing[fname] = miss
    if "gndr" in meta.missing_ranges:
        meta.missing_ranges["gndr"] = [(9.0, 9.0)]
        gm = fac_missing["gender"]
        cols["gndr"][gm] = 9.0

    # religion: belonging (rlgblg) and denomination (rlgdnm, 66 = not applicable)
    belong_p = np.clip(0.65 + 0.08 * rng.standard_normal(C), 0.2, 0.95)[country]
    belongs = rng.random(n) < belong_p
    var, vals, miss = coded_factor("religion", 0.01, 2)
    vals[~belongs] = 66.0
    cols["rlgblg"] = np.where(belongs, 1.0, 2.0)
    meta.value_labels["rlgblg"] = {1.0: "Yes", 2.0: "No", **_ess_missing_labels(1)}
    meta.missing_ranges["rlgblg"] = [(7.0, 9.0)]
    cols["rlgdnm"] = vals
    fac_missing["religion"] = miss | ~belongs

    # generation from year of birth
    g = levels["generation"]
    lo = np.array([x[1] for x in _GENERATIONS])[g]
    hi = np.array([x[2] for x in _GENERATIONS])[g]
    yrbrn = (lo + np.floor(rng.random(n) * (hi - lo + 1))).astype(np.float64)
    ymiss = rng.random(n) < 0.003
    yrbrn[ymiss] = _nonresponse_codes(rng, ymiss, (8888.0, 7777.0, 9999.0))
    cols["yrbrn"] = yrbrn
    cols["agea"] = np.where(ymiss, 999.0, 2023.0 - yrbrn)
    meta.value_labels["yrbrn"] = _ess_missing_labels(4)
    meta.missing_ranges["yrbrn"] = [(6666.0, 9999.0)]
    meta.value_labels["agea"] = {999.0: "Not available"}
    meta.missing_ranges["agea"] = [(999.0, 999.0)]
    fac_missing["generation"] = ymiss

    # internet use minutes per day; 6666 = not applicable (never uses the internet)
    b = levels["internet_time"]
    lo = np.array([x[1] for x in _NET_BINS])[b]
    hi = np.array([x[2] for x in _NET_BINS])[b]
    net = (lo + np.floor(rng.random(n) * (hi - lo + 1))).astype(np.float64)
    never = rng.random(n) < 0.08
    nmiss = (rng.random(n) < 0.03) & ~never
    net[never] = 6666.0
    net[nmiss] = _nonresponse_codes(rng, nmiss, (8888.0, 7777.0, 9999.0))
    cols["netustm"] = net
    meta.value_labels["netustm"] = _ess_missing_labels(4)
    meta.missing_ranges["netustm"] = [(6666.0, 9999.0)]
    fac_missing["internet_time"] = never | nmiss

    # questions (split-ballot concepts spread over three forms)
    ballot = rng.integers(1, 4, n)
    cols["ballot"] = ballot.astype(np.float64)
    meta.value_labels["ballot"] = {1.0: "Form A", 2.0: "Form B", 3.0: "Form C"}
    indicators = {}
    for j, (q, s) in enumerate(items):
        width = 2 if s == _S10 else 1
        rep = int("1" * width)
        vals = answers[:, j].copy()
        if nr[:, j].any():
            vals[nr[:, j]] = _nonresponse_codes(rng, nr[:, j], (8.0 * rep, 7.0 * rep, 9.0 * rep))
        lab = {k: v for k, v in _ess_missing_labels(width).items() if k not in set(_SCALE_CODES[s])}
        lab.update(_SCALE_LABELS[s])
        if q in _ESS_SPLIT:
            forms = _ESS_SPLIT[q]
            indicators[q] = {v: 1.0 / 3.0 for v in forms}
            for f, v in enumerate(forms, start=1):
                fv = np.where(ballot == f, vals, 6.0 * rep)
                cols[v] = fv
                meta.value_labels[v] = dict(lab)
                meta.missing_ranges[v] = [(6.0 * rep, 9.0 * rep)]
        else:
            cols[q] = vals
            meta.value_labels[q] = lab
            meta.missing_ranges[q] = [(6.0 * rep, 9.0 * rep)] if width > 1 else [(7.0, 9.0)]

    data = pd.DataFrame(cols)
    data["cntry"] = data["cntry"].astype(str)
    meta.variable_labels.update({"cntry": "Country", "anweight": "Analysis weight",
                                 "pspwght": "Post-stratification weight including design weight",
                                 "pweight": "Population size weight (must be combined with dweight or pspwght)",
                                 "dweight": "Design weight", "stratum": "Sampling stratum",
                                 "psu": "Primary sampling unit"})

    # -- clean respondent frame ------------------------------------------------
    clean = {q: clean_answers[:, j] for j, q in enumerate(qnames)}
    clean["country"] = np.asarray(countries, dtype=object)[country]
    for fname in _FACTOR_ORDER:
        names = np.asarray(level_names[fname], dtype=object)
        vals = names[levels[fname]].copy()
        vals[fac_missing.get(fname, np.zeros(n, dtype=bool))] = np.nan
        clean[fname] = vals
    clean["weight"] = cols["anweight"]
    clean_df = pd.DataFrame(clean)

    truth = _truth(qnames, alpha, loading, n_opts, countries, u_c, factor_eff, level_names, delta, eff)
    return SyntheticSurvey(
        data=data, meta=meta, questions=qnames, positions=positions, truth=truth, kind="ess",
        indicators=indicators, weight="anweight", country="cntry", strata="stratum", psu="psu",
        _clean=clean_df,
        _latent={"alpha": alpha, "loading": loading, "delta": delta, "u": u_c,
                 "factor_effects": factor_eff, "level_names": level_names, "countries": countries,
                 "n_options": n_opts, "codes": [positions[q] for q in qnames]},
    )


def _truth(qnames, alpha, loading, n_opts, countries, u_c, factor_eff, level_names, delta, eff):
    rows = [
        {"factor": f, "level": lvl, "effect": float(e)}
        for f in _FACTOR_ORDER if f in factor_eff
        for lvl, e in zip(level_names[f], factor_eff[f])
    ]
    C, Q = delta.shape
    return {
        "questions": pd.DataFrame({"question": qnames, "intercept": alpha, "loading": loading,
                                   "n_options": n_opts}),
        "country": pd.DataFrame({"country": countries, "effect": u_c}),
        "factors": pd.DataFrame(rows, columns=["factor", "level", "effect"]),
        "country_question": pd.DataFrame({
            "country": np.repeat(np.asarray(countries, dtype=object), Q),
            "question": np.tile(np.asarray(qnames, dtype=object), C),
            "effect": delta.ravel(),
        }),
        "settings": pd.DataFrame({"setting": [k for k in eff if k != "factor_effects"],
                                  "value": [np.nan if eff[k] is None else float(eff[k]) for k in eff if k != "factor_effects"]}),
    }


# ----------------------------------------------------------------------------
# WVS wave 7
# ----------------------------------------------------------------------------
_WVS_COUNTRIES = [
    ("AND", 20), ("ARG", 32), ("AUS", 36), ("BGD", 50), ("ARM", 51), ("BOL", 68), ("BRA", 76),
    ("MMR", 104), ("CAN", 124), ("CHL", 152), ("CHN", 156), ("TWN", 158), ("COL", 170),
    ("CYP", 196), ("CZE", 203), ("ECU", 218), ("ETH", 231), ("DEU", 276), ("GRC", 300),
    ("GTM", 320), ("HKG", 344), ("IDN", 360), ("IRN", 364), ("IRQ", 368), ("JPN", 392),
    ("KAZ", 398), ("JOR", 400), ("KEN", 404), ("KOR", 410), ("KGZ", 417), ("LBN", 422),
    ("LBY", 434), ("MAC", 446), ("MYS", 458), ("MDV", 462), ("MEX", 484), ("MNG", 496),
    ("MAR", 504), ("NLD", 528), ("NZL", 554), ("NIC", 558), ("NGA", 566), ("PAK", 586),
    ("PER", 604), ("PHL", 608), ("PRI", 630), ("ROU", 642), ("RUS", 643), ("SRB", 688),
    ("SGP", 702), ("SVK", 703), ("VNM", 704), ("ZWE", 716), ("TJK", 762), ("THA", 764),
    ("TUN", 788), ("TUR", 792), ("UKR", 804), ("EGY", 818), ("GBR", 826), ("USA", 840),
    ("URY", 858), ("UZB", 860), ("VEN", 862), ("NIR", 909), ("IND", 356),
][:66]
_WVS_MISSING = {-1.0: "Don't know", -2.0: "No answer", -3.0: "Not applicable",
                -4.0: "Not asked in survey", -5.0: "Missing; Not available"}
_WVS_OPTION_CYCLE = [4, 4, 10, 5, 3, 2, 10, 4, 5, 3]
_WVS_FACTORS = {
    # readable factor: (variable, [(code, label, prob)])
    "gender": ("Q260", [(1, "Male", 0.48), (2, "Female", 0.52)]),
    "education": ("Q275", [(k, lab, p) for k, lab, p in (
        (0, "Early childhood education (ISCED 0) / no education", 0.05),
        (1, "Primary education (ISCED 1)", 0.15), (2, "Lower secondary education (ISCED 2)", 0.17),
        (3, "Upper secondary education (ISCED 3)", 0.27),
        (4, "Post-secondary non-tertiary education (ISCED 4)", 0.07),
        (5, "Short-cycle tertiary education (ISCED 5)", 0.07),
        (6, "Bachelor or equivalent (ISCED 6)", 0.15), (7, "Master or equivalent (ISCED 7)", 0.06),
        (8, "Doctoral or equivalent (ISCED 8)", 0.01))]),
    "income_decile": ("Q288", [(k, f"step {k}", 0.1) for k in range(1, 11)]),
    "religion": ("Q289", [
        (0, "Do not belong to a denomination", 0.25), (1, "Roman Catholic", 0.2),
        (2, "Protestant", 0.1), (3, "Orthodox (Russian/Greek/etc.)", 0.08), (4, "Jew", 0.01),
        (5, "Muslim", 0.2), (6, "Hindu", 0.04), (7, "Buddhist", 0.06),
        (8, "Other Christian (Evangelical/Pentecostal/etc.)", 0.04), (9, "Other", 0.02)]),
    "political_interest": ("Q199", [(1, "Very interested", 0.12), (2, "Somewhat interested", 0.33),
                                    (3, "Not very interested", 0.3), (4, "Not at all interested", 0.25)]),
    "domicile": ("H_URBRURAL", [(1, "Urban", 0.6), (2, "Rural", 0.4)]),
}
_WVS_FACTOR_ORDER = ["gender", "generation", "education", "income_decile", "religion",
                     "political_interest", "domicile"]
_WVS_READABLE = {"income_decile": {k: str(k) for k in range(1, 11)}}


def make_wvs(n_respondents=97_220, n_countries=66, n_questions=144, *, rng=0, bank=None, **effects):
    """Generate a WVS-wave-7-like survey with known country and factor effects.

    Parameters
    ----------
    n_respondents : int, default 97,220
        Respondents (WVS wave 7, release 6.0).
    n_countries : int, default 66
        Countries (ISO 3166 alpha-3 / numeric codes in ``B_COUNTRY_ALPHA`` /
        ``B_COUNTRY``).
    n_questions : int, default 144
        Opinion questions ``Q1``.. (options cycle through 4, 4, 10, 5, 3, 2,
        10, 4, 5, 3), unless ``bank`` is given.
    rng : int or numpy.random.Generator, default 0
    bank : alignstat.QuestionBank, optional
        Use this bank's ids as variable names and its option keys (numeric)
        as valid codes; ``n_questions`` is then ignored.
    **effects
        As in :func:`make_ess`; ``not_asked`` (default 0) is the share of
        country x question cells coded -4 "not asked in survey".

    Returns
    -------
    SyntheticSurvey
        Raw columns ``A_WAVE``, ``A_YEAR``, ``B_COUNTRY``, ``B_COUNTRY_ALPHA``,
        ``D_INTERVIEW``, ``W_WEIGHT`` (within-country weight, mean 1),
        ``S018`` (equilibrated weight: ``W_WEIGHT * 1000 / n_c``, so that
        every country sums to 1000), ``I_PSU``, ``H_URBRURAL``, ``Q199``, ``Q260``, ``Q261``
        (year of birth), ``Q262`` (age), ``Q275``, ``Q288``, ``Q289`` and the
        questions; missing codes -1 don't know, -2 no answer, -3 not
        applicable, -4 not asked, -5 missing.  The clean frame's ``weight`` is
        ``S018`` (the weight for pooled, cross-country groups).
    """
    eff = _effects(effects)
    if bank is not None:
        qnames = [q.id for q in bank]
        code_sets = []
        for q in bank:
            pos = np.asarray([float(k) if _is_num(k) else np.nan for k in q.keys])
            if np.isnan(pos).any():
                raise ValueError(f"question {q.id!r}: option keys {list(q.keys)} are not all numeric.")
            code_sets.append(np.sort(pos))
        n_questions = len(qnames)
    else:
        if not isinstance(n_questions, (int, np.integer)) or n_questions < 1:
            raise ValueError(f"`n_questions` must be a positive integer, got {n_questions!r}.")
        qnames = [f"Q{j + 1}" for j in range(n_questions)]
        code_sets = [np.arange(1, _WVS_OPTION_CYCLE[j % len(_WVS_OPTION_CYCLE)] + 1, dtype=np.float64)
                     for j in range(n_questions)]
    _check_sizes(n_respondents, n_countries, n_questions)
    rng = np.random.default_rng(rng)
    n, C, Q = int(n_respondents), int(n_countries), len(qnames)
    ctab = list(_WVS_COUNTRIES[:C]) + [(f"X{k:02d}", 900 + k) for k in range(len(_WVS_COUNTRIES) + 1, C + 1)]
    countries = [a for a, _ in ctab]
    sizes = _country_sizes(rng, n, C)
    country = np.repeat(np.arange(C), sizes)
    # WVS has no stratum variable: country is the stratum, I_PSU the cluster
    _, psu = _design(rng, sizes, clustered_share=0.7 if eff["clustered_share"] is None
                     else eff["clustered_share"], mean_cluster=10, strata_range=(1, 1))

    levels, level_names, factor_eff = _draw_factors(rng, country, C, _WVS_FACTOR_ORDER, _wvs_factor_spec, eff,
                                                    concentration=15.0)
    u_c, v_p, z, alpha, loading, delta = _latent_index(rng, eff, country, psu, C, Q, levels, factor_eff)

    # question-major layout (Q, n): contiguous per question, one pandas block
    ystar = rng.standard_normal((Q, n))
    ystar += alpha[:, None]
    ystar += loading[:, None] * z[None, :]
    ystar += delta.T[:, country]
    answers = np.empty((Q, n), dtype=np.float64)
    positions = {}
    for j, q in enumerate(qnames):
        codes = code_sets[j]
        answers[j] = codes[_ordinal(ystar[j], len(codes))]
        positions[q] = codes
    del ystar

    low_int = (levels["political_interest"] >= 2).astype(np.float64)
    logit0 = math.log(eff["nonresponse"] / (1 - eff["nonresponse"])) if eff["nonresponse"] > 0 else -np.inf
    eta_q = rng.normal(0, 0.5, Q)
    p_nr = 1.0 / (1.0 + np.exp(-(logit0 + eta_q[:, None] + 0.5 * low_int[None, :])))
    nr = rng.random((Q, n)) < p_nr
    del p_nr
    coded = answers.copy()
    u = rng.random((Q, n))
    coded[nr] = np.where(u[nr] < 0.85, -1.0, -2.0)
    del u
    not_asked = rng.random((C, Q)) < eff["not_asked"]
    na_cells = not_asked.T[:, country]
    coded[na_cells] = -4.0
    clean_answers = answers
    clean_answers[nr | na_cells] = np.nan
    del nr, na_cells

    meta = SurveyMeta()
    cols = {
        "A_WAVE": np.full(n, 7.0),
        "A_YEAR": rng.integers(2017, 2023, C)[country].astype(np.float64),
        "B_COUNTRY": np.array([num for _, num in ctab], dtype=np.float64)[country],
        "B_COUNTRY_ALPHA": np.asarray(countries, dtype=object)[country],
    }
    cols["D_INTERVIEW"] = cols["B_COUNTRY"] * 1e6 + np.arange(1, n + 1)
    w = rng.lognormal(0, 0.25, n)
    for c in range(C):
        sel = country == c
        w[sel] /= w[sel].mean()
    cols["W_WEIGHT"] = w
    cols["S018"] = w * (1000.0 / sizes[country])
    cols["I_PSU"] = psu.astype(np.float64)
    meta.value_labels["B_COUNTRY"] = {float(num): a for a, num in ctab}

    fac_missing = {}
    for fname in _WVS_FACTOR_ORDER:
        if fname == "generation":
            continue
        var, spec = _WVS_FACTORS[fname]
        codes = np.array([c for c, _, _ in spec], dtype=np.float64)
        vals = codes[levels[fname]]
        rate = {"income_decile": 0.04, "religion": 0.02}.get(fname, 0.005)
        miss = rng.random(n) < rate
        vals[miss] = np.where(rng.random(int(miss.sum())) < 0.7, -1.0, -2.0)
        cols[var] = vals
        meta.value_labels[var] = {**{float(c): lab for c, lab, _ in spec}, **_WVS_MISSING}
        meta.missing_ranges[var] = [(-5.0, -1.0)]
        fac_missing[fname] = miss
    g = levels["generation"]
    lo = np.array([x[1] for x in _GENERATIONS])[g]
    hi = np.array([x[2] for x in _GENERATIONS])[g]
    yr = (lo + np.floor(rng.random(n) * (hi - lo + 1))).astype(np.float64)
    ymiss = rng.random(n) < 0.004
    yr[ymiss] = -2.0
    cols["Q261"] = yr
    cols["Q262"] = np.where(ymiss, -2.0, cols["A_YEAR"] - yr)
    for var in ("Q261", "Q262"):
        meta.value_labels[var] = dict(_WVS_MISSING)
        meta.missing_ranges[var] = [(-5.0, -1.0)]
    fac_missing["generation"] = ymiss
    for j, q in enumerate(qnames):
        lab = {float(c): (bank[q].choices[list(bank[q].keys).index(_key_of(bank[q], c))]
                          if bank is not None else f"option {int(c)}") for c in code_sets[j]}
        lab.update(_WVS_MISSING)
        meta.value_labels[q] = lab
        meta.missing_ranges[q] = [(-5.0, -1.0)]
        if bank is not None:
            meta.variable_labels[q] = bank[q].text
    # a bank question that is also a demographic variable (WVS Q199, interest in politics)
    # is that variable: its answers are the factor's codes
    for j, q in enumerate(qnames):
        if q in cols:
            fac = cols.pop(q)
            valid = fac >= 0
            if not np.isin(fac[valid], code_sets[j]).all():
                raise ValueError(
                    f"question {q!r} is also a demographic variable but its codes "
                    f"{sorted(set(fac[valid]))} differ from the bank's keys {code_sets[j].tolist()}."
                )
            coded[j] = fac
            clean_answers[j] = np.where(valid, fac, np.nan)
    data = pd.concat([pd.DataFrame(cols), pd.DataFrame(coded.T, columns=qnames)], axis=1)
    data["B_COUNTRY_ALPHA"] = data["B_COUNTRY_ALPHA"].astype(str)
    meta.variable_labels.update({"W_WEIGHT": "Weight", "S018": "Equilibrated weight-1000",
                                 "I_PSU": "Primary Sampling Unit ID", "B_COUNTRY": "ISO 3166-1 numeric country code"})

    clean = {"country": np.asarray(countries, dtype=object)[country]}
    for fname in _WVS_FACTOR_ORDER:
        names = np.asarray(level_names[fname], dtype=object)
        vals = names[levels[fname]].copy()
        vals[fac_missing[fname]] = np.nan
        clean[fname] = vals
    clean["weight"] = cols["S018"]
    clean_df = pd.concat([pd.DataFrame(clean_answers.T, columns=qnames), pd.DataFrame(clean)], axis=1)
    truth = _truth(qnames, alpha, loading, np.array([len(c) for c in code_sets]), countries, u_c,
                   {f: factor_eff[f] for f in _WVS_FACTOR_ORDER},
                   level_names, delta, eff)
    truth["factors"] = pd.DataFrame(
        [{"factor": f, "level": lvl, "effect": float(e)} for f in _WVS_FACTOR_ORDER
         for lvl, e in zip(level_names[f], factor_eff[f])], columns=["factor", "level", "effect"])
    truth["not_asked"] = pd.DataFrame({
        "country": np.repeat(np.asarray(countries, dtype=object), Q)[not_asked.ravel()],
        "question": np.tile(np.asarray(qnames, dtype=object), C)[not_asked.ravel()],
    })
    return SyntheticSurvey(
        data=data, meta=meta, questions=qnames, positions=positions, truth=truth, kind="wvs",
        indicators={}, weight="S018", country="B_COUNTRY_ALPHA", strata="B_COUNTRY", psu="I_PSU",
        _clean=clean_df,
        _latent={"alpha": alpha, "loading": loading, "delta": delta, "u": u_c,
                 "factor_effects": factor_eff, "level_names": level_names, "countries": countries,
                 "n_options": np.array([len(c) for c in code_sets]), "codes": code_sets},
    )


def _is_num(k):
    try:
        return math.isfinite(float(k))
    except (TypeError, ValueError):
        return False


def _key_of(question, code):
    for k in question.keys:
        if float(k) == float(code):
            return k
    raise KeyError(code)


# ----------------------------------------------------------------------------
# model answers with a known bias
# ----------------------------------------------------------------------------
_DEFAULT_TARGETS = {
    # model -> (target country index, {factor: level index}, noise sd)
    0: (0, {"education": 6, "religiosity": 0, "political_interest": 0, "religion": 1}, 1.0),
    1: (-1, {"education": 0, "religiosity": -1, "political_interest": -1, "generation": 0}, 1.0),
    2: (None, {}, 1.0),
}


def model_answers(survey, models=("model-a", "model-b", "model-c"), *, rng=0):
    """Tidy answer distributions of hypothetical models with a known bias.

    Model ``k`` answers every question as a persona placed on the latent scale:
    ``model-a`` as a highly educated (ES-ISCED V2), politically very
    interested, not at all religious Protestant of the first country;
    ``model-b`` as a very religious respondent of the last country, of the
    oldest generation, with the lowest education and no interest in politics; ``model-c`` (and any further model) as the average respondent
    (latent position 0, no country effect).  The persona's answer distribution
    is the ordinal-probit probability of each option given its latent
    position, with the noise standard deviation widened per model, plus a
    little Dirichlet jitter drawn from ``rng``.

    Parameters
    ----------
    survey : SyntheticSurvey
    models : sequence of str
    rng : int or numpy.random.Generator, default 0

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, ``question``, ``option`` (position), ``prob``;
        ``DataFrame.attrs["targets"]`` describes each model's persona.
    """
    if not isinstance(survey, SyntheticSurvey):
        raise TypeError("`survey` must be a SyntheticSurvey from make_ess or make_wvs.")
    models = list(models)
    if not models or len(set(models)) != len(models):
        raise ValueError("`models` must be a non-empty sequence of distinct names.")
    rng = np.random.default_rng(rng)
    lat = survey._latent
    countries = lat["countries"]
    rows_m, rows_q, rows_o, rows_p = [], [], [], []
    targets = {}
    for k, name in enumerate(models):
        c_idx, fac, sd = _DEFAULT_TARGETS.get(k, (None, {}, 1.0))
        zpos = 0.0
        desc = {}
        if c_idx is not None:
            zpos += lat["u"][c_idx]
            desc["country"] = countries[c_idx]
        for f, lvl in fac.items():
            if f in lat["factor_effects"]:
                e = lat["factor_effects"][f]
                zpos += e[lvl]
                desc[f] = lat["level_names"][f][lvl]
        targets[name] = {"latent": float(zpos), "noise_sd": sd, **desc}
        for j, q in enumerate(survey.questions):
            codes = lat["codes"][j]
            K = len(codes)
            mu = lat["alpha"][j] + lat["loading"][j] * zpos
            if c_idx is not None:
                mu += lat["delta"][c_idx, j]
            cuts = np.concatenate([[-np.inf], _cutpoints(K), [np.inf]])
            p = np.diff(ndtr((cuts - mu) / sd))
            p = rng.dirichlet(p * 200.0 + 1e-3)
            rows_m.append(np.full(K, name, dtype=object))
            rows_q.append(np.full(K, q, dtype=object))
            rows_o.append(codes)
            rows_p.append(p)
    out = pd.DataFrame({
        "model": np.concatenate(rows_m), "question": np.concatenate(rows_q),
        "option": np.concatenate(rows_o).astype(np.float64), "prob": np.concatenate(rows_p),
    })
    out.attrs["targets"] = targets
    return out
