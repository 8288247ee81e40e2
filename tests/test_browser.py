"""The static report and the running leaderboard Space, driven in a real browser (Debian's Chromium through
its ChromeDriver). Screenshots are saved to test-artifacts/."""

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.fail(
            "Chromium and ChromeDriver are needed (`make browser` installs Debian's chromium and chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1100",
    ):
        options.add_argument(flag)
    options.binary_location = chromium
    session = webdriver.Chrome(service=Service(driver), options=options)
    ARTIFACTS.mkdir(exist_ok=True)
    yield session
    session.quit()


def wait_for(condition, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError("timed out waiting in the browser")


def test_the_static_report_sorts_and_shows_its_plots(browser, demo_results, tmp_path):
    from selenium.webdriver.common.by import By

    results = [demo_results / "results" / f"{m}.json" for m in ("random", "length", "shortest")]
    subprocess.run(
        [
            str(Path(sys.executable).parent / "social-rm"),
            "report",
            *map(str, results),
            "--comparison",
            str(demo_results / "repo" / "comparison.json"),
            "--out",
            str(tmp_path / "report.html"),
        ],
        check=True,
    )
    browser.get((tmp_path / "report.html").as_uri())

    def rows():
        return [
            r.find_elements(By.TAG_NAME, "td")[0].text
            for r in browser.find_elements(By.CSS_SELECTOR, "table.leaderboard tbody tr")
        ]

    assert sorted(rows()) == ["length", "random", "shortest"]
    headers = browser.find_elements(By.CSS_SELECTOR, "table.leaderboard th")
    column = [h.text for h in headers].index("over-caution ↓")
    headers[column].click()  # descending
    values = [
        float(r.find_elements(By.TAG_NAME, "td")[column].get_attribute("data-value"))
        for r in browser.find_elements(By.CSS_SELECTOR, "table.leaderboard tbody tr")
    ]
    assert values == sorted(values, reverse=True) and rows()[0] == "shortest"
    images = browser.find_elements(By.CSS_SELECTOR, "img.plot")
    # two trade-offs, the forest plot, and per model: domains, BBQ selection, length bias (baselines: no calibration)
    assert len(images) == 3 + 3 * 3 and all(
        browser.execute_script("return arguments[0].naturalWidth", img) > 100 for img in images
    )
    assert {"tradeoff", "safety-tradeoff", "forest"} <= {img.get_attribute("id") for img in images}
    ranks = browser.find_elements(By.CSS_SELECTOR, "table.ranks tbody tr")
    assert ranks and len(ranks) % 3 == 0  # each figure ranks the three models
    assert browser.find_elements(By.CSS_SELECTOR, "ul.best li")
    browser.set_window_size(1280, 900)  # the table is readable on a 1,280 px screen: no sideways scrolling
    width = browser.execute_script("return document.querySelector('table.leaderboard').offsetWidth")
    assert width <= browser.execute_script("return document.querySelector('div.wide').clientWidth")
    browser.save_screenshot(str(ARTIFACTS / "report.png"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def space(demo_results):
    port = free_port()
    env = {
        **__import__("os").environ,
        "SOCIAL_RM_RESULTS": str(demo_results / "repo"),
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    process = subprocess.Popen(
        [sys.executable, str(REPO / "leaderboard" / "app.py")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"

    def up():
        try:
            return urllib.request.urlopen(url, timeout=2).status == 200
        except OSError:
            return process.poll() is not None and pytest.fail(process.stdout.read().decode()[-2000:])

    wait_for(up, 90)
    yield url
    process.terminate()
    process.wait(10)


def test_the_leaderboard_space_lists_sorts_and_plots(browser, space, demo_results, monkeypatch):
    from selenium.webdriver.common.by import By

    monkeypatch.syspath_prepend(str(REPO / "leaderboard"))
    monkeypatch.setenv("SOCIAL_RM_RESULTS", str(demo_results / "repo"))
    import app

    documents = app.load()
    default = list(app.table(documents, "social score")["model"])
    key, expected = next(
        (k, list(app.table(documents, k)["model"]))
        for k in app.SORTABLE
        if list(app.table(documents, k)["model"]) != default
    )

    browser.get(space)

    def board() -> str:
        found = browser.find_elements(By.ID, "leaderboard")
        return found[0].text if found else ""

    wait_for(lambda: all(name in board() for name in ("random", "length", "shortest")), 60)
    order = lambda: sorted(("random", "length", "shortest"), key=board().index)  # noqa: E731
    assert order() == default
    browser.save_screenshot(str(ARTIFACTS / "leaderboard.png"))
    option = next(
        label for label in browser.find_elements(By.CSS_SELECTOR, "#sort-by label") if label.text == key
    )
    option.find_element(By.TAG_NAME, "input").click()
    wait_for(lambda: order() == expected, 30)
    assert browser.find_elements(By.CSS_SELECTOR, "#tradeoff img, #tradeoff svg")
    assert browser.find_elements(By.CSS_SELECTOR, "#safety-tradeoff img, #safety-tradeoff svg")

    tab = next(b for b in browser.find_elements(By.CSS_SELECTOR, "button[role='tab']") if b.text == "Model")
    tab.click()
    model = next(
        label
        for label in wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#model-choice label"))
        if label.text == "shortest"
    )
    model.find_element(By.TAG_NAME, "input").click()
    model_plots = ("domain-plot", "selection-plot", "length-plot", "calibration-plot")
    wait_for(
        lambda: all(browser.find_elements(By.CSS_SELECTOR, f"#{p} img, #{p} svg") for p in model_plots), 30
    )
    wait_for(lambda: all("processing" not in browser.find_element(By.ID, p).text for p in model_plots), 30)
    browser.save_screenshot(str(ARTIFACTS / "leaderboard-model.png"))
    tab = next(
        b for b in browser.find_elements(By.CSS_SELECTOR, "button[role='tab']") if b.text == "Comparison"
    )
    tab.click()
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#forest img, #forest svg"), 30)
    wait_for(lambda: "shortest" in browser.find_element(By.ID, "ranks").text, 30)
    browser.save_screenshot(str(ARTIFACTS / "leaderboard-comparison.png"))
