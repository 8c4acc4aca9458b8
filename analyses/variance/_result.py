"""Result object of a variance decomposition."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["DecompositionResult", "GroupDecompositionResult", "hdi"]


def hdi(x, prob=0.9):
    """Shortest interval holding ``prob`` of the samples along the last axis.

    Returns
    -------
    low, high : ndarray
    """
    x = np.sort(np.asarray(x, dtype=float), axis=-1)
    n = x.shape[-1]
    k = int(np.floor(prob * n))
    if k < 1 or k >= n:
        return x[..., 0], x[..., -1]
    widths = x[..., k:] - x[..., : n - k]
    i = np.argmin(widths, axis=-1)
    low = np.take_along_axis(x, i[..., None], -1)[..., 0]
    high = np.take_along_axis(x, (i + k)[..., None], -1)[..., 0]
    return low, high


@dataclass
class DecompositionResult:
    """Posterior of a crossed variance decomposition, per model.

    Attributes
    ----------
    idata : arviz.InferenceData
        ``posterior`` holds, with dims ``(chain, draw, model, ...)``:
        ``sd_super`` and ``sd_finite`` (component), ``share``, ``share_total``,
        ``var_explained`` (component), ``sigma``, ``intercept``,
        ``cov_remainder`` and ``effect_<component>`` (``<component>_level``).
        ``sample_stats`` holds the sampler statistics.
    diagnostics : dict
        ``r_hat_max``, ``ess_bulk_min``, ``ess_tail_min``, ``divergences``,
        ``max_treedepth_hits``, ``ebfmi_min``, ``passed`` (bool), ``failures``
        (list of str), ``thresholds`` and ``per_model`` (the same per model).
    timings : dict
        Seconds spent compiling and sampling (``compile_s``, ``sample_s``, ``total_s``).
    reml : pandas.DataFrame or None
        REML estimates (``model``, ``component``, ``sd_reml``) when requested.
    hdi_prob : float
        Interval mass used by :meth:`summary`.
    info : dict
        Data facts: rows, rank, outcome mean and SD, sampler, settings.
    """

    idata: object
    diagnostics: dict
    timings: dict
    reml: pd.DataFrame | None = None
    hdi_prob: float = 0.9
    info: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Whether every sampler diagnostic passed its threshold."""
        return bool(self.diagnostics["passed"])

    @property
    def models(self) -> list:
        return [str(m) for m in self.idata.posterior["model"].values]

    @property
    def components(self) -> list:
        return [str(c) for c in self.idata.posterior["component"].values]

    def _draws(self, name):
        da = self.idata.posterior[name]
        dims = [d for d in da.dims if d not in ("chain", "draw")]
        return da.stack(sample=("chain", "draw")).transpose(*dims, "sample").values

    def summary(self, *, hdi_prob=None):
        """Tidy table: one row per model × component (plus ``residual``).

        Parameters
        ----------
        hdi_prob : float, optional
            Interval mass (default: the result's ``hdi_prob``, 0.9).

        Returns
        -------
        pandas.DataFrame
            ``model``, ``component``, ``n_levels``, ``sd`` / ``sd_low`` /
            ``sd_high`` (finite-population SD: posterior median and HDI),
            ``sd_super`` / ``sd_super_low`` / ``sd_super_high`` (superpopulation
            SD), ``share`` / ``share_low`` / ``share_high`` (share of the
            between-group variance, ``s_k^2 / sum_j s_j^2``), ``share_total``
            (``s_k^2 / (sum_j s_j^2 + sigma^2)``), ``var_explained`` (weighted
            variance across respondents of the component's contribution) and,
            when REML was requested, ``sd_reml``.  The ``residual`` row holds the
            residual SD in ``sd`` and ``sd_super`` and NaN shares.
        """
        prob = self.hdi_prob if hdi_prob is None else float(hdi_prob)
        if not 0 < prob < 1:
            raise ValueError(f"`hdi_prob` must be in (0, 1), got {prob}.")
        rows = []
        draws = {v: self._draws(v) for v in ("sd_finite", "sd_super", "share", "share_total", "var_explained", "sigma")}
        nlev = self.info.get("n_levels", {})
        for i, m in enumerate(self.models):
            for k, c in enumerate(self.components):
                row = {"model": m, "component": c, "n_levels": nlev.get(c, np.nan)}
                for v, out in (("sd_finite", "sd"), ("sd_super", "sd_super"), ("share", "share")):
                    x = draws[v][i, k]
                    lo, hi = hdi(x, prob)
                    row.update({out: float(np.median(x)), f"{out}_low": float(lo), f"{out}_high": float(hi)})
                row["share_total"] = float(np.median(draws["share_total"][i, k]))
                row["var_explained"] = float(np.median(draws["var_explained"][i, k]))
                rows.append(row)
            x = draws["sigma"][i]
            lo, hi = hdi(x, prob)
            med = float(np.median(x))
            rows.append({"model": m, "component": "residual", "n_levels": np.nan, "sd": med, "sd_low": float(lo),
                         "sd_high": float(hi), "sd_super": med, "sd_super_low": float(lo), "sd_super_high": float(hi),
                         "share": np.nan, "share_low": np.nan, "share_high": np.nan, "share_total": np.nan,
                         "var_explained": np.nan})
        out = pd.DataFrame(rows)
        if self.reml is not None:
            out = out.merge(self.reml[["model", "component", "sd_reml"]], on=["model", "component"], how="left")
        return out

    def effects(self, *, hdi_prob=None):
        """Posterior of every group effect (deviation from the grand mean).

        Returns
        -------
        pandas.DataFrame
            ``model``, ``component``, ``level``, ``mean``, ``median``, ``low``, ``high``.
        """
        prob = self.hdi_prob if hdi_prob is None else float(hdi_prob)
        rows = []
        for c in self.components:
            x = self._draws(f"effect_{c}")  # model × level × sample
            levels = [str(v) for v in self.idata.posterior[f"{c}_level"].values]
            lo, hi = hdi(x, prob)
            for i, m in enumerate(self.models):
                for j, lev in enumerate(levels):
                    rows.append({"model": m, "component": c, "level": lev, "mean": float(x[i, j].mean()),
                                 "median": float(np.median(x[i, j])), "low": float(lo[i, j]), "high": float(hi[i, j])})
        return pd.DataFrame(rows)

    def reml_comparison(self):
        """REML SDs side by side with the posterior medians (finite-population and superpopulation).

        Returns
        -------
        pandas.DataFrame
            ``model``, ``component``, ``sd_reml``, ``sd`` (finite-population
            median), ``sd_low``, ``sd_high``, ``sd_super``.
        """
        if self.reml is None:
            raise ValueError("REML was not run; call `decompose_variance(..., reml=True)`.")
        s = self.summary()
        return s[["model", "component", "sd_reml", "sd", "sd_low", "sd_high", "sd_super"]]

    def plot(self, path=None, *, kind="components", model=None):
        """Forest plot of the component SDs or of the group effects.

        Parameters
        ----------
        path : str or path-like, optional
            Where to save the figure (format from the suffix: ``.png``, ``.pdf``).
        kind : {"components", "effects"}
            Component finite-population SDs (dots: medians, bars: HDI; crosses:
            superpopulation medians) or every group effect.
        model : str, optional
            Model to plot (default: all for components, the first for effects).

        Returns
        -------
        matplotlib.figure.Figure
        """
        from ._plot import plot_components, plot_effects

        if kind == "components":
            fig = plot_components(self.summary(), model=model, hdi_prob=self.hdi_prob)
        elif kind == "effects":
            fig = plot_effects(self.effects(), model=model or self.models[0], hdi_prob=self.hdi_prob)
        else:
            raise ValueError(f"`kind` must be one of ['components', 'effects'], got {kind!r}.")
        if path is not None:
            fig.savefig(path, bbox_inches="tight")
        return fig

    def to_netcdf(self, path):
        """Save :attr:`idata` (ArviZ netcdf)."""
        self.idata.to_netcdf(str(path))
        return path

    def __repr__(self):
        d = self.diagnostics
        return (f"DecompositionResult(models={self.models}, components={self.components}, passed={d['passed']}, "
                f"r_hat_max={d['r_hat_max']:.3f}, ess_bulk_min={d['ess_bulk_min']:.0f}, divergences={d['divergences']})")


@dataclass
class GroupDecompositionResult:
    """Posterior of the between-group spread of group alignment (``estimand="group"``).

    Attributes
    ----------
    models : list of str
    components : list of str
        Country, each factor, and the interaction (if any), in order.
    sd_draws : ndarray, shape (S, M, K)
        Finite-population SD of the group alignments of each component, per draw.
    alignment_draws : ndarray, shape (S, M, G)
        Alignment of every group (every level of every component, every
        interaction cell) with every model, per draw.
    groups : GroupSet
        The groups (``component``, ``level``, ``n``) in the order of ``alignment_draws``.
    sd_super : ndarray, shape (S_all, K)
        Posterior draws of the hyper-SDs of the effects on the rescaled answer scale.
    sigma : ndarray, shape (S_all, O)
        Residual SD of each outcome.
    diagnostics, timings, info : dict
    hdi_prob : float
        Mass of the intervals (default 0.9).
    """

    models: list
    components: list
    sd_draws: np.ndarray
    alignment_draws: np.ndarray
    groups: object
    sd_super: np.ndarray
    sigma: np.ndarray
    hyper_names: list
    diagnostics: dict
    timings: dict
    hdi_prob: float = 0.9
    info: dict = field(default_factory=dict)
    sample_stats: object = None

    estimand = "group"

    @property
    def passed(self) -> bool:
        """Whether every sampler diagnostic passed its threshold."""
        return bool(self.diagnostics["passed"])

    def _interval_text(self, prob):
        return (f"{round(prob * 100):g}% equal-tailed posterior interval; estimand: between-group SD of group "
                f"alignment; {_how(self.info.get('sampler', ''))} on the hyper-parameters, "
                f"{self.sd_draws.shape[0]} effect draws")

    def summary(self, *, hdi_prob=None):
        """One row per model × component.

        Returns
        -------
        pandas.DataFrame
            ``model``, ``component``, ``n_levels``, ``sd`` (posterior median
            of the finite-population SD of the groups' alignments), ``sd_low``,
            ``sd_high`` (equal-tailed interval of mass ``hdi_prob``, 0.9 by
            default), ``share`` / ``share_low`` / ``share_high`` (``s_k^2 /
            sum_j s_j^2``), ``sd_super`` (median hyper-SD of the component's
            effects on the answer scale rescaled to [0, 1]) and ``interval``
            (the interval in words).
        """
        prob = self.hdi_prob if hdi_prob is None else float(hdi_prob)
        if not 0 < prob < 1:
            raise ValueError(f"`hdi_prob` must be in (0, 1), got {prob}.")
        q = [(1 - prob) / 2, 0.5, (1 + prob) / 2]
        s = self.sd_draws
        share = s**2 / np.maximum((s**2).sum(axis=-1, keepdims=True), 1e-300)
        sq = np.quantile(s, q, axis=0)  # 3 × M × K
        shq = np.quantile(share, q, axis=0)
        hyper = dict(zip(self.hyper_names, np.median(self.sd_super, axis=0)))
        text = self._interval_text(prob)
        rows = []
        for i, m in enumerate(self.models):
            for k, c in enumerate(self.components):
                rows.append({"model": m, "component": c, "n_levels": self.info.get("n_levels", {}).get(c, np.nan),
                             "sd": float(sq[1, i, k]), "sd_low": float(sq[0, i, k]), "sd_high": float(sq[2, i, k]),
                             "share": float(shq[1, i, k]), "share_low": float(shq[0, i, k]),
                             "share_high": float(shq[2, i, k]), "sd_super": float(hyper.get(c, np.nan)),
                             "interval": text})
        return pd.DataFrame(rows)

    def alignments(self, *, hdi_prob=None):
        """Posterior of every group's alignment with every model.

        Returns
        -------
        pandas.DataFrame
            ``model``, ``component``, ``group``, ``n`` (respondents),
            ``alignment`` (posterior median), ``ci_low``, ``ci_high``.
        """
        prob = self.hdi_prob if hdi_prob is None else float(hdi_prob)
        q = np.quantile(self.alignment_draws, [(1 - prob) / 2, 0.5, (1 + prob) / 2], axis=0)  # 3 × M × G
        g = self.groups
        frames = []
        for i, m in enumerate(self.models):
            frames.append(pd.DataFrame({"model": m, "component": g.component, "group": g.level, "n": g.n,
                                        "alignment": q[1, i], "ci_low": q[0, i], "ci_high": q[2, i]}))
        return pd.concat(frames, ignore_index=True)

    def __repr__(self):
        d = self.diagnostics
        head = f"GroupDecompositionResult(models={self.models}, components={self.components}, passed={d['passed']}, "
        if self.info.get("sampler") == "laplace-is":
            return head + f"pareto_k={d['pareto_k']:.2f}, ess_is={d['ess_bulk_min']:.0f})"
        return head + (f"r_hat_max={d['r_hat_max']:.3f}, ess_bulk_min={d['ess_bulk_min']:.0f}, "
                       f"divergences={d['divergences']})")


def _how(sampler):
    if sampler == "laplace-is":
        return "Laplace importance sampling (PSIS)"
    return f"{sampler} NUTS".strip()
