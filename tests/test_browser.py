"""The built site in a real browser: Debian's Chromium driven by Playwright, offline.

The site is served on 127.0.0.1; every request that would leave localhost is blocked and
recorded, and the tests fail if there was any.  Each page must draw all its charts (an SVG
with marks inside every chart figure), log no console error, and pass the axe-core
accessibility check without serious or critical violations.  Screenshots go to
``build/test-output/browser/``.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = (
    os.environ.get("NHSBOOK_CHROMIUM")
    or shutil.which("chromium")
    or shutil.which("chromium-browser")
)
pytestmark = pytest.mark.skipif(
    not CHROMIUM and not os.environ.get("CI_REQUIRE_BROWSER"),
    reason="Debian's chromium is not installed (.ci/run installs it)",
)

PAGES = {
    "landing": "index.html",
    "ccg_profile": "areas/E38000115/jsna_profile.html",
    "locality_population": "areas/ND-DRO/population.html",
    "ccg_variation": "areas/E38000115/practice_variation.html",
    "practice_profile": "areas/SYN05/jsna_profile.html",
    "ccg_maps": "areas/E38000115/maps.html",
    "locality_overview": "areas/ND-CHE/overview.html",
    "ccg_spot": "areas/E38000115/spot.html",
    "cluster_finance": "areas/DERBYSHIRE-CLUSTER/finance.html",
    "ccg_inequalities": "areas/E38000115/inequalities.html",
}


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output readable
        pass


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM:
        pytest.fail("CI_REQUIRE_BROWSER is set but chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(root) -> Path:
    out = root / "build" / "test-output" / "browser"
    out.mkdir(parents=True, exist_ok=True)
    return out


def _open(browser, url: str):
    """A page with network outside localhost blocked; returns (page, external, errors)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    external: list[str] = []
    errors: list[str] = []

    def route(r):
        host = urlparse(r.request.url).hostname
        if r.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="load")
    return page, external, errors


def _wait_for_charts(page) -> int:
    n = page.locator("figure.nhsbook-chart").count()
    if n:
        page.wait_for_function(
            """() => [...document.querySelectorAll('figure.nhsbook-chart')].every(
                   f => f.querySelector('svg .mark-group, svg path, svg .mark-symbol'))""",
            timeout=30000,
        )
    return n


@pytest.mark.parametrize("name", list(PAGES))
def test_page_draws_offline_without_errors(name, server, browser, shots, site):
    if not (site / PAGES[name]).is_file():
        pytest.fail(f"{PAGES[name]} was not built")
    page, external, errors = _open(browser, server + PAGES[name])
    charts = _wait_for_charts(page)
    page.screenshot(path=str(shots / f"{name}.png"), full_page=False)
    assert not external, f"requests left localhost: {external[:5]}"
    assert not errors, f"console errors: {errors[:5]}"
    if name != "landing":
        assert charts > 0, "no chart on the page"
        for fig in page.locator("figure.nhsbook-chart").all():
            assert fig.get_attribute("aria-label"), "a chart without a text description"
            assert fig.locator("figcaption").inner_text().strip()
    page.context.close()


def test_landing_page_links_every_area(server, browser, site):
    import pandas as pd

    page, _, _ = _open(browser, server + "index.html")
    hrefs = {a.get_attribute("href") for a in page.locator("a").all()}
    areas = pd.read_parquet(site.parents[2] / "build" / "default" / "areas.parquet")
    with_pages = areas[areas["area_type"].isin(["ccg", "locality", "practice"])]
    for code in with_pages["area_code"]:
        assert any(h and f"areas/{code}/" in h for h in hrefs), code
    page.context.close()


def test_each_chart_has_its_static_svg_and_csv(server, browser, site):
    """Every chart offers its data as CSV (a file of the site) and itself as SVG: the button
    downloads the SVG vega draws of the chart on the page."""
    page, _, _ = _open(browser, server + PAGES["ccg_profile"])
    _settle(page)
    figures = page.locator("figure.nhsbook-chart").all()
    assert figures
    for fig in figures:
        links = [a.get_attribute("href") for a in fig.locator("a[download]").all()]
        assert any(h.endswith(".csv") for h in links), links
        for href in links:
            assert page.request.get(server + "areas/E38000115/" + href).ok, href
        assert fig.locator("button.nhsbook-svg").count() == 1
    with page.expect_download() as info:
        figures[0].locator("button.nhsbook-svg").click()
    download = info.value
    assert download.suggested_filename.startswith("E38000115-jsna_profile-")
    assert download.suggested_filename.endswith(".svg")
    with open(download.path(), encoding="utf-8") as fh:
        text = fh.read()
    assert text.lstrip().startswith("<svg") and "</svg>" in text
    page.context.close()


@pytest.mark.parametrize("name", ["landing", "ccg_profile", "locality_population"])
def test_accessibility_axe(name, server, browser):
    from axe_playwright_python.sync_playwright import Axe

    page, _, _ = _open(browser, server + PAGES[name])
    _settle(page)  # the renderer redraws a chart wider than its column: test the page drawn
    results = Axe().run(page)
    serious = [
        v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")
    ]
    assert not serious, "\n".join(
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)" for v in serious
    )
    page.context.close()


# --- pages a reader can read: every chart whole at desktop and phone widths ----------------

#: Viewport widths: a desktop and a phone (and a small laptop for the default book).
WIDTHS = (1400, 390)
DEFAULT_WIDTHS = (1400, 1024, 390)
#: One page of each type of the default book (the pages of PAGES and these).
DEFAULT_TYPES = {
    **{k: v for k, v in PAGES.items() if k != "landing"},
    "locality_pack": "areas/ND-CHE/locality_pack.html",
    "cluster_performance": "areas/DERBYSHIRE-CLUSTER/performance.html",
    "locality_profile": "areas/ND-CHE/jsna_profile.html",
}


def _derbyshire_types(site: Path) -> dict[str, str]:
    """One page of each type of the derbyshire-2021 book (the first area of each type)."""
    import pandas as pd

    areas = pd.read_parquet(site.parents[2] / "build" / "derbyshire-2021" / "areas.parquet")
    first = {
        t: str(areas.loc[areas["area_type"] == t, "area_code"].sort_values().iloc[0])
        for t in ("ccg", "pcn", "practice", "district")
    }
    pages = {
        "ccg_profile": (first["ccg"], "jsna_profile"),
        "ccg_variation": (first["ccg"], "practice_variation"),
        "ccg_overview": (first["ccg"], "overview"),
        "ccg_population": (first["ccg"], "population"),
        "ccg_maps": (first["ccg"], "maps"),
        "pcn_profile": (first["pcn"], "jsna_profile"),
        "practice_profile": (first["practice"], "jsna_profile"),
        "practice_variation": (first["practice"], "practice_variation"),
        "district_maps": (first["district"], "maps"),
    }
    return {k: f"areas/{c}/{nb}.html" for k, (c, nb) in pages.items()}


def _serve(site: Path):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"


@pytest.fixture(scope="module")
def derbyshire_server(derbyshire_site):
    httpd, url = _serve(derbyshire_site)
    yield url
    httpd.shutdown()


#: Per chart: the figure's and the drawn SVG's widths, the article's width, SVG text with
#: an ellipsis, and the SPOT quadrant's number label boxes.
_MEASURE = """() => {
  const article = document.querySelector('article') || document.body;
  const charts = [...document.querySelectorAll('figure.nhsbook-chart')].map(f => {
    const svg = f.querySelector('svg');
    return {figure: f.getBoundingClientRect().width,
            svg: svg ? parseFloat(svg.getAttribute('width')) : null,
            shown: svg ? svg.getBoundingClientRect().width : null,
            label: (f.getAttribute('aria-label') || '').slice(0, 60),
            ellipsis: svg ? [...svg.querySelectorAll('text')].map(t => t.textContent)
                            .filter(t => t.includes('\u2026')) : []};
  });
  const labels = [...document.querySelectorAll('g[class*="spot_labels"] text')].map(t => {
    const r = t.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, t.textContent];
  });
  return {article: article.getBoundingClientRect().width, charts: charts, labels: labels,
          page: document.documentElement.scrollWidth, viewport: window.innerWidth};
}"""


def _settle(page) -> None:
    """Wait until every chart is drawn at its column's width (the renderer draws again
    when the first drawing is wider than the column)."""
    _wait_for_charts(page)
    page.wait_for_timeout(600)
    _wait_for_charts(page)


def _check_layout(browser, url: str, width: int, shot: Path) -> list[str]:
    """What is wrong with the page at ``width``: charts wider than their figure or the
    article, a page wider than the screen, ellipses in chart text, SPOT labels that
    overlap.  Writes the page's screenshot to ``shot``."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="load")
    _settle(page)
    m = page.evaluate(_MEASURE)
    page.screenshot(path=str(shot), full_page=True)
    context.close()
    problems = [f"script error: {e}" for e in errors]
    for c in m["charts"]:
        if c["svg"] is None:
            problems.append(f"chart not drawn: {c['label']}")
            continue
        if c["svg"] > c["figure"] + 1 or c["svg"] > m["article"] + 1:
            problems.append(
                f"chart {c['svg']:.0f} px wide in a {c['figure']:.0f} px figure "
                f"({m['article']:.0f} px article): {c['label']}"
            )
        if c["ellipsis"]:
            problems.append(f"cut text {c['ellipsis'][:3]} in {c['label']}")
    if m["page"] > m["viewport"] + 1:
        problems.append(f"the page is {m['page']} px wide on a {m['viewport']} px screen")
    boxes = m["labels"]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            if a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5:
                problems.append(f"SPOT labels {a[4]} and {b[4]} overlap")
    return problems


@pytest.mark.parametrize("width", DEFAULT_WIDTHS)
@pytest.mark.parametrize("name", list(DEFAULT_TYPES))
def test_default_book_charts_fit_at_every_width(name, width, server, browser, shots, site):
    if not (site / DEFAULT_TYPES[name]).is_file():
        pytest.fail(f"{DEFAULT_TYPES[name]} was not built")
    problems = _check_layout(
        browser, server + DEFAULT_TYPES[name], width, shots / f"default-{name}-{width}.png"
    )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("width", WIDTHS)
def test_derbyshire_book_charts_fit_at_every_width(
    width, derbyshire_server, browser, shots, derbyshire_site
):
    problems = []
    for name, rel in _derbyshire_types(derbyshire_site).items():
        if not (derbyshire_site / rel).is_file():
            problems.append(f"{rel} was not built")
            continue
        problems += [
            f"{name}: {p}"
            for p in _check_layout(
                browser,
                derbyshire_server + rel,
                width,
                shots / f"derbyshire-2021-{name}-{width}.png",
            )
        ]
    assert not problems, "\n".join(problems)


def test_spot_labels_are_numbered_and_keyed(server, browser):
    """The SPOT quadrant names no programme on the plot (numbers, no overlap at any width,
    see above) and its key lists every number."""
    page, _, _ = _open(browser, server + PAGES["ccg_spot"])
    _settle(page)
    numbers = page.evaluate("""() => [...document.querySelectorAll(
        'g[class*="spot_labels"] text')].map(t => t.textContent)""")
    text = page.locator("figure.nhsbook-chart").first.inner_text()
    page.context.close()
    assert numbers and all(n.isdigit() for n in numbers)
    assert sorted(int(n) for n in numbers) == list(range(1, len(numbers) + 1))
    assert text  # the figure has its caption


def test_vega_bundle_loads_only_where_charts_are_drawn(server, browser, site):
    """Text-only pages do not load the 876 KB vega bundle; chart pages load it once."""
    from nhsbook.pages.renderer import BUNDLE

    landing = (site / "index.html").read_text(encoding="utf-8")
    methods = (site / "methods.html").read_text(encoding="utf-8")
    assert BUNDLE not in landing and BUNDLE not in methods
    requests: list[str] = []
    context = browser.new_context()
    page = context.new_page()
    page.on("request", lambda r: requests.append(r.url))
    page.goto(server + "index.html", wait_until="load")
    assert not any(BUNDLE in r for r in requests)
    page.goto(server + PAGES["ccg_profile"], wait_until="load")
    _wait_for_charts(page)
    assert sum(BUNDLE in r for r in requests) == 1
    context.close()


def test_notebooks_are_not_published_unless_the_book_asks(site):
    """No ``_sources/`` (page notebooks) and no link to them: ``publish_notebooks`` is off."""
    from nhsbook.config.book import load_book

    assert not load_book("default").publish_notebooks
    assert not (site / "_sources").exists()
    profile = (site / PAGES["ccg_profile"]).read_text(encoding="utf-8")
    assert "_sources/" not in profile and ".ipynb" not in profile.split("<body")[1]


def test_wide_tables_keep_their_header_and_indicator_in_view(server, browser):
    """On a phone the profile table scrolls inside its own box, its header row and its
    indicator column sticky."""
    context = browser.new_context(viewport={"width": 390, "height": 900})
    page = context.new_page()
    page.goto(server + PAGES["ccg_profile"], wait_until="load")
    style = page.evaluate("""() => {
      const t = document.querySelector('table.nhsbook-profile');
      const th = t.querySelector('thead th'), ind = t.querySelector('tbody tr > :nth-child(2)');
      return {overflow: getComputedStyle(t).overflowX, th: getComputedStyle(th).position,
              ind: getComputedStyle(ind).position, wide: t.scrollWidth > t.clientWidth,
              cue: getComputedStyle(t).backgroundImage};
    }""")
    context.close()
    assert style["overflow"] == "auto" and style["wide"]
    assert style["th"] == "sticky" and style["ind"] == "sticky"
    assert "gradient" in style["cue"]  # the scroll shadows


def test_profile_page_links_its_pdf_report(server, browser, shots):
    """The board report link of a profile page leads to the area's PDF (issue 25), served
    as a PDF (headless Chromium neither downloads it nor reports a download event)."""
    page, external, errors = _open(browser, server + PAGES["ccg_profile"])
    link = page.locator('a[href$="reports/E38000115.pdf"]').first
    assert link.is_visible() and "PDF report" in link.inner_text()
    url = page.evaluate("h => new URL(h, location.href).href", link.get_attribute("href"))
    assert url == server + "reports/E38000115.pdf"
    response = page.request.get(url)  # what following the link loads
    body = response.body()
    # a PDF with pages (its page objects sit in compressed object streams, issue 26)
    import pypdfium2 as pdfium

    assert body[:5] == b"%PDF-" and len(pdfium.PdfDocument(body)) >= 1
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert not external and not errors
    page.context.close()
