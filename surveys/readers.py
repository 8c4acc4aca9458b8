"""Read survey microdata with its metadata: SPSS, Stata, CSV, Parquet, DataFrames.

SPSS (``.sav``, ``.zsav``) and Stata (``.dta``) files are read through
pyreadstat with ``user_missing=True`` so that missing codes survive and their
declarations are kept: value labels, SPSS user-missing values and ranges,
Stata extended missings.  Stata's extended missings ``.a`` .. ``.z`` arrive
from pyreadstat as the letters ``"a"``..``"z"``; they are recoded to the
numeric codes ``-1001`` (``.a``) .. ``-1026`` (``.z``), labelled ``".a"``..,
and classified by the ESS convention (``.a`` not applicable -> structural;
``.b`` refusal, ``.c`` don't know, ``.d`` no answer -> item nonresponse;
other letters structural) unless ``extended_missing=`` says otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ._codes import KIND_NAMES
from ._meta import SurveyData, SurveyMeta
from .profiles import get_profile

__all__ = ["read_survey", "as_survey", "guess_profile", "EXTENDED_MISSING"]

#: Default meaning of Stata extended missing letters (the ESS Stata convention).
EXTENDED_MISSING = {"a": "structural", "b": "nonresponse", "c": "nonresponse", "d": "nonresponse"}


def _ext_code(letter):
    return -float(1000 + ord(letter) - ord("a") + 1)


def guess_profile(data):
    """Profile name suggested by the columns (``"wvs7"``, ``"wvs_ts"``, ``"ess"``) or None."""
    cols = {str(c).lower() for c in data.columns}
    if "b_country" in cols or "b_country_alpha" in cols or "w_weight" in cols:
        return "wvs7"
    if "s002vs" in cols or ("s002" in cols and "s003" in cols):
        return "wvs_ts"
    if "cntry" in cols and ({"anweight", "pspwght", "dweight", "essround"} & cols):
        return "ess"
    return None


def _meta_from_pyreadstat(m):
    value_labels = {
        var: {float(k) if not isinstance(k, str) else k: str(v) for k, v in labs.items()}
        for var, labs in (m.variable_value_labels or {}).items()
    }
    ranges = {}
    for var, rr in (getattr(m, "missing_ranges", None) or {}).items():
        out = []
        for r in rr:
            lo, hi = r["lo"], r["hi"]
            if isinstance(lo, str) or isinstance(hi, str):
                continue
            out.append((float(lo), float(hi)))
        if out:
            ranges[var] = out
    var_labels = {k: v for k, v in (m.column_names_to_labels or {}).items() if v}
    return SurveyMeta(value_labels=value_labels, missing_ranges=ranges, variable_labels=var_labels)


def _recode_extended(df, meta, m, extended_missing, source):
    """Stata: letters from ``missing_user_values`` -> numeric codes with kinds."""
    kinds_map = {**EXTENDED_MISSING, **(extended_missing or {})}
    for var, letters in (getattr(m, "missing_user_values", None) or {}).items():
        if var not in df.columns:
            continue
        col = df[var]
        if pd.api.types.is_numeric_dtype(col):
            continue
        obj = col.astype(object).to_numpy()
        out = np.full(obj.shape, np.nan)
        is_letter = np.array([isinstance(v, str) for v in obj])
        num = ~is_letter & pd.notna(obj)
        try:
            out[num] = obj[num].astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{source}: column {var!r} mixes text and numbers beyond Stata missing letters.") from None
        labs = meta.value_labels.setdefault(var, {})
        kinds = meta.missing_kinds.setdefault(var, {})
        for letter in sorted({v for v in obj[is_letter]}):
            if len(letter) != 1 or not ("a" <= letter <= "z"):
                raise ValueError(f"{source}: column {var!r} holds text {letter!r}, not a Stata missing letter.")
            code = _ext_code(letter)
            out[obj == letter] = code
            labs.setdefault(code, f".{letter}")
            kind = kinds_map.get(letter, "structural")
            kinds[code] = KIND_NAMES[kind] if isinstance(kind, str) else int(kind)
        # string labels of extended missings ("a": "Not applicable") move to the numeric code
        for k in [k for k in labs if isinstance(k, str)]:
            if len(k) == 1 and "a" <= k <= "z":
                labs[_ext_code(k)] = labs.pop(k)
        df[var] = out
    return df


_HEADER_MARKERS = ("d_interview", "b_country", "s002vs", "s003", "cntry", "idno")


def _header_offset(path, encoding, max_lines=50):
    """Lines before the header row of a CSV with a preamble (some WVS releases have one).

    The header is the first line naming a known identifier column
    (``D_INTERVIEW``, ``B_COUNTRY``, ``S002VS``, ``S003``, ``cntry``, ``idno``);
    0 when none of the first ``max_lines`` lines does.
    """
    with path.open(encoding=encoding or "utf-8", errors="replace") as fh:
        for i in range(max_lines):
            line = fh.readline()
            if not line:
                break
            names = {t.strip().strip('"').lower() for t in line.replace(";", ",").split(",")}
            if names & set(_HEADER_MARKERS):
                return i
    return 0


def read_survey(path, *, profile="auto", usecols=None, row_limit=0, encoding=None,
                extended_missing=None, sep=None, skiprows=None):
    """Read a survey file into a :class:`SurveyData` with its metadata.

    Parameters
    ----------
    path : str or path-like
        ``.sav``, ``.zsav``, ``.dta``, ``.csv`` (``,`` or ``;``, detected) or ``.parquet``.
    profile : "auto", str, Profile or None
        Survey profile; ``"auto"`` guesses it from the columns.
    usecols : list of str, optional
        Columns to read (case-sensitive, as pyreadstat).
    row_limit : int, default 0
        Read at most this many rows (0: all).
    encoding : str, optional
        Passed to the reader.
    extended_missing : dict, optional
        ``{letter: "nonresponse" | "structural"}`` meaning of Stata extended
        missings (default :data:`EXTENDED_MISSING`).
    sep : str, optional
        CSV delimiter (default: detected from the header line).
    skiprows : int, optional
        CSV preamble lines before the header (default: detected -- the first
        line naming ``D_INTERVIEW``, ``B_COUNTRY``, ``S002VS``, ``S003``,
        ``cntry`` or ``idno``).

    Returns
    -------
    SurveyData

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        For an unsupported extension or a column named in ``usecols`` that
        the file lacks.
    """
    path = Path(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(f"survey file {str(path)!r} does not exist.")
    ext = path.suffix.lower()
    source = str(path)
    if ext in (".sav", ".zsav", ".dta"):
        import pyreadstat

        reader = pyreadstat.read_dta if ext == ".dta" else pyreadstat.read_sav
        if usecols is not None:
            _, m0 = reader(str(path), metadataonly=True, encoding=encoding)
            missing_cols = [c for c in usecols if c not in m0.column_names]
            if missing_cols:
                raise ValueError(f"{source}: columns {missing_cols} are not in the file (names are case-sensitive).")
        df, m = reader(str(path), user_missing=True, usecols=usecols, row_limit=row_limit,
                       encoding=encoding)
        meta = _meta_from_pyreadstat(m)
        if ext == ".dta":
            df = _recode_extended(df, meta, m, extended_missing, source)
    elif ext == ".csv":
        if skiprows is None:
            skiprows = _header_offset(path, encoding)
        if sep is None:
            with path.open(encoding=encoding or "utf-8", errors="replace") as fh:
                for _ in range(skiprows or 0):
                    fh.readline()
                head = fh.readline()
            sep = ";" if head.count(";") > head.count(",") else ","
        df = pd.read_csv(path, sep=sep, usecols=usecols, nrows=row_limit or None,
                         skiprows=skiprows, encoding=encoding)
        meta = SurveyMeta()
    elif ext == ".parquet":
        df = pd.read_parquet(path, columns=usecols)
        if row_limit:
            df = df.iloc[:row_limit]
        meta = SurveyMeta()
    else:
        raise ValueError(
            f"{source}: unsupported file type {ext!r}; use .sav, .zsav, .dta, .csv or .parquet."
        )
    if profile == "auto":
        profile = guess_profile(df)
    return SurveyData(df, meta, get_profile(profile), source=source)


def as_survey(data, *, value_labels=None, missing_ranges=None, missing=None, variable_labels=None,
              profile="auto"):
    """Wrap an in-memory DataFrame with metadata as a :class:`SurveyData`.

    Parameters
    ----------
    data : pandas.DataFrame
    value_labels : dict, optional
        ``{variable: {code: label}}``.
    missing_ranges : dict, optional
        ``{variable: [(lo, hi), ...]}`` declared missing ranges (or single codes).
    missing : dict, optional
        ``{variable: {code: "nonresponse" | "structural"}}`` known states.
    variable_labels : dict, optional
    profile : "auto", str, Profile or None
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"`data` must be a pandas DataFrame, got {type(data).__name__}.")
    ranges = {}
    for var, rr in (missing_ranges or {}).items():
        items = []
        for r in rr:
            if isinstance(r, (tuple, list)) and len(r) == 2:
                items.append((float(r[0]), float(r[1])))
            elif isinstance(r, dict):
                items.append((float(r["lo"]), float(r["hi"])))
            else:
                items.append((float(r), float(r)))
        ranges[var] = items
    kinds = {}
    for var, mp in (missing or {}).items():
        kinds[var] = {}
        for code, kind in mp.items():
            if isinstance(kind, str):
                if kind not in KIND_NAMES:
                    raise ValueError(
                        f"missing[{var!r}][{code!r}] must be 'nonresponse', 'structural' or 'valid', got {kind!r}."
                    )
                kind = KIND_NAMES[kind]
            kinds[var][float(code)] = int(kind)
    meta = SurveyMeta(
        value_labels={v: {float(k): str(l) for k, l in labs.items()} for v, labs in (value_labels or {}).items()},
        missing_ranges=ranges, missing_kinds=kinds, variable_labels=dict(variable_labels or {}),
    )
    if profile == "auto":
        profile = guess_profile(data)
    return SurveyData(data, meta, get_profile(profile), source="the data frame")

