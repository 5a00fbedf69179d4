"""The HTML report as a colleague opens it: a real headless browser (Debian's chromium
through selenium) loads it without network access or console errors, draws every
figure, sorts tables and toggles legend entries."""

import re
import shutil

import numpy as np
import pytest

import optbench
from optbench.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A report of 30 learning-rate configurations, a problem without a known optimum,
    and a Pareto comparison."""
    folder = tmp_path_factory.mktemp("report")
    db = folder / "runs.sqlite"
    grids = [f"{name}[learning_rate=logspace(-3,0,10)]" for name in ("gd", "momentum", "adam")]
    optbench.run(["quadratic"], grids, seeds=2, max_steps=100, db=db)
    optbench.run(["quadratic", "xor"], ["lm", "scipy_bfgs"], seeds=2, max_steps=100, db=db)
    optbench.run(["zdt1"], ["nsga2[pop_size=20]"], seeds=2, max_evals=400, db=db)
    path = folder / "report.html"
    assert main(["report", "--db", str(db), "--output", str(path)]) == 0
    return path


def test_the_report_is_one_self_contained_file(report):
    text = report.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), "the report must not load anything"
    assert "<link" not in text and "<script src" not in text
    for section in ("What was run", "Summary", "Fixed-target views", "Expected running time", "Statistics",
                    "Convergence per problem", "Pareto fronts"):  # fmt: skip
        assert f"<h2>{section}</h2>" in text
    assert text.count("<figure") >= 6  # ECDF, two profiles, 2 convergence plots, a front
    assert "no known optimum for xor" in text


def test_an_unwritable_report_path_is_one_message(report, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    db = report.parent / "runs.sqlite"
    assert main(["report", "--db", str(db), "--output", str(blocker / "report.html")]) == 2
    assert "cannot write" in capsys.readouterr().err and blocker.read_text() == "not a folder"


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium drives the browser test")
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("Debian's chromium and chromium-driver are not installed (make test installs them with apt)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1000"):  # fmt: skip
        options.add_argument(flag)
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def _open(browser, report):
    """Load the report and wait until its script has set up tables and legends."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(report.as_uri())
    ready = lambda driver: driver.execute_script("return document.body && document.body.dataset.ready") == "yes"
    try:
        WebDriverWait(browser, 60).until(ready)
    except Exception as err:  # say what the page said
        raise AssertionError(f"the report's script did not finish: {browser.get_log('browser')}") from err


def test_the_report_renders_in_a_browser(report, browser, tmp_path):
    from matplotlib.image import imread
    from selenium.webdriver.common.by import By

    _open(browser, report)
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
    figures = browser.find_elements(By.CSS_SELECTOR, "figure svg")
    assert len(figures) >= 6
    for svg in figures:
        box = browser.execute_script("const b = arguments[0].getBBox(); return [b.width, b.height];", svg)
        assert box[0] > 100 and box[1] > 100
        assert len(svg.find_elements(By.CSS_SELECTOR, "path")) > 10
    shot = tmp_path / "page.png"
    browser.save_screenshot(str(shot))
    pixels = imread(shot)
    assert pixels.std() > 0.05 and len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)) > 50


def test_report_tables_sort_and_legend_entries_toggle_their_lines(report, browser):
    from selenium.webdriver.common.by import By

    _open(browser, report)
    table = browser.find_element(By.CSS_SELECTOR, "#summary table.sortable")
    header = next(th for th in table.find_elements(By.CSS_SELECTOR, "th") if th.text == "fun_median")
    column = [th.text for th in table.find_elements(By.CSS_SELECTOR, "th")].index("fun_median")
    cells = lambda: [
        td.get_attribute("data-sort") for td in table.find_elements(By.CSS_SELECTOR, f"td:nth-child({column + 1})")
    ]
    header.click()
    values = cells()
    numbers = [float(v) for v in values if v]
    assert numbers == sorted(numbers) and header.get_attribute("data-order") == "asc"
    assert values[len(numbers) :] == [""] * (len(values) - len(numbers))  # blanks (all skipped) last
    header.click()
    numbers = [float(v) for v in cells() if v]
    assert numbers == sorted(numbers, reverse=True) and len(numbers) > 10

    entry = browser.find_element(By.CSS_SELECTOR, '#ecdf [id$="-leg-text"]')
    series = entry.get_attribute("id").removesuffix("-leg-text")
    line = browser.find_element(By.CSS_SELECTOR, f'[id="{series}-a0"]')
    assert line.value_of_css_property("display") != "none"
    browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", entry)
    assert line.value_of_css_property("display") == "none"
    browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", entry)
    assert line.value_of_css_property("display") != "none"
