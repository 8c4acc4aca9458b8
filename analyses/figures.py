"""Figures of the studies (matplotlib, Agg backend), in the papers' figure types.

Every function takes the tidy tables of a study and returns a
:class:`matplotlib.figure.Figure`; :class:`analyses.provenance.StudyWriter`
saves it as PNG and PDF.  Matplotlib is the ``[plots]`` extra: it is imported
on the first call, never by ``import analyses``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


class _LazyPyplot:
    """``plt`` that imports matplotlib (Agg backend) on first attribute access."""

    _mod = None

    def __getattr__(self, name):
        if _LazyPyplot._mod is None:
            from alignstat._optional import require

            mpl = require("matplotlib", purpose="figures")
            import sys

            if "matplotlib.pyplot" not in sys.modules:
                mpl.use("Agg")
            _LazyPyplot._mod = require("matplotlib.pyplot", purpose="figures")
        return getattr(_LazyPyplot._mod, name)


plt = _LazyPyplot()

__all__ = [
    "model_summary_figure",
    "ranking_figure",
    "baseline_figure",
    "heatmap_figure",
    "country_heatmap_figure",
    "steering_figure",
    "temporal_figure",
    "forest_figure",
    "sensitivity_figure",
    "consistency_figure",
]

_CLASS_COLORS = {"over": "#1b9e77", "appropriate": "#7570b3", "under": "#d95f02", "undefined": "grey"}


def _short(name, n=22):
    s = str(name).split("/")[-1]
    return s if len(s) <= n else s[: n - 1] + "…"


def model_summary_figure(scores, *, metric="wasserstein"):
    """Fig. 2a: distribution over countries of each model's alignment (box plot with each country a point)."""
    models = sorted(scores["model"].unique(), key=lambda m: -scores.loc[scores["model"] == m, "alignment"].mean())
    data = [scores.loc[scores["model"] == m, "alignment"].dropna().to_numpy() for m in models]
    fig, ax = plt.subplots(figsize=(max(4.5, 1.1 * len(models) + 2), 4.4))
    # every country is drawn as a point, so the box plot draws no separate outliers
    ax.boxplot(data, showmeans=True, showfliers=False,
               meanprops=dict(marker="D", markerfacecolor="black", markeredgecolor="black", markersize=4))
    ax.set_xticks(range(1, len(models) + 1), [_short(m, 30) for m in models])
    rng = np.random.default_rng(0)
    for i, d in enumerate(data, start=1):
        ax.scatter(i + rng.uniform(-0.12, 0.12, len(d)), d, s=8, alpha=0.4, color="tab:blue", zorder=3)
    for i, d in enumerate(data, start=1):
        if len(d):
            ax.annotate(f"{np.mean(d):.3f}", (i, np.max(d)), textcoords="offset points", xytext=(0, 6),
                        ha="center", fontsize=8)
    ax.set_ylabel(f"alignment with a country ({metric})")
    ax.set_title("Model level: alignment across countries\n(box: quartiles; diamond: mean; points: countries)",
                 fontsize=10)
    plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    ax.margins(y=0.08)
    fig.tight_layout()
    return fig


def ranking_figure(ranking, model):
    """Fig. 2b: the top and bottom k countries of one model: mean over questions with ± sd whiskers."""
    sub = ranking.loc[ranking["model"] == model].drop_duplicates(["country"]).sort_values("rank")
    fig, ax = plt.subplots(figsize=(6.5, 0.38 * len(sub) + 1.6))
    y = np.arange(len(sub))[::-1]
    colors = ["#1b9e77" if e == "top" else "#d95f02" for e in sub["end"]]
    a = sub["alignment"].to_numpy(dtype=float)
    sd = sub["sd"].to_numpy(dtype=float) if "sd" in sub.columns else np.full(len(sub), np.nan)
    has_sd = np.isfinite(sd).any()
    ax.scatter(a, y, color=colors, s=30, zorder=3)
    if has_sd:
        for col in set(colors):
            k = np.array([c == col for c in colors])
            ax.errorbar(a[k], y[k], xerr=np.nan_to_num(sd[k]), fmt="none", ecolor=col, capsize=3, lw=1.2, zorder=2)
    ax.set_yticks(y, [f"{c} (#{r})" for c, r in zip(sub["country"], sub["rank"])])
    lo = np.nanmin(a - (np.nan_to_num(sd) if has_sd else 0))
    hi = np.nanmax(a + (np.nan_to_num(sd) if has_sd else 0))
    pad = 0.08 * max(hi - lo, 0.01)
    ax.set_xlim(lo - pad, hi + 3 * pad)
    for yy, v, e in zip(y, a, np.nan_to_num(sd)):
        ax.text(v + (e if has_sd else 0), yy, f"  {v:.3f}", va="center", fontsize=8)
    ax.set_xlabel("alignment (point: mean over questions; whisker: ± sd over questions)" if has_sd
                  else "alignment (mean over questions; no sd: one question)")
    ax.set_title(f"Most (green) and least (orange) aligned countries:\n{_short(model, 60)}", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def _spread_labels(ys, gap):
    """Nudge label y-positions (in the order given) apart by at least `gap`, keeping them near their points."""
    order = np.argsort(ys)
    pos = np.asarray(ys, dtype=float).copy()
    placed = pos[order]
    for i in range(1, len(placed)):
        placed[i] = max(placed[i], placed[i - 1] + gap)
    # centre the block shift so labels stay around their points
    shift = np.mean(placed - pos[order])
    placed -= shift / 2
    for i in range(1, len(placed)):
        placed[i] = max(placed[i], placed[i - 1] + gap)
    pos[order] = placed
    return pos


def baseline_figure(scores, model, *, tolerance=0.02, n_labels=4):
    """Fig. 2c: model vs average-human alignment per country, y = x and the tolerance band.

    The `n_labels` most over- and under-aligned countries are labelled; labels
    are spread apart vertically and joined to their points.
    """
    sub = scores.loc[scores["model"] == model]
    fig, ax = plt.subplots(figsize=(6.2, 5.6))
    lo = float(np.nanmin(sub[["alignment", "baseline"]].to_numpy())) - 0.01
    hi = float(np.nanmax(sub[["alignment", "baseline"]].to_numpy())) + 0.01
    xs = np.array([lo - 0.2 * (hi - lo), hi + 0.2 * (hi - lo)])
    ax.plot(xs, xs, color="black", lw=1, label="y = x")
    ax.fill_between(xs, xs - tolerance, xs + tolerance, color="grey", alpha=0.15,
                    label=f"appropriate: ± {tolerance:g}")
    for cls, g in sub.groupby("classification"):
        ax.scatter(g["baseline"], g["alignment"], s=22, color=_CLASS_COLORS.get(cls, "grey"),
                   label=f"{cls} ({len(g)})", zorder=3)
    lab = pd.concat([sub.nlargest(n_labels, "difference"), sub.nsmallest(n_labels, "difference")]).drop_duplicates(
        "country")
    span = hi - lo
    for side, part in (("above", lab[lab["difference"] >= 0]), ("below", lab[lab["difference"] < 0])):
        if part.empty:
            continue
        ty = _spread_labels(part["alignment"].to_numpy(dtype=float), 0.035 * span)
        dx = -0.06 * span if side == "above" else 0.06 * span
        for (_, r), yy in zip(part.iterrows(), ty):
            ax.annotate(str(r["country"]), (r["baseline"], r["alignment"]), xytext=(r["baseline"] + dx, yy),
                        fontsize=7, ha="right" if side == "above" else "left", va="center",
                        arrowprops=dict(arrowstyle="-", color="grey", lw=0.5))
    ax.set_xlim(lo - 0.1 * span, hi + 0.1 * span)
    ax.set_ylim(lo - 0.05 * span, hi + 0.05 * span)
    ax.set_xlabel("average-human distribution's alignment with the country")
    ax.set_ylabel(f"{_short(model, 40)}'s alignment with the country")
    ax.set_title("Over / under / appropriate alignment", fontsize=10)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, frameon=False)
    fig.tight_layout()
    return fig


def heatmap_figure(matrix, *, title, cmap="viridis", annotate=None, xlabel="", ylabel="", order=True,
                   vmin=None, vmax=None):
    """Draw a labelled heatmap of a wide matrix (Fig. 19: model x country).

    A matrix with many more columns than rows is drawn transposed (one row per
    column label).  With `order`, rows and columns are sorted by their mean
    (highest first) instead of alphabetically.  Labels are never truncated.
    """
    mat = matrix.copy()
    if mat.shape[1] > 2 * mat.shape[0] and mat.shape[1] > 15:
        mat = mat.T
    if order:
        mat = mat.loc[mat.mean(axis=1).sort_values(ascending=False).index,
                      mat.mean(axis=0).sort_values(ascending=False).index]
    m = mat.to_numpy(dtype=float)
    nr, nc = m.shape
    longest_col = max((len(str(c)) for c in mat.columns), default=5)
    fig, ax = plt.subplots(figsize=(min(26, max(5.5, 2.6 + 0.5 * nc)),
                                    min(30, max(3.0, 1.6 + 0.23 * nr + 0.07 * longest_col))))
    im = ax.imshow(m, cmap=cmap, aspect="auto", vmin=vmin, vmax=vmax)
    ax.set_xticks(range(nc), [str(c) for c in mat.columns], rotation=45 if nc <= 12 else 90,
                  ha="right" if nc <= 12 else "center", fontsize=7)
    ax.set_yticks(range(nr), [str(r) for r in mat.index], fontsize=7 if nr > 30 else 8)
    if annotate is None:
        annotate = nr * nc <= 500
    if annotate:
        mid = np.nanmean(m)
        for i in range(nr):
            for j in range(nc):
                if np.isfinite(m[i, j]):
                    ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=6,
                            color="white" if m[i, j] < mid else "black")
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.01, label="alignment")
    ax.set_title(title + (" (sorted by mean)" if order else ""), fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.tight_layout()
    return fig


def country_heatmap_figure(countries, scores, model, *, k=6):
    """Fig. 4: country x country alignment of the first and last `k` countries of `model`, plus the model's row."""
    sub = scores.loc[scores["model"] == model].sort_values("rank")
    chosen = list(sub["country"].head(k)) + [c for c in sub["country"].tail(k) if c not in set(sub["country"].head(k))]
    mat = countries.pivot(index="country_a", columns="country_b", values="alignment").reindex(index=chosen,
                                                                                              columns=chosen)
    row = sub.set_index("country")["alignment"].reindex(chosen)
    mat.loc[_short(model, 40)] = row.to_numpy()
    return heatmap_figure(mat, title=f"Alignment among the first/last {k} countries of {_short(model, 40)}",
                          annotate=True, order=False)


def steering_figure(table, country, *, vlim=None):
    """Tables 1/9 as a figure: alignment per steering method and model for one country, stars for p-values.

    The colour range is the same for every country of `table` and at least
    0.1 wide (default: from the table's minimum, rounded down to 0.05, to 1 =
    perfect alignment), so small differences are not blown up.
    """
    sub = table.loc[table["country"] == country]
    methods = list(pd.unique(sub["method"]))
    models = list(pd.unique(sub["model"]))
    if vlim is None:
        lo = float(np.nanmin(table["alignment"].to_numpy(dtype=float)))
        vlim = (min(np.floor(lo / 0.05) * 0.05, 0.9), 1.0)
    fig, ax = plt.subplots(figsize=(2.4 + 1.0 * len(models), 0.45 * len(methods) + 2.0))
    mat = sub.pivot(index="method", columns="model", values="alignment").reindex(index=methods, columns=models)
    stars = sub.pivot(index="method", columns="model", values="stars").reindex(index=methods, columns=models)
    im = ax.imshow(mat.to_numpy(dtype=float), cmap="viridis", aspect="auto", vmin=vlim[0], vmax=vlim[1])
    mid = (vlim[0] + vlim[1]) / 2
    for i in range(len(methods)):
        for j in range(len(models)):
            v = mat.iat[i, j]
            if np.isfinite(v):
                s = stars.iat[i, j] if isinstance(stars.iat[i, j], str) else ""
                ax.text(j, i, f"{v:.3f}{s}", ha="center", va="center", fontsize=7,
                        color="white" if v < mid else "black")
    ax.set_xticks(range(len(models)), [str(m) for m in models], rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(methods)), methods, fontsize=8)
    fig.colorbar(im, ax=ax, fraction=0.04, label=f"alignment (scale {vlim[0]:.2f}-{vlim[1]:.2f})")
    ax.set_title(f"Steering towards {country}\n(* p<.05, ** p<.01, *** p<.001 vs no steering)", fontsize=9)
    fig.tight_layout()
    return fig


def temporal_figure(by_wave, *, wave="wave"):
    """Fig. 3: mean alignment per wave over countries, shaded ± sd.

    Consecutive waves are joined by a line only when they cover the same
    set: the same ``questions`` and ``countries_set`` (or, failing that, the
    same ``n_countries``) where the table has those columns; a wave whose
    set differs stands alone as a point.
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    keys = [c for c in ("questions", "countries_set") if c in by_wave.columns]
    if "countries_set" not in by_wave.columns and "n_countries" in by_wave.columns:
        keys.append("n_countries")
    broken = False
    for m, g in by_wave.groupby("model", sort=True):
        g = g.sort_values(wave)
        x = g[wave].to_numpy(dtype=float)
        y = g["mean"].to_numpy(dtype=float)
        s = np.nan_to_num(g["sd"].to_numpy(dtype=float))
        sets = [tuple(str(v) for v in row) for row in g[keys].itertuples(index=False)] if keys else [()] * len(g)
        # runs of consecutive waves over the same set
        runs, start = [], 0
        for i in range(1, len(g) + 1):
            if i == len(g) or sets[i] != sets[start]:
                runs.append(slice(start, i))
                start = i
        broken |= len(runs) > 1
        color = None
        for k, r in enumerate(runs):
            line, = ax.plot(x[r], y[r], marker="o", color=color, label=f"{_short(m, 30)}" if k == 0 else None)
            color = line.get_color()
            ax.fill_between(x[r], y[r] - s[r], y[r] + s[r], color=color, alpha=0.15)
    ax.set_xlabel("WVS wave")
    ax.set_ylabel("mean alignment over countries")
    ax.set_xticks(sorted(by_wave[wave].unique()))
    ax.set_title("Alignment across waves (band: ± sd over countries)"
                 + ("\nlines join only waves with the same countries and questions" if broken else ""), fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, frameon=False)
    fig.tight_layout()
    return fig


def forest_figure(table, model, *, overall=None, factors=None, title=None, xlim=None, interval=None):
    """ESS-paper Figs. 2-4: estimate and CI of every group of every factor, dashed line at the overall score.

    Parameters
    ----------
    table : DataFrame
        ``model, factor, group, alignment, ci_low, ci_high, n[, small_cell]``;
        with ``null_low``/``null_high`` (random-group null) a grey band per
        group shows the range chance composition of a group that size gives.
    model : str
    overall : float, optional
        The whole population's score (dashed line).
    factors : list of str, optional
    title : str, optional
    xlim : (float, float), optional
        A fixed x-range (pass the same to every model's plot to compare them).
    interval : str, optional
        What the bars are, for the axis label (default "95% CI").
    """
    sub = table.loc[table["model"] == model]
    if factors is None:
        factors = [f for f in pd.unique(sub["factor"]) if f != "(all)"]
    has_null = {"null_low", "null_high"} <= set(sub.columns)
    rows, labels, colors, is_head = [], [], [], []
    for f in factors:
        g = sub.loc[sub["factor"] == f]
        if g.empty:
            continue
        rows.append(None)
        labels.append(str(f))
        is_head.append(True)
        colors.append("black")
        for _, r in g.iterrows():
            rows.append(r)
            flag = " †" if bool(r.get("small_cell", False)) else ""
            labels.append(f"   {r['group']} (n={int(r['n'])}){flag}")
            is_head.append(False)
            colors.append("grey" if flag else "tab:blue")
    n = len(rows)
    fig, ax = plt.subplots(figsize=(7.4, 0.22 * n + 2.0))
    y = np.arange(n)[::-1]
    null_drawn = False
    for yy, r, c in zip(y, rows, colors):
        if r is None:
            continue
        if has_null and np.isfinite(r["null_low"]) and np.isfinite(r["null_high"]):
            ax.fill_between([r["null_low"], r["null_high"]], yy - 0.35, yy + 0.35, color="0.85", lw=0, zorder=1,
                            label=None if null_drawn else "random-group null (95%)")
            null_drawn = True
        lo, hi = r["ci_low"], r["ci_high"]
        if np.isfinite(lo) and np.isfinite(hi):
            ax.errorbar(r["alignment"], yy, xerr=[[r["alignment"] - lo], [hi - r["alignment"]]],
                        fmt="o", color=c, ms=3.5, capsize=2, lw=1, zorder=3)
        else:
            ax.plot(r["alignment"], yy, "o", color=c, ms=3.5, zorder=3)
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_ylim(-0.8, n - 0.2)
    for t, h in zip(ax.get_yticklabels(), is_head):
        if h:
            t.set_fontweight("bold")
    if overall is not None and np.isfinite(overall):
        ax.axvline(overall, ls="--", color="black", lw=1, label=f"whole population {overall:.3f}", zorder=2)
    if xlim is not None:
        ax.set_xlim(*xlim)
    handles, _ = ax.get_legend_handles_labels()
    if handles:  # above the plot, where it cannot hide a group's interval
        ax.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, frameon=False)
    import textwrap

    ax.set_xlabel(textwrap.fill(f"alignment (point: estimate; bar: {interval or '95% CI'}; † small cell)", 75),
                  fontsize=8)
    ax.set_title(title or f"Alignment by socio-demographic group: {_short(model, 50)}", fontsize=10, pad=22)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def sensitivity_figure(pairs, table):
    """Table 2 as scatter plots: country scores under the default vs each perturbed prompt, with r."""
    conds = list(pd.unique(pairs["condition"]))
    fig, axes = plt.subplots(1, len(conds), figsize=(4.4 * len(conds), 4.9), squeeze=False)
    for ax, c in zip(axes[0], conds):
        g = pairs.loc[pairs["condition"] == c]
        t = table.loc[table["condition"] == c].set_index("model")["r"]
        for m, gm in g.groupby("model", sort=True):
            r = t.get(m, np.nan)
            ax.scatter(gm["default"], gm["perturbed"], s=12, alpha=0.7, label=f"{_short(m, 60)} (r = {r:.3f})")
        lo = float(np.nanmin(g[["default", "perturbed"]].to_numpy())) - 0.01
        hi = float(np.nanmax(g[["default", "perturbed"]].to_numpy())) + 0.01
        ax.plot([lo, hi], [lo, hi], color="black", lw=0.8)
        ax.set_title(f"default vs {c}", fontsize=10)
        ax.set_xlabel("country score, default prompt")
        ax.set_ylabel("country score, perturbed prompt")
        # the legend (with each model's r) goes below the axes, never over the points
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1, frameon=False)
    fig.tight_layout()
    return fig


def consistency_figure(table):
    """Section 7.2: internal-consistency rate per model and topic (grouped bars)."""
    topics = list(pd.unique(table["topic"]))
    models = list(pd.unique(table["model"]))
    fig, ax = plt.subplots(figsize=(2.5 + 1.1 * len(models), 4.2))
    w = 0.8 / max(1, len(topics))
    x = np.arange(len(models))
    for i, t in enumerate(topics):
        vals = [table.loc[(table["model"] == m) & (table["topic"] == t), "rate"].mean() for m in models]
        ax.bar(x + i * w - 0.4 + w / 2, vals, width=w, label=t)
    ax.set_xticks(x, [_short(m, 60) for m in models], rotation=25, ha="right", fontsize=8)
    ax.set_ylim(0, 1.0)
    ax.set_ylabel("internal consistency rate")
    ax.set_title("Share of a topic's answers in its majority opinion group", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title="topic")
    fig.tight_layout()
    return fig
