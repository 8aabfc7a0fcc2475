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

CHROMIUM = os.environ.get("NHSBOOK_CHROMIUM") or shutil.which("chromium") or \
    shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    not CHROMIUM and not os.environ.get("CI_REQUIRE_BROWSER"),
    reason="Debian's chromium is not installed (.ci/run installs it)")

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
        b = pw.chromium.launch(executable_path=CHROMIUM,
                               args=["--no-sandbox", "--disable-gpu"])
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
            timeout=30000)
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
    page, _, _ = _open(browser, server + PAGES["ccg_profile"])
    links = [a.get_attribute("href") for a in page.locator("figure.nhsbook-chart a").all()]
    assert any(h.endswith(".svg") for h in links) and any(h.endswith(".csv") for h in links)
    for href in links:
        resp = page.request.get(server + "areas/E38000115/" + href)
        assert resp.ok, href
        if href.endswith(".svg"):
            assert resp.text().lstrip().startswith("<svg")
    page.context.close()


@pytest.mark.parametrize("name", ["landing", "ccg_profile", "locality_population"])
def test_accessibility_axe(name, server, browser):
    from axe_playwright_python.sync_playwright import Axe
    page, _, _ = _open(browser, server + PAGES[name])
    _wait_for_charts(page)
    results = Axe().run(page)
    serious = [v for v in results.response["violations"]
               if v.get("impact") in ("serious", "critical")]
    assert not serious, "\n".join(f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
                                  for v in serious)
    page.context.close()


def test_profile_page_links_its_pdf_report(server, browser, shots):
    """The board report link of a profile page leads to the area's PDF (issue 25), which
    Chromium's PDF viewer opens (in a headed browser; headless Chromium downloads it)."""
    page, external, errors = _open(browser, server + PAGES["ccg_profile"])
    link = page.locator('a[href$="reports/E38000115.pdf"]').first
    assert link.is_visible() and "PDF report" in link.inner_text()
    url = page.evaluate("h => new URL(h, location.href).href", link.get_attribute("href"))
    assert url == server + "reports/E38000115.pdf"
    with page.expect_download() as info:   # follow the link as a reader does
        try:
            link.click()
        except Exception:  # noqa: BLE001 - the navigation turned into a download
            pass
    body = Path(info.value.path()).read_bytes()
    assert body[:5] == b"%PDF-" and b"/Type /Page" in body or b"/Type/Page" in body
    response = page.request.get(url)
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert not external and not errors
    page.context.close()
