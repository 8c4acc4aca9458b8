"""surveys: real WVS/ESS microdata -> weighted opinion distributions (layer of alignstat).

Entry points
------------
distributions, means
    Weighted option shares / mean positions per country, wave and group
    (and their intersections), tidy, with n, n_weighted, Kish n_eff,
    nonresponse share, small-cell flag and optional design-based SEs.
responses
    Clean respondent frame (positions, country, readable factors, weight).
read_survey, as_survey
    .sav/.zsav/.dta/.csv/.parquet or DataFrames with their metadata.
RaoWuScheme, CantyDavisonScheme, replicate_scheme
    Design-based bootstrap replicate schemes for alignstat's engine.
option_table, wave_table, bank_distributions, bank_means
    Question-bank mapping (options, reversed/non-ordinal scales, waves,
    multi-indicator concepts).

Submodules
----------
synthetic
    Seeded WVS-like and ESS-like surveys with known effects (a ground truth).
"""

from . import synthetic
from ._meta import SurveyData, SurveyMeta
from .design import CantyDavisonScheme, RaoWuScheme, stratified_variance
from .distributions import distributions, means, replicate_scheme, responses
from .profiles import PROFILES, FactorSpec, Profile, build_factor, get_profile
from .questions import (
    bank_distributions, bank_means, bank_positions, key_discrepancies, option_table, wave_table,
)
from .readers import EXTENDED_MISSING, as_survey, guess_profile, read_survey
from .synthetic import SyntheticSurvey, make_ess, make_wvs, model_answers

__all__ = [
    "distributions",
    "means",
    "responses",
    "replicate_scheme",
    "RaoWuScheme",
    "CantyDavisonScheme",
    "stratified_variance",
    "read_survey",
    "as_survey",
    "guess_profile",
    "EXTENDED_MISSING",
    "option_table",
    "key_discrepancies",
    "wave_table",
    "bank_positions",
    "bank_distributions",
    "bank_means",
    "Profile",
    "FactorSpec",
    "PROFILES",
    "get_profile",
    "build_factor",
    "SurveyData",
    "SurveyMeta",
    "synthetic",
    "SyntheticSurvey",
    "make_ess",
    "make_wvs",
    "model_answers",
]
