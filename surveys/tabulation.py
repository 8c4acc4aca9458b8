"""Tabulation: weighted sums per domain x option for every question, in one pass each.

:func:`tabulate` reads each numeric question column once: the one-pass
kernel (:func:`surveys._kernels.tabulate_block`) finds the integer codes of
a window and sums weights, squared weights and counts per domain x code in
the same pass, parallel over questions, straight from the frame's memory (a
consolidated 2-D block through one strided view, separate column blocks
through a typed list) -- nothing is copied.  The codes found are then
classified once per question (value labels, declarations, profile rules; see
:mod:`surveys.encoding`) and the code tables folded into options, item
nonresponse and structural missing.  Text columns, multi-indicator concepts,
codes outside the window and calls that need per-respondent option indices
(standard errors) take the per-question path of :mod:`surveys.encoding`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._codes import NONRESPONSE, STRUCTURAL, VALID, is_text
from ._kernels import tabulate_block
from .encoding import encode_all, numeric_options

__all__ = ["Tabulated", "tabulate"]

#: Integer codes in ``[WINDOW_LO, WINDOW_LO + WINDOW_SIZE)`` are tabulated in one pass.
WINDOW_LO = -128
WINDOW_SIZE = 256
#: Distinct codes per question the one-pass kernel keeps (more: per-question path).
MAX_CODES = 32
#: Cells (questions x domains x codes) of one kernel call; larger calls are split.
_CELL_BUDGET = 24_000_000


@dataclass
class Tabulated:
    """Sums of one question: ``acc`` as :func:`surveys._kernels.accumulate_numpy` returns them."""

    name: str
    positions: np.ndarray
    acc: tuple
    encoded: object = None


def _fold(sums, sq, cnt, nan_w, nan_n, opt_pos, u_opt, u_state, sys_kind):
    """Code tables ``(G, n_codes)`` of one question -> the per-domain sums of :func:`accumulate_numpy`."""
    G = sums.shape[0]
    K = len(opt_pos)
    valid = u_opt >= 0
    onehot = np.zeros((u_opt.size, K))
    onehot[np.flatnonzero(valid), u_opt[valid]] = 1.0
    cell = sums @ onehot
    sw = cell.sum(axis=1)
    swv = cell @ np.asarray(opt_pos, dtype=np.float64)
    kinds = np.stack([valid, (~valid) & (u_state == NONRESPONSE), (~valid) & (u_state != NONRESPONSE)],
                     axis=1).astype(np.float64)
    sw2 = sq @ kinds[:, 0]
    wnr = sums @ kinds[:, 1]
    n, nnr, nstruct = np.rint(cnt @ kinds).astype(np.int64).T
    if sys_kind == NONRESPONSE:
        wnr = wnr + nan_w
        nnr = nnr + nan_n
    else:
        nstruct = nstruct + nan_n
    return cell.reshape(G * K), sw, sw2, swv, n, wnr, nnr, nstruct


def _freeze(x):
    if isinstance(x, dict):
        return tuple(sorted((float(k) if not isinstance(k, str) else k, _freeze(v)) for k, v in x.items()))
    if isinstance(x, (list, tuple)):
        return tuple(_freeze(v) for v in x)
    return x


def _options_cached(cache, v, uniq, meta, prof, pos_map, miss_map, src):
    """:func:`surveys.encoding.numeric_options`, shared by questions with the same codes and metadata.

    Only where no missing-code warning can arise (a profile code rule or
    explicit positions), so every warning still names its own variable.
    """
    rule = prof.code_rule if prof is not None else None
    if rule is None and pos_map is None:
        return numeric_options(v, uniq, meta, prof, pos_map, miss_map, src)
    try:
        key = (uniq.tobytes(), rule, _freeze(meta.value_labels.get(v, {})), _freeze(meta.missing_ranges.get(v, ())),
               _freeze(meta.missing_kinds.get(v, {})), _freeze(pos_map), _freeze(miss_map))
    except TypeError:  # unorderable keys: no sharing
        return numeric_options(v, uniq, meta, prof, pos_map, miss_map, src)
    if key not in cache:
        cache[key] = numeric_options(v, uniq, meta, prof, pos_map, miss_map, src)
    return cache[key]


def _numeric_column(df, var):
    col = df[var]
    if is_text(col):
        return None
    arr = col.to_numpy(dtype=np.float64, na_value=np.nan) if col.dtype != np.float64 else col.to_numpy()
    return arr


def tabulate(df, variables, meta, prof, g, w, G, *, positions, missing, indicators, system_missing, src,
             keep_encoded=False):
    """Per-domain sums of every question (see module notes).

    Parameters
    ----------
    df : pandas.DataFrame
    variables : list of str
    meta, prof
        Metadata and profile.
    g : numpy.ndarray of int64
        Domain code per respondent (-1: in no domain).
    w : numpy.ndarray
        Weights.
    G : int
        Number of domains.
    positions, missing, indicators, system_missing, src
        As in :func:`surveys.distributions`.
    keep_encoded : bool
        Keep per-respondent encodings (needed for standard errors): every
        question then takes the per-question path.

    Returns
    -------
    list of Tabulated
        In the order of ``variables``.
    """
    from .encoding import _SYSTEM_MISSING

    indicators = indicators or {}
    sys_kind = _SYSTEM_MISSING.get(system_missing, STRUCTURAL)
    out = {}
    fast = []
    cache = {}
    if not keep_encoded:
        for v in variables:
            if v in indicators or v not in df.columns or v in fast:
                continue
            arr = _numeric_column(df, v)
            if arr is not None:
                fast.append((v, arr))
    if fast:
        per = max(1, _CELL_BUDGET // max(G * MAX_CODES, 1))
        for start in range(0, len(fast), per):
            chunk = fast[start:start + per]
            sums, sq, cnt, codes, n_codes, nan_w, nan_n, ok = tabulate_block(
                [a for _, a in chunk], g, w, G, WINDOW_LO, WINDOW_SIZE, MAX_CODES)
            for j, (v, _) in enumerate(chunk):
                if not ok[j]:
                    continue
                nk = int(n_codes[j])
                uniq = WINDOW_LO + codes[j, :nk].astype(np.float64)
                pos_map = positions.get(v) if positions else None
                miss_map = missing.get(v) if isinstance(missing, dict) and v in missing else None
                opt_pos, u_opt, u_state = _options_cached(cache, v, uniq, meta, prof, pos_map, miss_map, src)
                out[v] = Tabulated(v, opt_pos, _fold(sums[j, :, :nk], sq[j, :, :nk], cnt[j, :, :nk], nan_w[j],
                                                     nan_n[j], opt_pos, u_opt, u_state, sys_kind))
    rest = [v for v in variables if v not in out]
    if rest:
        for e in encode_all(df, rest, meta, prof, positions=positions, missing=missing, indicators=indicators,
                            system_missing=system_missing, src=src):
            out[e.name] = Tabulated(e.name, e.positions, e.accumulate(g, w, G), e)
    return [out[v] for v in variables]


__all__ += ["WINDOW_LO", "WINDOW_SIZE"]
del pd, VALID
