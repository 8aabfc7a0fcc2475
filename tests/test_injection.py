"""Injection: names with HTML, Markdown or quotes are escaped everywhere they are shown;
papermill parameters and area codes cannot execute code or escape the book's folders."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nhsbook.build.book import BuildFailed, Page, area_tree, plan_pages
from nhsbook.io import fingertips
from nhsbook.pages.area import AreaPage

EVIL = '<img src=x onerror="alert(1)"> **bold** [link](javascript:alert(2)) `code` | "q"'


@pytest.fixture
def evil_page(computed, default_book):
    areas = computed["areas"].copy()
    areas.loc[areas["area_code"] == "ND-DRO", "area_name"] = EVIL
    meta = computed["metadata"].copy()
    meta.loc[meta["indicator_id"] == "A04", "name"] = EVIL
    row = areas[areas["area_code"] == "ND-DRO"].iloc[0]
    return AreaPage(
        default_book,
        row,
        computed["values"],
        meta,
        areas,
        computed["population"],
        computed["population_reference"],
    )


def test_header_escapes_area_names(evil_page):
    text = evil_page.header_markdown()
    assert "<img" not in text and 'onerror="' not in text
    assert "&lt;img" in text and "\\*\\*bold\\*\\*" in text and "\\[link\\]" in text


def test_profile_table_escapes_indicator_names(evil_page):
    html = evil_page.profile_html(evil_page.profile("adult")).data
    assert "<img" not in html and "&lt;img" in html


def test_charts_carry_names_as_data_not_markup(evil_page):
    import json

    from nhsbook.pages.renderer import render

    spec = evil_page.spine_chart("adult").to_dict()
    out = render(spec)["text/html"]
    payload = out.split("var spec = ", 1)[1].split("; var opts", 1)[0]
    assert "</script" not in payload.lower()
    parsed = json.dumps(json.loads(payload.replace("<\\/", "</")))
    assert json.dumps(EVIL)[1:-1] in parsed  # the name travels verbatim, as data


def test_generated_index_escapes_names():
    pages = [Page("Areas", "jsna_profile", "ND-DRO", EVIL, "locality", "")]
    text = "\n".join(area_tree(pages, "areas/"))
    assert "<img" not in text and "&lt;img" in text


@pytest.mark.parametrize(
    "code",
    ['x"; import os; os.system("touch /tmp/pwned") #', "'''\nimport os\n'''", "\\\"\nprint(1)"],
)
def test_papermill_parameters_are_literals(code):
    from papermill.translators import PythonTranslator

    source = PythonTranslator.codify({"area_code": code, "book": "default"})
    tree = ast.parse(source)
    assigns = [n for n in tree.body if isinstance(n, ast.Assign)]
    assert len(assigns) == len(tree.body) == 2
    assert ast.literal_eval(assigns[0].value) == code


@pytest.mark.parametrize("code", ["../../etc", "a/b", "x y", "<b>", ""])
def test_unsafe_area_codes_are_refused_by_the_build(computed, default_book, code):
    areas = computed["areas"].copy()
    areas.loc[areas["area_code"] == "ND-DRO", "area_code"] = code
    with pytest.raises(BuildFailed, match="area code"):
        plan_pages(default_book, areas)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.text(alphabet="0123456789.,-eE+ infINFnaN*", max_size=8),
    )
)
def test_fingertips_values_parse_exactly_or_fail_with_the_line(tmp_path, cell):
    """Property: a Value cell either reads as the finite number it spells or the import fails
    naming the column and line; it never becomes a silently different number."""
    src = (
        Path(__file__).resolve().parents[2]
        / "shared"
        / "data"
        / "gp"
        / "fingertips_93553_imd2019_score_gp_england.csv"
    )
    raw = pd.read_csv(src, dtype=str, keep_default_na=False, encoding="utf-8-sig", nrows=3)
    raw.loc[1, "Value"] = cell
    path = tmp_path / "export.csv"
    raw.to_csv(path, index=False)
    # commas only as English thousands separators (1,234.5); a decimal comma (0,5) or a
    # leading "+" is not how Fingertips writes numbers and must fail, never read as 5
    text = cell.strip()
    thousands = re.fullmatch(
        r"-?[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?", text
    )
    if ("," in text and not thousands) or text.startswith("+"):
        text = "not a number"
    text = text.replace(",", "")
    try:
        expected = float(text) if text else None
    except ValueError:
        expected = "error"
    if (
        expected is not None
        and expected != "error"
        and (expected != expected or abs(expected) == float("inf"))
    ):
        expected = "error"
    try:
        got = fingertips.read(path).values["value"].iloc[1]
    except fingertips.FingertipsFormatError as exc:
        assert expected == "error", f"{cell!r} should read as {expected}"
        assert "'Value'" in str(exc) and "line(s) [3]" in str(exc)
        return
    assert expected != "error", f"{cell!r} was accepted as {got}"
    if expected is None:
        assert pd.isna(got)
    else:
        assert got == pytest.approx(expected)


# --- issue 20: every name field, every attack ------------------------------------------------

DIRECTIVE = "Dronfield\n\n:::{literalinclude} /etc/passwd\n:::\n"
ATTACKS = [
    DIRECTIVE,
    "{download}`/etc/passwd`",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "```",
    "a\nb",
]


def _myst():
    from markdown_it.renderer import RendererHTML
    from myst_parser.config.main import MdParserConfig
    from myst_parser.parsers.mdit import create_md_parser

    return create_md_parser(
        MdParserConfig(
            enable_extensions={"colon_fence", "dollarmath", "linkify", "substitution", "tasklist"}
        ),
        RendererHTML,
    )


def _assert_inert(html_out: str) -> None:
    low = html_out.lower()
    assert "<script" not in low and "<img" not in low and 'href="javascript' not in low
    assert "<pre" not in low and "role" not in low and "directive" not in low


@pytest.mark.parametrize("attack", ATTACKS)
def test_header_of_every_page_kind_keeps_the_name_literal(computed, default_book, attack):
    from nhsbook.core import escape

    areas = computed["areas"].copy()
    areas.loc[areas["area_code"] == "ND-DRO", "area_name"] = attack
    row = areas[areas["area_code"] == "ND-DRO"].iloc[0]
    page = AreaPage(
        default_book,
        row,
        computed["values"],
        computed["metadata"],
        areas,
        computed["population"],
        computed["population_reference"],
    )
    text = page.header_markdown()
    first = text.split("\n\n")[0]
    assert "\n" not in first.strip()  # the name never breaks the line
    out = _myst().render(text)
    _assert_inert(out)
    assert "<code>ND-DRO</code>" in out  # the code span shows the code as is
    assert (
        escape.plain(attack)
        .split()[0]
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        in out
    )


@pytest.mark.parametrize("attack", ATTACKS)
def test_area_tree_keeps_every_area_on_its_own_line(attack):
    pages = [
        Page("Areas", "jsna_profile", "E38000115", attack, "ccg", ""),
        Page("Areas", "jsna_profile", "ND-DRO", attack, "locality", "E38000115"),
    ]
    lines = area_tree(pages, "areas/")
    assert len(lines) == 2 and lines[0].startswith("- **") and lines[1].startswith("  - **")
    out = _myst().render("\n".join(lines))
    _assert_inert(out)
    assert out.count("<li>") == 2 and out.count("<a href=") == 2


def test_validation_report_page_keeps_offending_values_literal():
    from nhsbook.validation.gate import Failure, ValidationReport

    failure = Failure(
        file="areas.csv",
        columns=("area_name",),
        rule="area_name | rule",
        lines=[6],
        values=[{"area_name": DIRECTIVE + "<script>alert(1)</script>"}],
        count=1,
        hint="fix `it`",
        dataset="areas",
        expectation="expect_column_values_to_match_regex",
        context=[{"area_code": "ND|DRO"}],
    )
    report = ValidationReport(ok=False, failures=[failure], datasets=[])
    out = _myst().render(report.to_markdown())
    _assert_inert(out)
    assert "<pre" not in out  # no directive or fence was opened
    assert out.count("<table>") == 2  # the summary and the offending rows
    assert "ND|DRO" in out and ":::{literalinclude} /etc/passwd :::" in out


def test_styled_tables_of_every_module_escape_text(computed):
    from nhsbook.core import escape
    from nhsbook.pages.finance import money_table
    from nhsbook.pages.performance import rag_table
    from nhsbook.pages.tables import table

    frame = pd.DataFrame({"Indicator": ["<img src=x onerror=alert(1)>"], "Value": [-1.0]})
    for out in (
        money_table(frame).data,
        rag_table(frame, []).data,
        table(frame).data,
        escape.html_table(frame).to_html(),
    ):
        assert "<img" not in out and "&lt;img src=x onerror=alert(1)&gt;" in out
        assert "&amp;lt;" not in out  # escaped exactly once


def test_chart_payload_cannot_close_or_comment_its_script():
    from nhsbook.pages.renderer import render

    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": "</script><!--<script>",
        "mark": "point",
        "data": {"values": [{"name": "<!--</script>"}]},
    }
    out = render(spec)["text/html"]
    payload = out.split("var spec = ", 1)[1].split("; var opts", 1)[0]
    assert "<" not in payload


def test_published_tables_are_compact_and_keep_text_and_styled_cells():
    """``escape.table_html`` (what a page's tables are published as) drops pandas' per-cell
    ids and class names that no rule of the table's style uses and the indentation between
    tags, keeps every cell's text, its escaping and every styled cell's id."""
    import html.parser

    from nhsbook.core import escape

    frame = pd.DataFrame({"Indicator": ["<b>x</b> > y", "plain"], "Value": [1.25, 2.0]})
    styler = (
        frame.style.hide(axis="index")
        .format({"Value": "{:.1f}"})
        .map(lambda v: "background-color: #C00000" if v == 2.0 else "", subset=["Value"])
    )
    full = escape.html_table(
        frame.style.hide(axis="index")
        .format({"Value": "{:.1f}"})
        .map(lambda v: "background-color: #C00000" if v == 2.0 else "", subset=["Value"])
    ).to_html()
    out = escape.table_html(styler)
    assert len(out) < 0.7 * len(full)
    assert "row0_col0" not in out and "class=\"data" not in out and "\n    <" not in out
    styled = re.search(r"#(T_\w+_row1_col1)", out).group(1)
    assert f'<td id="{styled}">2.0</td>' in out  # the styled cell keeps it

    class Cells(html.parser.HTMLParser):
        def __init__(self):
            super().__init__()
            self.cells, self.inside = [], False

        def handle_starttag(self, tag, attrs):
            self.inside = tag in ("td", "th")
            if self.inside:
                self.cells.append("")

        def handle_endtag(self, tag):
            self.inside = False

        def handle_data(self, data):
            if self.inside:
                self.cells[-1] += data

    texts = []
    for doc in (full, out):
        p = Cells()
        p.feed(doc)
        texts.append(p.cells)
    assert texts[0] == texts[1] == ["Indicator", "Value", "<b>x</b> > y", "1.2", "plain", "2.0"]
    assert "&lt;b&gt;x&lt;/b&gt; &gt; y" in out
