"""The HTML report renders in a real browser: headless Chromium loads every image and logs no error.

Chromium and chromedriver come from the project's set-up (``make`` installs the
Debian packages ``chromium`` and ``chromium-driver`` where missing); this test
fails, rather than skips, when they are absent.
"""

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses.runners import run_global

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _dists(keys, names, seed, qs):
    rng = np.random.default_rng(seed)
    rows = []
    for key in keys:
        for q in qs:
            p = rng.dirichlet(np.ones(4))
            rows += [(*key, q, float(k + 1), p[k]) for k in range(4)]
    return pd.DataFrame(rows, columns=[*names, "question", "option", "prob"])


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    qs = [f"Q{i}" for i in range(6)]
    human = _dists([(c,) for c in "ABCDEFGH"], ["country"], 1, qs)
    answers = _dists([(m,) for m in ["model/one", "model_two"]], ["model"], 2, qs)
    run_global(answers, human, root / "g", n_resamples=100, top_k=2, rng=0, max_model_figures=1,
               note="ILLUSTRATIVE: `test` data")
    return root / "g"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        pytest.fail("headless Chromium is needed for the report test: install the Debian packages `chromium` and "
                    "`chromium-driver` (the project's Makefile does this where missing).")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(DRIVER), options=opts)
    drv.set_page_load_timeout(60)
    yield drv
    drv.quit()


def test_report_is_self_contained(report_dir):
    html = (report_dir / "report.html").read_text()
    # no resource is fetched from anywhere: every image is a data URI, no link to a stylesheet or script
    assert "src='data:image/png;base64," in html
    assert "src='http" not in html and "<link" not in html and "<script" not in html
    assert "`" not in html and "0.0000" not in html
    # every table says what it shows and which interval
    assert html.count("<caption>") == html.count("<table>") >= 1
    assert "Intervals:" in html


def test_report_renders_in_headless_chromium(report_dir, browser):
    # the report moved out of its folder still shows every figure: it is self-contained
    alone = report_dir.parent / "alone.html"
    alone.write_bytes((report_dir / "report.html").read_bytes())
    browser.get(alone.as_uri())
    n_img = browser.execute_script("return document.images.length")
    assert n_img == len(list(report_dir.glob("*.png"))) >= 4
    widths = browser.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])")
    assert all(done and w > 0 for done, w, _ in widths), widths
    assert browser.execute_script("return document.querySelectorAll('table caption').length") >= 1
    text = browser.execute_script("return document.body.innerText")
    assert "`" not in text and "ILLUSTRATIVE" in text
    logs = browser.get_log("browser")
    assert not [e for e in logs if e["level"] == "SEVERE"], logs


def test_a_broken_image_would_be_caught(report_dir, browser, tmp_path):
    # the check can fail: a page with a broken image has naturalWidth 0 and a SEVERE log entry
    bad = tmp_path / "bad.html"
    bad.write_text("<!doctype html><html><body><img src='missing.png'></body></html>")
    browser.get(bad.as_uri())
    w = browser.execute_script("return document.images[0].naturalWidth")
    assert w == 0
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
