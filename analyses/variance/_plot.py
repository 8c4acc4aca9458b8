"""Forest plots of a decomposition."""

from __future__ import annotations

import numpy as np

from alignstat._optional import require

__all__ = ["plot_components", "plot_effects"]


def plot_components(summary, *, model=None, hdi_prob=0.9):
    Figure = require("matplotlib.figure", purpose="decomposition plots").Figure

    s = summary[summary["component"] != "residual"]
    models = [model] if model is not None else list(dict.fromkeys(s["model"]))
    comps = list(dict.fromkeys(s["component"]))
    fig = Figure(figsize=(6.5, 0.35 * len(comps) * len(models) + 1.5))
    ax = fig.subplots()
    y = np.arange(len(comps))[::-1].astype(float)
    off = np.linspace(-0.25, 0.25, len(models)) if len(models) > 1 else [0.0]
    for j, m in enumerate(models):
        sm = s[s["model"] == m].set_index("component").loc[comps]
        yy = y + off[j]
        ax.errorbar(sm["sd"], yy, xerr=[sm["sd"] - sm["sd_low"], sm["sd_high"] - sm["sd"]], fmt="o", ms=4,
                    capsize=2, label=f"{m}: finite-population SD")
        ax.plot(sm["sd_super"], yy, "x", color="0.4", ms=4)
    ax.set_yticks(y, comps)
    ax.set_xlabel(f"SD of group effects (median, {int(round(hdi_prob * 100))}% HDI; x: superpopulation)")
    ax.axvline(0, color="0.8", lw=0.8)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def plot_effects(effects, *, model, hdi_prob=0.9):
    Figure = require("matplotlib.figure", purpose="decomposition plots").Figure

    e = effects[effects["model"] == model]
    e = e[~e["component"].str.contains(":")]
    labels = [f"{c}: {lev}" for c, lev in zip(e["component"], e["level"])]
    fig = Figure(figsize=(6.5, 0.16 * len(e) + 1.5))
    ax = fig.subplots()
    y = np.arange(len(e))[::-1]
    comp_ids = {c: i for i, c in enumerate(dict.fromkeys(e["component"]))}
    colors = [f"C{comp_ids[c] % 10}" for c in e["component"]]
    ax.hlines(y, e["low"], e["high"], colors=colors, lw=1.2)
    ax.scatter(e["median"], y, c=colors, s=10, zorder=3)
    ax.axvline(0, color="0.6", lw=0.8, ls="--")
    ax.set_yticks(y, labels, fontsize=6)
    ax.set_xlabel(f"group effect on alignment ({model}; median, {int(round(hdi_prob * 100))}% HDI)")
    fig.tight_layout()
    return fig
