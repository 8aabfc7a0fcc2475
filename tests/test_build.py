"""The built default book, and the gate stopping a build on bad input."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from nhsbook.build.book import BuildFailed, build

AREAS = ["E38000115", "ND-CHE", "ND-DRO", "ND-HPK", "ND-NDA", "ND-NEA"]


def test_site_has_an_index_and_one_page_per_area(site):
    assert (site / "index.html").is_file()
    for code in AREAS:
        assert (site / "areas" / code / "jsna_profile.html").is_file(), code
    index = (site / "areas" / "index.html").read_text(encoding="utf-8")
    for code in AREAS:
        assert f"{code}/jsna_profile.html" in index


def test_the_site_publishes_no_chart_spec_report_drawing_or_source_map(site):
    """The specs pages keep for the reports (``*.vl.json``), the reports' drawings
    (``_svg/``) and the theme's source maps stay out of the published site."""
    assert not list(site.rglob("*.vl.json"))
    assert not (site / "_svg").exists()
    assert not list((site / "_static").rglob("*.map"))
    assert list((site / "charts").rglob("*.csv")) and list((site / "reports").glob("*.pdf"))


def _table_rows(page: str) -> list[list[str]]:
    """The cells of every table row of a page, as text."""
    import html as h

    return [
        [
            h.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S)
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", page, flags=re.S)
    ]


def test_ccg_page_shows_every_seed_indicator_with_number_and_rate(site, root, computed):
    """Each seed indicator's row of the CCG's profile table shows the seed's count and rate,
    or "Supp." where disclosure control suppressed the CCG's cell (C19: its 58 child deaths
    are a secondary suppression, so the small counts of its localities cannot be recovered
    by difference)."""
    page = (site / "areas" / "E38000115" / "jsna_profile.html").read_text(encoding="utf-8")
    rows = _table_rows(page)
    seed = pd.read_csv(root / "data" / "default" / "seed_profile.csv", dtype={"indicator_id": str})
    names = pd.read_csv(
        root / "data" / "default" / "indicators.csv", dtype={"indicator_id": str}
    ).set_index("indicator_id")["name"]
    values = computed["values"]
    ccg = values[values["area_code"] == "E38000115"].set_index("indicator_id")
    suppressed = 0
    for _, s in seed.iterrows():
        ind = s["indicator_id"]
        row = next((r for r in rows if names[ind] in r), None)
        assert row is not None, ind
        if bool(ccg.loc[ind, "suppressed"]):
            suppressed += 1
            assert "Supp." in row and f"{s['ccg_value']:,.1f}" not in row, (ind, row)
            continue
        assert f"{s['ccg_value']:,.1f}" in row, (ind, row)
        if not pd.isna(s["ccg_count"]):
            assert f"{s['ccg_count']:,.0f}" in row, (ind, row)
    assert suppressed < len(seed) / 4  # the page is not a wall of "Supp."
    assert "Synthetic data" in page


def test_every_area_page_says_its_data_are_synthetic(site):
    for code in AREAS:
        page = (site / "areas" / code / "jsna_profile.html").read_text(encoding="utf-8")
        assert "synthetic" in page.lower(), code


def test_profile_csv_per_area(site):
    for code in AREAS:
        path = site / "data" / code / "profile.csv"
        rows = list(csv.DictReader(path.open(encoding="utf-8")))
        assert len(rows) == 53, code
        assert {r["Profile"] for r in rows} == {"adult", "child"}
        for r in rows:
            if r["Count"] not in ("", "Supp."):
                assert float(r["Count"]) == 0 or float(r["Count"]) >= 5
    ccg = pd.read_csv(site / "data" / "E38000115" / "profile.csv")
    assert ccg.loc[ccg["Indicator ID"] == "A03", "Count"].astype(float).iloc[0] == 7124


def test_validation_report_page(site):
    page = (site / "validation.html").read_text(encoding="utf-8")
    assert "practice_values" in page


@pytest.fixture
def broken_book(root, tmp_path):
    """A copy of the default data with one negative count, and a book config pointing at it."""
    data = tmp_path / "data"
    shutil.copytree(root / "data" / "default", data)
    path = data / "synthetic" / "practice_values.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    line = int(df.index[(df["indicator_id"] == "A04") & (df["area_code"] == "SYN07")][0]) + 2
    df.loc[(df["indicator_id"] == "A04") & (df["area_code"] == "SYN07"), "count"] = "-12"
    df.to_csv(path, index=False)
    cfg = tmp_path / "broken.yml"
    cfg.write_text(f"name: broken\ntitle: broken\nloader: embedded\ndata: {data}\n")
    return cfg, line


def test_a_negative_count_stops_the_build_naming_file_row_and_column(broken_book, root):
    cfg, line = broken_book
    site_index = root / "book" / "_build" / "html" / "index.html"
    before = site_index.stat().st_mtime if site_index.exists() else None
    with pytest.raises(BuildFailed) as err:
        build(str(cfg))
    message = str(err.value)
    assert "practice_values.csv" in message
    assert str(line) in message
    assert "count" in message
    assert "nothing was built" in message
    assert not (root / "build" / "broken").exists()
    after = site_index.stat().st_mtime if site_index.exists() else None
    assert before == after


# --- key messages first (issue 27) ------------------------------------------------------

#: Page types of the default book and an area of each.
KEY_MESSAGE_PAGES = [
    ("E38000115", "jsna_profile"),
    ("ND-CHE", "jsna_profile"),
    ("SYN01", "jsna_profile"),
    ("E38000115", "population"),
    ("E38000115", "practice_variation"),
    ("E38000115", "overview"),
    ("ND-CHE", "inequalities"),
    ("E38000115", "spot"),
    ("ND-CHE", "locality_pack"),
    ("DERBYSHIRE-CLUSTER", "finance"),
    ("DERBYSHIRE-CLUSTER", "performance"),
    ("E38000115", "maps"),
]


@pytest.mark.parametrize("code,page", KEY_MESSAGE_PAGES)
def test_key_messages_come_before_the_first_chart(site, code, page):
    html_text = (site / "areas" / code / f"{page}.html").read_text(encoding="utf-8")
    box = html_text.find("nhsbook-key-messages")
    assert box > 0, f"{code}/{page}: no key messages"
    chart = html_text.find('class="nhsbook-chart"')
    assert chart == -1 or box < chart, f"{code}/{page}: a chart comes before the key messages"


def page_problems(site: Path) -> list[str]:
    """What no area page of a built site may show: no key messages, a chart before them,
    a Python object's name printed as text (an output with nothing to show, e.g.
    ``Markdown("")``), or a notebook's code."""
    problems = []
    for page in sorted(site.glob("areas/*/*.html")):
        text = page.read_text(encoding="utf-8")
        where = page.relative_to(site)
        body = text[text.find("<main") :]
        if re.search(r"&lt;[\w.]+ object(?: at 0x[0-9a-f]+)?&gt;", body):
            problems.append(f"{where}: an object's name printed as text")
        if 'class="cell_input' in body:
            problems.append(f"{where}: a notebook's code is shown to readers")
        box, chart = body.find("nhsbook-key-messages"), body.find('class="nhsbook-chart"')
        if box < 0:
            problems.append(f"{where}: no key messages")
        elif 0 <= chart < box:
            problems.append(f"{where}: a chart comes before the key messages")
    return problems


def test_every_area_page_opens_with_its_key_messages_and_prints_no_object(site):
    assert len(list(site.glob("areas/*/*.html"))) > 150
    assert page_problems(site) == []


def test_every_page_of_the_2021_book_opens_with_its_key_messages(derbyshire_site):
    """The real-data book of 2021 (one area of each type paged, see conftest)."""
    assert len(list(derbyshire_site.glob("areas/*/*.html"))) >= 20
    assert page_problems(derbyshire_site) == []


def test_profile_key_messages_name_indicators_with_their_values(site, computed):
    import html as h

    page = (site / "areas" / "E38000115" / "jsna_profile.html").read_text(encoding="utf-8")
    start = page.index("nhsbook-key-messages")
    box = h.unescape(re.sub(r"<[^>]+>", " ", page[start : page.index("</div>", start)]))
    names = [n for n in computed["metadata"]["name"] if f"{n} (" in box]
    assert names, box
    # each named indicator with its value against the comparator's, as the book formats them
    assert re.search(re.escape(names[0]) + r" \(-?[\d,]+\.\d[^)]* against -?[\d,]+\.\d", box)


def test_landing_page_gives_each_area_a_headline_and_each_group_its_origin(site):
    text = re.sub(r"<[^>]+>", " ", (site / "index.html").read_text(encoding="utf-8"))
    text = re.sub(r"\s+", " ", text)
    assert "Significantly worse than Cluster (JSNA 2012 comparator) on" in text
    assert "seed document 004" in text and "Dacorum" in text
    assert "Forecast outturn £1,630.7m" in text


# --- issue 26: the published site's size ------------------------------------------------------

#: The default site's budget (MB, 10**6 bytes) and its median area page's (KB).
SITE_MB, PAGE_KB = 30.0, 150.0


def test_the_default_site_stays_within_its_size_and_the_removed_bytes_stay_out(site):
    """Issue 26: the default site is at most 30 MB with a median area page at most 150 KB
    (as benchmarks/build.py measures them), and what was cut does not come back: no theme
    translations, Font Awesome script or TrueType fonts in ``_static``; no copy of the chart
    machinery in a page (each page loads ``_static/nhsbook-chart.js``); chart tables packed
    as columns; PDF reports with their objects in compressed object streams; the long
    navigation part (the practices) only on its own pages."""
    from nhsbook.build.sphinx_ext import NAV_NEIGHBOURS
    from nhsbook.pages import renderer as website

    files = [p for p in site.rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files) / 1e6
    pages = sorted(p.stat().st_size for p in (site / "areas").glob("*/*.html"))
    assert total <= SITE_MB, f"the default site is {total:.1f} MB"
    assert pages[len(pages) // 2] / 1e3 <= PAGE_KB
    static = site / "_static"
    assert not [p for p in static.rglob("*") if p.suffix in (".po", ".mo", ".ttf")]
    assert not (static / "scripts" / "fontawesome.js").exists()
    assert (static / website.CHART_SCRIPT).read_text() == website.chart_script()
    profile = (site / "areas" / "E38000115" / "jsna_profile.html").read_text(encoding="utf-8")
    assert f"_static/{website.CHART_SCRIPT}" in profile and "fontawesome.js" not in profile
    assert "function layout(" not in profile and f'"{website.TABLE}"' in profile
    for page in (site / "areas").glob("*/*.html"):
        text = page.read_text(encoding="utf-8")
        assert text.count("window.nhsbookChart = (function") == 0, page
        nav = re.search(r'<nav class="bd-links bd-docs-nav".*?</nav>', text, re.S).group(0)
        # the practices part: its first page elsewhere, the practices near this one on a
        # practice's pages, each time with a link to the areas index, which lists them all
        practices = nav.count('href="../SYN')
        near = 2 * NAV_NEIGHBOURS + 1
        assert practices <= (near if page.parent.name.startswith("SYN") else 1), page
        assert "more: see Areas" in nav and len(nav) <= 8_000, (page, len(nav))
    for pdf in (site / "reports").glob("*.pdf"):
        raw = pdf.read_bytes()
        assert b"/Type/ObjStm" in raw and b"/Type/XRef" in raw, pdf.name
        assert raw.count(b"/StructElem") == 0, pdf.name  # packed: only inside object streams


def test_the_packed_reports_keep_their_tags_text_and_every_object(site):
    """A packed report keeps its tagged structure (``/MarkInfo``, the structure tree) and the
    same objects (pypdf reads every object through the object streams)."""
    from pypdf import PdfReader

    pdf = site / "reports" / "E38000115.pdf"
    reader = PdfReader(pdf)
    root = reader.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"] and root.get("/Lang")
    tree = root["/StructTreeRoot"].get_object()
    assert tree["/K"] and len(reader.pages) >= 2
    assert "Key messages" in "".join(p.extract_text() for p in reader.pages)
