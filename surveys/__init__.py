"""surveys: real WVS/ESS microdata -> weighted opinion distributions (layer of alignstat).

Entry points
------------
Design, design
    A survey design (weights, strata, PSUs, fpc, lonely-PSU rule), the
    analogue of R ``svydesign``; ``design`` builds a profile's (ESS, WVS).
distributions, means, totals, ratios
    Weighted option shares, means, totals and ratios per country, wave and
    domain, tidy, with n, n_weighted, Kish n_eff, nonresponse share,
    small-cell flag and design-based SEs and intervals (Taylor
    linearisation, Rao--Wu, Canty--Davison, jackknife, replicate weights).
responses
    Clean respondent frame (positions, country, readable factors, weight).
read_survey, as_survey
    .sav/.zsav/.dta/.csv/.parquet or DataFrames with their metadata.
RaoWuScheme, CantyDavisonScheme, replicate_scheme
    Design-based bootstrap replicate schemes for alignstat's engine.
question_bank
    An ``alignstat.QuestionBank`` from a file's variable and value labels.
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
from .codebook import question_bank, reversed_scale, write_question_bank
from .designs import Design, design
from .distributions import distributions, means, ratios, responses, totals
from .profiles import PROFILES, FactorSpec, Profile, build_factor, get_profile
from .questions import (
    bank_distributions,
    bank_means,
    bank_positions,
    key_discrepancies,
    option_table,
    wave_table,
)
from .readers import EXTENDED_MISSING, as_survey, guess_profile, read_survey
from .replicates import CantyDavisonScheme, RaoWuScheme, replicate_scheme
from .synthetic import SyntheticSurvey, make_ess, make_wvs, model_answers

__all__ = [
    "Design",
    "design",
    "distributions",
    "means",
    "totals",
    "ratios",
    "question_bank",
    "write_question_bank",
    "reversed_scale",
    "responses",
    "replicate_scheme",
    "RaoWuScheme",
    "CantyDavisonScheme",
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
