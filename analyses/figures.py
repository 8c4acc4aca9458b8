"""Figures of the studies (matplotlib, Agg backend), in the papers' figure types.

Every function takes the tidy tables of a study and returns a
:class:`matplotlib.figure.Figure`; :class:`analyses.provenance.StudyWriter`
saves it as PNG and PDF.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

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
    """Fig. 2a: distribution over countries of each model's alignment (box plot with points)."""
    models = sorted(scores["model"].unique(), key=lambda m: -scores.loc[scores["model"] == m, "alignment"].mean())
    data = [scores.loc[scores["model"] == m, "alignment"].to_numpy() for m in models]
    fig, ax = plt.subplots(figsize=(max(4.5, 1.1 * len(models) + 2), 4.2))
    ax.boxplot(data, showmeans=True, meanprops=dict(marker="D", markerfacecolor="black", markersize=4))
    ax.set_xticks(range(1, len(models) + 1), [_short(m) for m in models])
    rng = np.random.default_rng(0)
    for i, d in enumerate(data, start=1):
        ax.scatter(i + rng.uniform(-0.12, 0.12, len(d)), d, s=8, alpha=0.4, color="tab:blue")
    for i, d in enumerate(data, start=1):
        ax.annotate(f"{np.mean(d):.3f}", (i, np.max(d)), textcoords="offset points", xytext=(0, 6),
                    ha="center", fontsize=8)
    ax.set_ylabel(f"alignment with a country ({metric})")
    ax.set_title("Model level: alignment across countries (diamond = mean)")
    plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    fig.tight_layout()
    return fig


def ranking_figure(ranking, model):
    """Fig. 2b: the top and bottom k countries of one model, mean with ± sd over questions."""
    sub = ranking.loc[ranking["model"] == model].drop_duplicates(["country"]).sort_values("rank")
    fig, ax = plt.subplots(figsize=(6.5, 0.38 * len(sub) + 1.5))
    y = np.arange(len(sub))[::-1]
    colors = ["#1b9e77" if e == "top" else "#d95f02" for e in sub["end"]]
    ax.barh(y, sub["alignment"], xerr=sub["sd"], color=colors, alpha=0.85, capsize=3)
    ax.set_yticks(y, [f"{c} (#{r})" for c, r in zip(sub["country"], sub["rank"])])
    lo = max(0.0, float((sub["alignment"] - sub["sd"]).min()) - 0.05)
    ax.set_xlim(lo, min(1.0, float((sub["alignment"] + sub["sd"]).max()) + 0.02))
    for yy, v in zip(y, sub["alignment"]):
        ax.text(v, yy, f" {v:.3f}", va="center", fontsize=8)
    ax.set_xlabel("alignment (bar: mean over questions, whisker: ± sd)")
    ax.set_title(f"Most (green) and least (orange) aligned countries: {_short(model, 40)}")
    fig.tight_layout()
    return fig


def baseline_figure(scores, model, *, tolerance=0.02):
    """Fig. 2c: model vs average-human alignment per country, y = x and the tolerance band."""
    sub = scores.loc[scores["model"] == model]
    fig, ax = plt.subplots(figsize=(5.6, 5.2))
    lo = float(np.nanmin(sub[["alignment", "baseline"]].to_numpy())) - 0.01
    hi = float(np.nanmax(sub[["alignment", "baseline"]].to_numpy())) + 0.01
    xs = np.array([lo, hi])
    ax.plot(xs, xs, color="black", lw=1, label="y = x (appropriate)")
    ax.fill_between(xs, xs - tolerance, xs + tolerance, color="grey", alpha=0.15, label=f"± {tolerance:g}")
    for cls, g in sub.groupby("classification"):
        ax.scatter(g["baseline"], g["alignment"], s=22, color=_CLASS_COLORS.get(cls, "grey"),
                   label=f"{cls} ({len(g)})", zorder=3)
    lab = pd.concat([sub.nlargest(4, "difference"), sub.nsmallest(4, "difference")]).drop_duplicates("country")
    for _, r in lab.iterrows():
        ax.annotate(str(r["country"]), (r["baseline"], r["alignment"]), fontsize=7, xytext=(3, 2),
                    textcoords="offset points")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("average-human distribution's alignment with the country")
    ax.set_ylabel(f"{_short(model, 30)}'s alignment with the country")
    ax.set_title("Over / under / appropriate alignment")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def heatmap_figure(matrix, *, title, cmap="viridis", annotate=None, xlabel="", ylabel=""):
    """A labelled heatmap of a wide matrix (Fig. 19: model x country)."""
    m = matrix.to_numpy(dtype=float)
    nr, nc = m.shape
    fig, ax = plt.subplots(figsize=(min(24, max(5.5, 2.0 + 0.45 * nc)), min(16, max(3.0, 1.4 + 0.26 * nr))))
    im = ax.imshow(m, cmap=cmap, aspect="auto")
    ax.set_xticks(range(nc), [_short(c, 16) for c in matrix.columns], rotation=90, fontsize=7)
    ax.set_yticks(range(nr), [_short(r, 24) for r in matrix.index], fontsize=8)
    if annotate is None:
        annotate = nr * nc <= 400
    if annotate:
        for i in range(nr):
            for j in range(nc):
                if np.isfinite(m[i, j]):
                    ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=6,
                            color="white" if m[i, j] < np.nanmean(m) else "black")
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.01, label="alignment")
    ax.set_title(title)
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
    mat.loc[_short(model, 24)] = row.to_numpy()
    return heatmap_figure(mat, title=f"Alignment among the first/last {k} countries of {_short(model, 30)}",
                          annotate=True)


def steering_figure(table, country):
    """Tables 1/9 as a figure: alignment per steering method and model for one country, stars for p-values."""
    sub = table.loc[table["country"] == country]
    methods = list(pd.unique(sub["method"]))
    models = list(pd.unique(sub["model"]))
    fig, ax = plt.subplots(figsize=(1.3 + 0.9 * len(models), 0.45 * len(methods) + 1.8))
    mat = sub.pivot(index="method", columns="model", values="alignment").reindex(index=methods, columns=models)
    stars = sub.pivot(index="method", columns="model", values="stars").reindex(index=methods, columns=models)
    im = ax.imshow(mat.to_numpy(dtype=float), cmap="viridis", aspect="auto")
    for i in range(len(methods)):
        for j in range(len(models)):
            v = mat.iat[i, j]
            if np.isfinite(v):
                s = stars.iat[i, j] if isinstance(stars.iat[i, j], str) else ""
                ax.text(j, i, f"{v:.3f}{s}", ha="center", va="center", fontsize=7,
                        color="white" if v < np.nanmean(mat.to_numpy(dtype=float)) else "black")
    ax.set_xticks(range(len(models)), [_short(m, 14) for m in models], rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(methods)), methods, fontsize=8)
    fig.colorbar(im, ax=ax, fraction=0.04, label="alignment")
    ax.set_title(f"Steering towards {country} (* p<.05, ** p<.01, *** p<.001 vs no steering)", fontsize=9)
    fig.tight_layout()
    return fig


def temporal_figure(by_wave, *, wave="wave"):
    """Fig. 3: mean alignment per wave over the tau-filtered countries, shaded ± sd."""
    fig, ax = plt.subplots(figsize=(6.2, 4.2))
    for m, g in by_wave.groupby("model", sort=True):
        g = g.sort_values(wave)
        x = g[wave].to_numpy(dtype=float)
        y = g["mean"].to_numpy(dtype=float)
        s = np.nan_to_num(g["sd"].to_numpy(dtype=float))
        line, = ax.plot(x, y, marker="o", label=f"{_short(m)}")
        ax.fill_between(x, y - s, y + s, color=line.get_color(), alpha=0.15)
    ax.set_xlabel("WVS wave")
    ax.set_ylabel("mean alignment over filtered countries")
    ax.set_xticks(sorted(by_wave[wave].unique()))
    ax.set_title("Alignment across waves (shaded: ± sd over countries)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def forest_figure(table, model, *, overall=None, factors=None, title=None):
    """ESS-paper Figs. 2-4: mean and CI of every group of every factor, dashed line at the overall score."""
    sub = table.loc[table["model"] == model]
    if factors is None:
        factors = [f for f in pd.unique(sub["factor"]) if f != "(all)"]
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
    fig, ax = plt.subplots(figsize=(7.2, 0.22 * n + 1.4))
    y = np.arange(n)[::-1]
    for yy, r, c in zip(y, rows, colors):
        if r is None:
            continue
        ax.errorbar(r["alignment"], yy, xerr=[[r["alignment"] - r["ci_low"]], [r["ci_high"] - r["alignment"]]],
                    fmt="o", color=c, ms=3.5, capsize=2, lw=1)
    ax.set_yticks(y, labels, fontsize=7)
    for t, h in zip(ax.get_yticklabels(), is_head):
        if h:
            t.set_fontweight("bold")
    if overall is not None and np.isfinite(overall):
        ax.axvline(overall, ls="--", color="black", lw=1, label=f"whole population {overall:.3f}")
        ax.legend(fontsize=7, loc="lower right")
    ax.set_xlabel("alignment (point: estimate, bar: bootstrap CI; † small cell)")
    ax.set_title(title or f"Alignment by socio-demographic group: {_short(model, 40)}", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def sensitivity_figure(pairs, table):
    """Table 2 as scatter plots: country scores under the default vs each perturbed prompt, with r."""
    conds = list(pd.unique(pairs["condition"]))
    fig, axes = plt.subplots(1, len(conds), figsize=(4.2 * len(conds), 4.2), squeeze=False)
    for ax, c in zip(axes[0], conds):
        g = pairs.loc[pairs["condition"] == c]
        for m, gm in g.groupby("model", sort=True):
            ax.scatter(gm["default"], gm["perturbed"], s=12, alpha=0.7, label=_short(m, 16))
        lo = float(np.nanmin(g[["default", "perturbed"]].to_numpy())) - 0.01
        hi = float(np.nanmax(g[["default", "perturbed"]].to_numpy())) + 0.01
        ax.plot([lo, hi], [lo, hi], color="black", lw=0.8)
        t = table.loc[table["condition"] == c]
        txt = "\n".join(f"{_short(r['model'], 14)}: r={r['r']:.3f}" for _, r in t.iterrows())
        ax.text(0.02, 0.98, txt, transform=ax.transAxes, va="top", fontsize=7)
        ax.set_title(f"default vs {c}")
        ax.set_xlabel("country score, default prompt")
        ax.set_ylabel("country score, perturbed prompt")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def consistency_figure(table):
    """Section 7.2: internal-consistency rate per model and topic (grouped bars)."""
    topics = list(pd.unique(table["topic"]))
    models = list(pd.unique(table["model"]))
    fig, ax = plt.subplots(figsize=(1.5 + 1.1 * len(models), 3.8))
    w = 0.8 / max(1, len(topics))
    x = np.arange(len(models))
    for i, t in enumerate(topics):
        vals = [table.loc[(table["model"] == m) & (table["topic"] == t), "rate"].mean() for m in models]
        ax.bar(x + i * w - 0.4 + w / 2, vals, width=w, label=t)
    ax.set_xticks(x, [_short(m, 16) for m in models], rotation=25, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("internal consistency rate")
    ax.set_title("Share of a topic's answers in its majority opinion group")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
