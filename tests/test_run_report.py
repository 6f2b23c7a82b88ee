"""The run's page (``rewardsmith run --report``, ``RunResult._repr_html_``): what a person looks at
must show the function, the prior against the fit rows, the candidates and the figures, and must
never turn LM-written text into markup."""

import base64
import json
import os
import re
import shutil

import dspy
import numpy as np
import pandas as pd
import pytest
from fake_openai_server import FakeOpenAIServer
from scripted_responders import make_responder

from rewardsmith.cli import main
from rewardsmith.data.rows import RowTable
from rewardsmith.lm import scripted_lm
from rewardsmith.programs import RewardProgram
from rewardsmith.report.page import dependence_curves, run_page
from rewardsmith.sandbox import ScoringFunction

PRIOR = {"composition": "higher", "lighting": "higher", "color_palette": "lower"}
PNG = b"\x89PNG\r\n\x1a\n"


def scripted_run(code=None, prior=PRIOR):
    responder = make_responder(prior=prior) if code is None else make_responder(code, prior=prior)
    lm, _ = scripted_lm(responder)
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        return RewardProgram(rounds=1, samples=1, min_gain=-2.0).run("seed")


@pytest.fixture(scope="module")
def result():
    return scripted_run()


def images(page: str) -> list[bytes]:
    return [base64.b64decode(data) for data in
            re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)]


def test_page_holds_the_code_the_prior_table_the_candidates_and_two_figures(result):
    page = run_page(result)
    assert page.startswith("<!doctype html>") and "<script" not in page
    assert '<pre><code class="function">' in page and "def score(attrs):" in page
    # every attribute in the prior table, with the fit rows' rho and whether they agree
    for name in result.task.fit_rows.attributes:
        assert f"<td>{name}</td>" in page
    assert re.search(r"<td>color_palette</td><td>lower</td>.*?<td>(yes|no)</td>", page)
    assert "stated directions agree with the fit rows" in page
    chosen = re.findall(r'<tr class="chosen"><td>chosen</td><td>([^<]+)</td>', page)
    assert chosen == [result.chosen]
    pictures = images(page)
    assert len(pictures) == 2 and all(p.startswith(PNG) for p in pictures)


def test_lm_written_markup_in_the_code_is_shown_as_text_not_run():
    code = ('def score(attrs):\n    """</code></pre><script>alert(1)</script>"""\n'
            '    return attrs["composition"]\n')
    page = run_page(scripted_run(code))
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_run_whose_lm_failed_says_so_at_the_top(result):
    from dataclasses import replace

    page = run_page(replace(result, lm_note="statistical answer only: the LM failed 4 of 4 calls"))
    assert '<p class="warn">statistical answer only: the LM failed 4 of 4 calls</p>' in page
    assert page.index("class=\"warn\"") < page.index("<h2>")


def test_notebook_display_is_a_fragment_with_the_same_content(result):
    fragment = result._repr_html_()
    assert fragment.startswith('<div class="rs-run">') and "<html" not in fragment
    assert "def score(attrs):" in fragment and len(images(fragment)) == 2


def test_an_attribute_the_function_fails_on_gets_no_line_and_is_named():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0] * 3, "b": np.arange(12.0),
                          "y": np.arange(12.0)})
    rows = RowTable(frame, ["a", "b"], "y")
    # the grid over a's range holds its median 2.5, where this function divides by zero
    function = ScoringFunction("def score(attrs):\n    return attrs['b'] / (attrs['a'] - 2.5)\n")
    curves, failed = dependence_curves(function, rows)
    assert failed == ["a"] and list(curves) == ["b"]
    grid, means, values = curves["b"]
    assert grid[0] == 0.0 and grid[-1] == 11.0 and len(means) == len(grid)


def test_dependence_line_is_the_mean_score_over_the_fit_rows():
    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0], "b": [10.0, 20.0, 30.0], "y": [1.0, 2.0, 3.0]})
    rows = RowTable(frame, ["a", "b"], "y")
    function = ScoringFunction("def score(attrs):\n    return attrs['a'] * attrs['b']\n")
    curves, _ = dependence_curves(function, rows, points=3)
    grid, means, _ = curves["a"]
    assert list(grid) == [0.0, 1.0, 2.0]
    assert list(means) == pytest.approx([0.0, 20.0, 40.0])  # a times the mean of b


def run_with_report(capsys, tmp_path, *extra):
    program = RewardProgram(rounds=1, samples=1).save(tmp_path / "program.json")
    page = tmp_path / "run.html"
    with FakeOpenAIServer(make_responder(prior=PRIOR)) as server:
        code = main(["run", "--program", str(program), "--data", "seed", "--report", str(page),
                     "--lm", "openai/fake-model", "--api-base", server.url, "--no-cache",
                     *extra])
    captured = capsys.readouterr()
    return code, page, captured, server


def test_run_report_writes_one_self_contained_page(capsys, tmp_path):
    code, page, captured, _ = run_with_report(capsys, tmp_path)
    assert code == 0, captured.err
    assert f"wrote {page}" in captured.out
    text = page.read_text(encoding="utf-8")
    assert "def score(attrs):" in text and len(images(text)) == 2
    assert not re.search(r'(src|href)="(http|//)', text)  # nothing fetched from elsewhere
    assert not list(tmp_path.glob("*.tmp*"))


def test_report_without_matplotlib_stops_before_any_lm_call(capsys, tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    code, page, captured, server = run_with_report(capsys, tmp_path)
    assert code == 2 and "pip install 'rewardsmith[report]'" in captured.err
    assert server.requests == 0 and not page.exists()


# -- the page in a real browser: Debian's chromium, driven through chromedriver -------------------

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("REWARDSMITH_REQUIRE_BROWSER"):
            pytest.fail("chromium and chromedriver are required here (apt-get install chromium "
                        "chromium-driver)")
        pytest.skip("no chromium/chromedriver: apt-get install chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1200,1600"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def test_the_page_renders_its_figures_and_code_in_a_browser(browser, result, tmp_path):
    path = tmp_path / "run.html"
    result.to_html(path)
    browser.get(path.as_uri())
    figures = browser.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, "
        "i.naturalHeight, i.getBoundingClientRect().width, i.alt]);")
    assert len(figures) == 2
    for complete, width, height, shown, alt in figures:
        assert complete and width > 300 and height > 200 and shown > 300, alt
    code = browser.execute_script(
        "const c = document.querySelector('code.function');"
        "const r = c.getBoundingClientRect(); return [c.innerText, r.width, r.height];")
    assert code[0].startswith(result.function.source.strip().splitlines()[0])
    assert code[1] > 200 and code[2] > 30
    chosen = browser.execute_script(
        "return document.querySelector('tr.chosen').innerText;")
    assert result.chosen in chosen
    assert browser.get_screenshot_as_png().startswith(PNG)
    assert json.loads(browser.execute_script("return JSON.stringify(document.title)")) == (
        "rewardsmith run: seed")
