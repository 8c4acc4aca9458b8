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
        Naming the file and the likely cause: an unsupported or wrong
        extension, a directory, an empty, truncated or corrupt file (a CSV
        whose last line is cut), an encoding other than the one given, or a
        column named in ``usecols`` that the file lacks.
    TypeError
        For a non-integer ``row_limit`` or non-string ``usecols``.
    """
    path = Path(os.fspath(path))
    source = str(path)
    usecols = _check_read_args(source, usecols, row_limit)
    if not path.exists():
        raise FileNotFoundError(f"survey file {source!r} does not exist.")
    if path.is_dir():
        raise ValueError(f"{source} is a directory, not a survey file; pass the path of a .sav, .zsav, "
                         ".dta, .csv or .parquet file inside it.")
    ext = path.suffix.lower()
    if ext not in _READERS:
        raise ValueError(
            f"{source}: unsupported file type {ext!r}; use .sav, .zsav, .dta, .csv or .parquet."
        )
    if path.stat().st_size == 0:
        raise ValueError(f"{source} is empty (0 bytes): the download or copy did not finish.")
    kind = _sniff(path)
    if kind is not None and kind != _READERS[ext]:
        raise ValueError(
            f"{source} has the extension {ext!r} but its content looks like a {kind} file; rename it "
            f"with the right extension."
        )
    try:
        df, meta = _READ[_READERS[ext]](path, source, ext, usecols, row_limit, encoding, extended_missing,
                                         sep, skiprows)
    except UnicodeDecodeError as e:
        raise ValueError(
            f"{source}: the text is not in the {encoding or 'utf-8'} encoding (byte {e.start}); pass "
            "`encoding=` (e.g. 'latin-1' or 'cp1252')."
        ) from None
    except (ValueError, TypeError) as e:
        if str(e).startswith(source):  # ours: names the file already
            raise
        raise ValueError(
            f"{source} could not be read as a {_READERS[ext]} file ({type(e).__name__}: {e}); it is "
            "probably truncated or corrupt -- download it again."
        ) from None
    except Exception as e:  # noqa: BLE001 - readers raise many types; name the file and the cause
        raise ValueError(
            f"{source} could not be read as a {_READERS[ext]} file ({type(e).__name__}: {e}); it is "
            "probably truncated or corrupt -- download it again."
        ) from None
    if profile == "auto":
        profile = guess_profile(df)
    return SurveyData(df, meta, get_profile(profile), source=source)


_READERS = {".sav": "SPSS", ".zsav": "SPSS", ".dta": "Stata", ".csv": "CSV", ".parquet": "Parquet"}


def _check_read_args(source, usecols, row_limit):
    if isinstance(row_limit, bool) or not isinstance(row_limit, (int, np.integer)) or row_limit < 0:
        raise TypeError(f"`row_limit` must be a non-negative integer (0: all rows), got {row_limit!r}.")
    if usecols is None:
        return None
    if isinstance(usecols, str):
        usecols = [usecols]
    usecols = list(usecols)
    bad = [c for c in usecols if not isinstance(c, str)]
    if bad:
        raise TypeError(f"`usecols` must hold column names (str), got {bad[:3]} for {source}.")
    return usecols


def _sniff(path):
    """Format suggested by the first bytes (None when it is not recognisable)."""
    with path.open("rb") as fh:
        head = fh.read(16)
    if head.startswith((b"$FL2", b"$FL3")):
        return "SPSS"
    if head.startswith(b"<stata_dta>") or (len(head) > 1 and head[0] in (113, 114, 115) and head[1] in (1, 2)):
        return "Stata"
    if head.startswith(b"PAR1"):
        return "Parquet"
    if head.startswith(b"PK"):
        return "ZIP archive"
    if head.startswith(b"\x1f\x8b"):
        return "gzip archive"
    return None


def _unknown_columns(source, usecols, columns):
    missing = [c for c in usecols if c not in columns]
    if missing:
        raise ValueError(
            f"{source}: columns {missing} are not in the file (names are case-sensitive; it has "
            f"{len(columns)} columns, e.g. {list(columns)[:6]})."
        )


def _read_stat(path, source, ext, usecols, row_limit, encoding, extended_missing, sep, skiprows):
    import pyreadstat

    reader = pyreadstat.read_dta if ext == ".dta" else pyreadstat.read_sav
    if usecols is not None:
        _, m0 = reader(str(path), metadataonly=True, encoding=encoding)
        _unknown_columns(source, usecols, m0.column_names)
    df, m = reader(str(path), user_missing=True, usecols=usecols, row_limit=row_limit, encoding=encoding)
    meta = _meta_from_pyreadstat(m)
    if ext == ".dta":
        df = _recode_extended(df, meta, m, extended_missing, source)
    return df, meta


def _check_csv_complete(path, source, sep, skiprows, encoding):
    """Raise when the last line of a CSV has fewer fields than its header (a file cut short)."""
    import csv
    import io

    with path.open(encoding=encoding or "utf-8", errors="replace", newline="") as fh:
        for _ in range(skiprows or 0):
            fh.readline()
        header = next(csv.reader([fh.readline()], delimiter=sep), [])
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - 65536))
        tail = fh.read()
    if tail.endswith(b"\n"):
        return
    last = tail.rsplit(b"\n", 1)[-1].decode(encoding or "utf-8", errors="replace")
    fields = next(csv.reader(io.StringIO(last), delimiter=sep), [])
    if len(fields) < len(header) or last.count('"') % 2:
        raise ValueError(
            f"{source}: the last line has {len(fields)} of the header's {len(header)} fields and no "
            "line end -- the file was cut short (truncated download or copy); get the complete file."
        )


def _read_csv(path, source, ext, usecols, row_limit, encoding, extended_missing, sep, skiprows):
    if skiprows is None:
        skiprows = _header_offset(path, encoding)
    if sep is None:
        with path.open(encoding=encoding or "utf-8", errors="replace") as fh:
            for _ in range(skiprows or 0):
                fh.readline()
            head = fh.readline()
        sep = ";" if head.count(";") > head.count(",") else ","
    if not row_limit:
        _check_csv_complete(path, source, sep, skiprows, encoding)
    if usecols is not None:
        cols = pd.read_csv(path, sep=sep, nrows=0, skiprows=skiprows, encoding=encoding).columns
        _unknown_columns(source, usecols, list(cols))
    try:
        df = pd.read_csv(path, sep=sep, usecols=usecols, nrows=row_limit or None, skiprows=skiprows,
                         encoding=encoding)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{source} holds no data (no header line); the file is empty or blank.") from None
    except pd.errors.ParserError as e:
        raise ValueError(f"{source} is not a well-formed CSV file ({e}); check the delimiter (`sep=`) "
                         "or whether the file is complete.") from None
    return df, SurveyMeta()


def _read_parquet(path, source, ext, usecols, row_limit, encoding, extended_missing, sep, skiprows):
    if usecols is not None:
        import pyarrow.parquet as pq

        _unknown_columns(source, usecols, pq.read_schema(path).names)
    df = pd.read_parquet(path, columns=usecols)
    if row_limit:
        df = df.iloc[:row_limit]
    return df, SurveyMeta()


_READ = {"SPSS": _read_stat, "Stata": _read_stat, "CSV": _read_csv, "Parquet": _read_parquet}


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
        value_labels={v: {float(k): str(lab) for k, lab in labs.items()} for v, labs in (value_labels or {}).items()},
        missing_ranges=ranges, missing_kinds=kinds, variable_labels=dict(variable_labels or {}),
    )
    if profile == "auto":
        profile = guess_profile(data)
    return SurveyData(data, meta, get_profile(profile), source="the data frame")

