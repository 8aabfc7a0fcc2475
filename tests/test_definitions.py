"""Indicator definitions (nhsbook.pages.definitions): an entry with every field for every indicator of
every book, the Definitions page, and links to it from every table and chart that shows an
indicator — checked on the built default site."""

from __future__ import annotations

import html as _html
import re

import pandas as pd
import pytest

from nhsbook.core import escape
from nhsbook.pages import definitions


def _meta(**extra) -> pd.DataFrame:
    row = {
        "indicator_id": "A01",
        "name": "Life expectancy at 65 - Male",
        "domain": "LE",
        "profile": "adult",
        "unit": "years",
        "multiplier": 1.0,
        "polarity": "high_is_good",
        "method": "life_expectancy",
        "period": "2012",
        "sex": "Male",
        "age": "65",
        "source": "Seed 002 line 255",
    }
    row.update(extra)
    return pd.DataFrame([row])


def test_anchors_are_safe_and_distinct():
    ids = ["A01", "a01", "A.1", "A-1", "A_1", "A 1", "Ä1", "<x>", "91547"]
    anchors = [definitions.anchor(i) for i in ids]
    assert len(set(anchors)) == len(ids)
    assert all(re.fullmatch(r"def-[A-Za-z0-9_.-]+", a) for a in anchors)
    assert definitions.anchor("A01") == "def-A01"
    assert definitions.href("A01") == "../../definitions.html#def-A01"


@pytest.mark.parametrize("book", ["default", "derbyshire-county", "derbyshire-icb-2025"])
def test_every_indicator_of_every_book_has_every_field(book, root):
    """From each book's own metadata (the default book's indicators.csv, the open-data and
    ONS loaders' tables): no field of any entry is empty."""
    from nhsbook.config.book import load_book
    from nhsbook.pipeline.store import load_computed

    cfg = load_book(book, root=root)
    meta = load_computed(cfg)["metadata"]
    table = definitions.entries(meta, cfg)
    assert len(table) == meta["indicator_id"].nunique() > 0
    assert table["anchor"].is_unique
    for field in definitions.FIELDS:
        empty = table.loc[table[field].str.strip() == "", "indicator_id"].tolist()
        assert not empty, f"{book}: {field} empty for {empty[:5]}"
    if book == "default":
        a04 = table.set_index("indicator_id").loc["A04"]
        assert a04["Polarity"].startswith("Low is good: Fingertips 91547")  # the reason
        assert "Wilson" in a04["Method"] and "Open Government Licence" in a04["Licence"]
        assert "synthetic" in a04["Licence"]
    if book == "derbyshire-county":
        smoking = table.set_index("indicator_id").loc["ONS_SMOKING"]
        assert "Annual Population Survey" in smoking["Definition"]
        assert "as published by ONS" in smoking["Method"]
        assert "Wilson" not in smoking["Method"]  # nhsbook computes no limit here
        assert "Open Government Licence" in smoking["Licence"]
        assert "period 2023" in smoking["Period and vintage"]


def test_the_page_escapes_names_and_holds_one_anchor_per_indicator():
    meta = pd.concat(
        [
            _meta(),
            _meta(
                indicator_id="B 2",
                name="**x** <script>alert(1)</script>",
                method="proportion",
                unit="%",
                multiplier=100,
            ),
        ]
    )
    md = definitions.page_markdown(meta)
    assert '<span id="def-A01"></span>' in md and '<span id="def-B.202"></span>' in md
    assert "<script>" not in md and "**x**" not in md
    assert escape.markdown("**x** <script>alert(1)</script>") in md
    for field in definitions.FIELDS[1:]:
        assert md.count(f"- **{field}:** ") == 2


def test_tables_link_indicator_names_and_stay_escaped():
    meta = pd.concat([_meta(), _meta(indicator_id="X<1>", name="A & <b>B</b>")])
    definitions.use(meta)
    try:
        table = pd.DataFrame(
            {
                "Indicator": ["Life expectancy at 65 - Male", "A & <b>B</b>", "Not an indicator"],
                "Value": [1.0, 2.0, 3.0],
            }
        )
        out = definitions.link_table(escape.html_table(table.style)).to_html()
        assert '<a href="../../definitions.html#def-A01">Life expectancy at 65 - Male</a>' in out
        assert (
            '<a href="../../definitions.html#def-X.3c1.3e">A &amp; &lt;b&gt;B&lt;/b&gt;</a>' in out
        )
        assert "<b>B</b>" not in out and ">Not an indicator<" in out
    finally:
        definitions.use(meta.iloc[0:0])


def test_charts_list_the_definitions_of_their_indicators():
    meta = pd.concat([_meta(indicator_id=f"I{i}", name=f"Ind {i}") for i in range(5)])
    definitions.use(meta)
    try:
        few = definitions.chart_links(pd.DataFrame({"indicator": ["Ind 1", "Ind 2", "Ind 1"]}))
        assert few.count("<a ") == 2 and "def-I1" in few and few.startswith("<span")
        many = definitions.chart_links(pd.DataFrame({"i": [f"I{i}" for i in range(5)]}))
        assert "<details" in many and "Definitions of the 5 indicators" in many
        assert definitions.chart_links(pd.DataFrame({"x": [1]})) == ""
    finally:
        definitions.use(meta.iloc[0:0])


def _unlinked_names(text: str, names: set[str]) -> list[str]:
    """Table cells holding an indicator's name as plain text (not inside a link)."""
    cells = re.findall(r"<td[^>]*>(.*?)</td>", text, flags=re.S)
    return [c for c in cells if _html.unescape(c.strip()) in names]


def test_every_indicator_shown_on_the_default_site_links_to_its_definition(site, computed):
    """The built default site: every link to a definition resolves to an anchor of the
    Definitions page; no table cell shows an indicator name without its link; every chart
    of a profile page lists the definitions of its indicators."""
    page = site / "definitions.html"
    anchors = definitions.anchors_of(page)
    meta = computed["metadata"]
    assert anchors == {definitions.anchor(i) for i in meta["indicator_id"]}
    links = definitions.site_links(site)
    assert links and not definitions.broken_links(site)
    names = set(meta["name"])
    pages = sorted((site / "areas").glob("*/*.html"))
    assert pages
    for p in pages:
        text = p.read_text(encoding="utf-8")
        assert not _unlinked_names(text, names), (p, _unlinked_names(text, names)[:3])
    profile = (site / "areas" / "E38000115" / "jsna_profile.html").read_text(encoding="utf-8")
    figures = re.findall(r'<figure class="nhsbook-chart".*?</figure>', profile, flags=re.S)
    assert figures and all("nhsbook-definitions" in f for f in figures[:2])  # the spines
    shown = {a for p, a in links if p.endswith("jsna_profile.html")}
    assert {definitions.anchor(i) for i in meta["indicator_id"]} <= shown
