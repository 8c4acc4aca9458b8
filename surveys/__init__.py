"""surveys: real WVS/ESS microdata -> weighted opinion distributions (layer of alignstat).

Submodules
----------
synthetic
    Seeded WVS-like and ESS-like surveys with known effects (a ground truth).
"""

from . import synthetic
from ._meta import SurveyData, SurveyMeta
from .synthetic import SyntheticSurvey, make_ess, make_wvs, model_answers

__all__ = [
    "synthetic",
    "SurveyData",
    "SurveyMeta",
    "SyntheticSurvey",
    "make_ess",
    "make_wvs",
    "model_answers",
]
