"""The page at ``/`` in a real headless Chromium: search, click into a history, set a user
field, apply a rule, and read the top 10 (with both stages' scores) off the page.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them); without them
the test is skipped locally and fails under CI. It writes a screenshot into its tmp dir.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from benchmarks.serve.process import Server
from ytrec_infer import Recommender

CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,900",
)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        message = "needs Debian's chromium and chromium-driver (apt-get install -y ...)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    options.binary_location = chromium
    chrome = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver))
    chrome.set_page_load_timeout(30)
    try:
        yield chrome
    finally:
        chrome.quit()


def _rows(chrome: webdriver.Chrome) -> list[list[str]]:
    """The result table's cells, read in one script (the page may redraw it meanwhile)."""
    rows: list[list[str]] = chrome.execute_script(
        "return [...document.querySelectorAll('#results tbody tr')]"
        ".map(tr => [...tr.cells].map(td => td.textContent))"
    )
    return rows


def _wait(chrome: webdriver.Chrome, condition: object) -> None:
    WebDriverWait(chrome, 20).until(condition)  # type: ignore[arg-type]


def _pick(chrome: webdriver.Chrome, query: str, title: str) -> None:
    """Type ``query`` into the search box and click the result titled ``title``."""
    box = chrome.find_element(By.ID, "search")
    box.clear()
    box.send_keys(query)
    script = (
        "return [...document.querySelectorAll('#search-results li')]"
        ".find(li => li.firstChild.textContent === arguments[0]) || null;"
    )

    def click(driver: webdriver.Chrome) -> bool:
        li = driver.execute_script(script, title)
        try:
            li.click()  # a real click; the list may be redrawn between finding and clicking
        except (AttributeError, StaleElementReferenceException):
            return False
        return True

    _wait(chrome, click)


def _ids_after(chrome: webdriver.Chrome, before: list[list[str]]) -> list[int]:
    _wait(chrome, lambda d: len(_rows(d)) == 10 and _rows(d) != before)
    return [int(row[2]) for row in _rows(chrome)]


def test_page_builds_a_history_and_shows_the_top_10(
    browser: webdriver.Chrome, server: Server, artifact_dir: Path, tmp_path: Path
) -> None:
    rec = Recommender.load(artifact_dir)
    browser.get(server.url + "/")
    _wait(browser, lambda d: d.find_element(By.ID, "model").text.startswith("model v"))
    _wait(browser, lambda d: len(_rows(d)) == 10)  # cold start: the most popular items
    cold = _rows(browser)
    assert [int(r[2]) for r in cold] == list(rec.recommend([], k=10).item_ids)

    _pick(browser, "star wars", rec.catalog.title(50))
    first = _ids_after(browser, cold)
    assert first == list(rec.recommend([50], k=10).item_ids)
    before = _rows(browser)
    _pick(browser, "empire", rec.catalog.title(172))
    history = [
        int(li.get_attribute("data-id"))
        for li in browser.find_elements(By.CSS_SELECTOR, "#history li")
    ]
    assert history == [50, 172]
    ranked = _ids_after(browser, before)
    expected = rec.recommend([50, 172], k=10)
    assert ranked == list(expected.item_ids)
    shown = _rows(browser)
    assert [r[1] for r in shown] == [r.title for r in expected]
    for row, item in zip(shown, expected):  # score, retrieval and ranker columns
        assert float(row[4]) == pytest.approx(item.retrieval_score, abs=2e-3)
        assert float(row[5]) == pytest.approx(item.ranker_score, abs=2e-3)
    assert "stage: ranked" in browser.find_element(By.ID, "status").text

    browser.find_element(By.CSS_SELECTOR, "#user summary").click()
    before = _rows(browser)
    Select(browser.find_element(By.ID, "user-occupation")).select_by_value("student")
    with_user = _ids_after(browser, before)
    assert with_user == list(
        rec.recommend([50, 172], k=10, user={"occupation": "student"}).item_ids
    )

    user = {"occupation": "student"}
    before = _rows(browser)
    dropped = with_user[:2]
    Select(browser.find_element(By.ID, "rule-kind")).select_by_value("exclude")
    rule = browser.find_element(By.ID, "rule-ids")
    rule.send_keys(", ".join(map(str, dropped)) + Keys.TAB)  # TAB: the change event
    excluded = _ids_after(browser, before)
    assert not set(excluded) & set(dropped)
    assert excluded == list(rec.recommend([50, 172], k=10, user=user, exclude=dropped).item_ids)

    before = _rows(browser)
    allowed = list(range(1, 61))
    Select(browser.find_element(By.ID, "rule-kind")).select_by_value("allowed")
    rule.clear()
    rule.send_keys(",".join(map(str, allowed)) + Keys.TAB)
    only = _ids_after(browser, before)
    assert set(only) <= set(allowed)
    assert only == list(rec.recommend([50, 172], k=10, user=user, allowed=allowed).item_ids)

    browser.save_screenshot(str(tmp_path / "page.png"))
    assert (tmp_path / "page.png").stat().st_size > 10_000
