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

__all__ = ["Table", "Tabulated", "tabulate", "tabulate_table"]

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


def _float_columns(df, variables):
    """``{variable: 1-D float64 view}`` read straight from the frame's float64 blocks (no per-column lookup).

    Columns of other dtypes (and frames with duplicated column names) are left
    to :func:`_numeric_column`.
    """
    cols = df.columns
    if not cols.is_unique:
        return {}
    try:
        blocks = df._mgr.blocks
    except AttributeError:  # pragma: no cover - pandas internals changed
        return {}
    by_pos = {}
    for blk in blocks:
        vals = blk.values
        if not (isinstance(vals, np.ndarray) and vals.dtype == np.float64 and vals.ndim == 2):
            continue
        for j, pos in enumerate(blk.mgr_locs.as_array):
            by_pos[int(pos)] = (vals, j)
    out = {}
    loc = cols.get_indexer(variables)
    for v, pos in zip(variables, loc):
        hit = by_pos.get(int(pos)) if pos >= 0 else None
        if hit is not None:
            out[v] = hit[0][hit[1]]
    return out


@dataclass
class Table:
    """Per-domain sums of every question, padded to the most options of any question.

    ``cell`` is ``(Q, G, K)`` (weighted option sums; options beyond
    ``n_options[q]`` are 0), ``sw``, ``sw2``, ``swv``, ``wnr`` float and ``n``,
    ``nnr``, ``nstruct`` int64, each ``(Q, G)``, as
    :func:`surveys._kernels.accumulate_numpy` returns them per question;
    ``positions`` is ``(Q, K)`` (0 beyond ``n_options``); ``encoded`` holds
    the per-respondent encodings when they were kept.
    """

    names: list
    n_options: np.ndarray
    positions: np.ndarray
    cell: np.ndarray
    sw: np.ndarray
    sw2: np.ndarray
    swv: np.ndarray
    n: np.ndarray
    wnr: np.ndarray
    nnr: np.ndarray
    nstruct: np.ndarray
    encoded: list

    def question(self, q):
        """Return the :class:`Tabulated` of question ``q`` (index)."""
        K = int(self.n_options[q])
        acc = (self.cell[q, :, :K].reshape(-1), self.sw[q], self.sw2[q], self.swv[q], self.n[q], self.wnr[q],
               self.nnr[q], self.nstruct[q])
        return Tabulated(self.names[q], self.positions[q, :K].copy(), acc, self.encoded[q])


def _fold_block(sums, sq, cnt, nan_w, nan_n, n_codes, opts, sys_kind):
    """:func:`_fold` of many questions at once: code tables ``(Q, G, codes)`` -> padded option sums.

    ``opts`` holds ``(opt_pos, u_opt, u_state)`` of each question.
    """
    Q, G, C = sums.shape
    K = max((len(o[0]) for o in opts), default=0)
    onehot = np.zeros((Q, C, K))
    kinds = np.zeros((Q, C, 3))
    pos = np.zeros((Q, K))
    n_opt = np.zeros(Q, dtype=np.int64)
    for q, (opt_pos, u_opt, u_state) in enumerate(opts):
        nk = int(n_codes[q])
        u_opt = np.asarray(u_opt[:nk])
        valid = u_opt >= 0
        onehot[q, np.flatnonzero(valid), u_opt[valid]] = 1.0
        kinds[q, :nk, 0] = valid
        kinds[q, :nk, 1] = (~valid) & (np.asarray(u_state[:nk]) == NONRESPONSE)
        kinds[q, :nk, 2] = (~valid) & (np.asarray(u_state[:nk]) != NONRESPONSE)
        pos[q, :len(opt_pos)] = opt_pos
        n_opt[q] = len(opt_pos)
    cell = np.matmul(sums, onehot)
    sw = cell.sum(axis=2)
    swv = np.matmul(cell, pos[:, :, None])[..., 0]
    sw2 = np.matmul(sq, kinds[:, :, :1])[..., 0]
    wnr = np.matmul(sums, kinds[:, :, 1:2])[..., 0]
    n, nnr, nstruct = np.moveaxis(np.rint(np.matmul(cnt, kinds)).astype(np.int64), 2, 0)
    if sys_kind == NONRESPONSE:
        wnr = wnr + nan_w
        nnr = nnr + nan_n
    else:
        nstruct = nstruct + nan_n
    return n_opt, pos, cell, sw, sw2, swv, n, wnr, nnr, nstruct


def tabulate_table(df, variables, meta, prof, g, w, G, *, positions, missing, indicators, system_missing, src,
                   keep_encoded=False):
    """Per-domain sums of every question as one padded :class:`Table` (see module notes).

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
    Table
        Questions in the order of ``variables``.
    """
    from .encoding import _SYSTEM_MISSING

    indicators = indicators or {}
    sys_kind = _SYSTEM_MISSING.get(system_missing, STRUCTURAL)
    parts = {}  # variable -> (batch, row)
    batches = []
    fast = []
    cache = {}
    if not keep_encoded:
        direct = _float_columns(df, variables)
        seen = set()
        for v in variables:
            if v in indicators or v in seen or v not in df.columns:
                continue
            seen.add(v)
            arr = direct[v] if v in direct else _numeric_column(df, v)
            if arr is not None:
                fast.append((v, arr))
    if fast:
        per = max(1, _CELL_BUDGET // max(G * MAX_CODES, 1))
        for start in range(0, len(fast), per):
            chunk = fast[start:start + per]
            sums, sq, cnt, codes, n_codes, nan_w, nan_n, ok = tabulate_block(
                [a for _, a in chunk], g, w, G, WINDOW_LO, WINDOW_SIZE, MAX_CODES)
            rows = np.flatnonzero(ok)
            if rows.size == 0:
                continue
            C = max(int(n_codes[rows].max()), 1)
            opts = []
            for j in rows:
                v = chunk[j][0]
                nk = int(n_codes[j])
                uniq = WINDOW_LO + codes[j, :nk].astype(np.float64)
                pos_map = positions.get(v) if positions else None
                miss_map = missing.get(v) if isinstance(missing, dict) and v in missing else None
                opts.append(_options_cached(cache, v, uniq, meta, prof, pos_map, miss_map, src))
            batches.append(_fold_block(sums[rows, :, :C], sq[rows, :, :C], cnt[rows, :, :C], nan_w[rows],
                                       nan_n[rows], n_codes[rows], opts, sys_kind))
            for r, j in enumerate(rows):
                parts[chunk[j][0]] = (len(batches) - 1, r)
    encoded = {}
    rest = [v for v in variables if v not in parts]
    if rest:
        for e in encode_all(df, rest, meta, prof, positions=positions, missing=missing, indicators=indicators,
                            system_missing=system_missing, src=src):
            encoded[e.name] = e
    Q = len(variables)
    K = max([b[1].shape[1] for b in batches] + [len(e.positions) for e in encoded.values()] + [0])
    n_opt = np.zeros(Q, dtype=np.int64)
    pos = np.zeros((Q, K))
    cell = np.zeros((Q, G, K))
    f = {k: np.zeros((Q, G)) for k in ("sw", "sw2", "swv", "wnr")}
    i = {k: np.zeros((Q, G), dtype=np.int64) for k in ("n", "nnr", "nstruct")}
    if len(batches) == 1 and not encoded and list(parts) == list(variables):
        # the common case: every question in one kernel call, in order
        n_opt, pos_b, cell_b, *rest_b = batches[0]
        pos[:, :pos_b.shape[1]] = pos_b
        cell[:, :, :cell_b.shape[2]] = cell_b
        for k, x in zip(("sw", "sw2", "swv", "n", "wnr", "nnr", "nstruct"), rest_b):
            (f if k in f else i)[k][...] = x
    else:
        for q, v in enumerate(variables):
            if v in parts:
                bi, r = parts[v]
                b = batches[bi]
                n_opt[q] = b[0][r]
                pos[q, :b[1].shape[1]] = b[1][r]
                cell[q, :, :b[2].shape[2]] = b[2][r]
                vals = [x[r] for x in b[3:]]
            else:
                e = encoded[v]
                Kq = len(e.positions)
                n_opt[q] = Kq
                pos[q, :Kq] = e.positions
                c, *vals = e.accumulate(g, w, G)
                cell[q, :, :Kq] = np.asarray(c).reshape(G, Kq)
            for k, x in zip(("sw", "sw2", "swv", "n", "wnr", "nnr", "nstruct"), vals):
                (f if k in f else i)[k][q] = x
    return Table(list(variables), n_opt, pos, cell, f["sw"], f["sw2"], f["swv"], i["n"], f["wnr"], i["nnr"],
                 i["nstruct"], [encoded.get(v) for v in variables])


def tabulate(df, variables, meta, prof, g, w, G, *, positions, missing, indicators, system_missing, src,
             keep_encoded=False):
    """Per-domain sums of every question, one :class:`Tabulated` each (see :func:`tabulate_table`).

    Returns
    -------
    list of Tabulated
        In the order of ``variables``.
    """
    t = tabulate_table(df, variables, meta, prof, g, w, G, positions=positions, missing=missing,
                       indicators=indicators, system_missing=system_missing, src=src, keep_encoded=keep_encoded)
    return [t.question(q) for q in range(len(variables))]


__all__ += ["WINDOW_LO", "WINDOW_SIZE"]
del pd, VALID
