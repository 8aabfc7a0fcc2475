"""Names are data, never markup (issue 20): every escaper of :mod:`nhsbook.core.escape` turns
arbitrary text into literal text of its format (hypothesis), the gate refuses control
characters in names and codes, and a real build whose area, practice and indicator names
carry MyST, HTML, link and CSV-formula attacks publishes them as text."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import shutil
import unicodedata
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from nhsbook.core import escape

#: The attacks of issue 20, each a name a careless editor or an attacker could write.
ATTACKS = [
    "\n\n:::{literalinclude} /etc/passwd\n:::\n",
    "\n\n```{literalinclude} /etc/passwd\n```\n",
    "{download}`/etc/passwd`",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "![x](javascript:alert(1))",
    "<javascript:alert(1)>",
    "```",
    "~~~",
    "line one\nline two",
    "a\r\nb\u2028c\u0085d\x00e\u200bf",
    "# heading",
    "- item",
    "1. item",
    "> quote",
    "+ item",
    "| a | b |",
    "{{ substitution }}",
    "$x^2$ and $$y$$",
    "&amp; &lt;b&gt; &#60;",
    "*bold* _em_ **strong** ~~strike~~",
    "www.example.com http://example.com",
    "(target)=",
    "% comment",
    "[^1]",
    "- [ ] task",
    "\\",
    "trailing backslash\\",
    "    indented code",
    "<!-- comment -->",
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(1+1)",
    "\t=1",
    "u{1F600} \\u{41}",
    "// not a comment /* nor this */",
    "= Typst heading",
    "#set text(red)",
    "<label> @ref ~ -- --- ... 'q' \"q\"",
]

texts = st.one_of(
    st.sampled_from(ATTACKS),
    st.text(),
    st.lists(st.sampled_from(ATTACKS + ["x", " ", "\n", "é", "名"]), max_size=6).map("".join),
)


def expected(text: str) -> str:
    """What a reader must see: the text with control characters as spaces, white space
    collapsed (escape.plain)."""
    return escape.plain(text)


# --- markdown: MyST with jupyter-book's extensions ---------------------------------------------


@pytest.fixture(scope="module")
def myst():
    from markdown_it.renderer import RendererHTML
    from myst_parser.config.main import MdParserConfig
    from myst_parser.parsers.mdit import create_md_parser

    # jupyter-book 1.x's default extensions (jupyter_book/default_config.yml)
    config = MdParserConfig(
        enable_extensions={"colon_fence", "dollarmath", "linkify", "substitution", "tasklist"},
        dmath_double_inline=True,
    )
    return create_md_parser(config, RendererHTML)


class _Tree(HTMLParser):
    """Start tags and text of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse(fragment: str) -> _Tree:
    tree = _Tree()
    tree.feed(fragment)
    tree.close()
    return tree


def _norm(text: str) -> str:
    return " ".join(text.split())


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(texts)
@example("\n\n:::{literalinclude} /etc/passwd\n:::\n")
def test_markdown_is_one_literal_paragraph(myst, text):
    out = myst.render(escape.markdown(text))
    want = expected(text)
    tree = _parse(out)
    if not want:
        assert tree.tags == []
        return
    assert [t for t, _ in tree.tags] == ["p"], out
    assert _norm("".join(tree.text)) == want


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(texts)
def test_markdown_is_literal_in_a_table_cell_a_heading_and_a_list_item(myst, text):
    want = expected(text) or None
    cell = escape.markdown(text)
    table = _parse(
        myst.render(
            f"| Name | Code |\n|---|---|\n| {cell} | {escape.markdown_code(text, table=True)} |\n"
        )
    )
    assert [t for t, _ in table.tags].count("td") == 2
    assert [t for t, _ in table.tags].count("tr") == 2
    assert set(t for t, _ in table.tags) <= {"table", "thead", "tbody", "tr", "th", "td", "code"}
    heading = _parse(myst.render(f"# {cell}: profile\n"))
    assert [t for t, _ in heading.tags] == ["h1"]
    assert _norm("".join(heading.text)) == _norm(f"{expected(text)}: profile")
    item = _parse(
        myst.render(f"- **{cell}** (locality, {escape.markdown_code(text)}): [profile](x.ipynb)\n")
    )
    tags = [t for t, _ in item.tags]
    assert tags[:2] == ["ul", "li"] and tags.count("li") == 1 and tags.count("a") == 1
    assert tags.count("strong") == (1 if want else 0)
    assert not any(a.get("href", "").lower().startswith("javascript") for _, a in item.tags)


@settings(max_examples=200, deadline=None)
@given(texts)
def test_markdown_code_span_is_literal(text):
    from markdown_it import MarkdownIt

    out = MarkdownIt("commonmark").render(f"see {escape.markdown_code(text)} here")
    tree = _parse(out)
    assert [t for t, _ in tree.tags] == ["p", "code"]
    code = re.search(r"<code>(.*)</code>", out, re.S).group(1)
    import html as _h

    assert _h.unescape(code).strip() == expected(text).strip()


def test_markdown_neutralises_each_attack(myst):
    for attack in ATTACKS:
        out = myst.render(f"Area: **{escape.markdown(attack)}**.")
        assert (
            "<script" not in out
            and "<img" not in out
            and "javascript:" not in " ".join(a.get("href", "") for _, a in _parse(out).tags)
        )
        assert [t for t, _ in _parse(out).tags] == (
            ["p", "strong"] if expected(attack) else ["p"]
        ), (attack, out)


# --- HTML ----------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(texts)
def test_html_is_literal_text_and_attribute(text):
    tree = _parse(
        f'<p title="{escape.html(text)}" data-x=\'{escape.html(text)}\'>{escape.html(text)}</p>'
    )
    assert len(tree.tags) == 1 and tree.tags[0][0] == "p"
    attrs = tree.tags[0][1]
    assert attrs["title"] == expected(text) and attrs["data-x"] == expected(text)
    assert "".join(tree.text) == expected(text)


def test_html_table_escapes_cells_and_labels_once():
    frame = pd.DataFrame(
        {"<b>Name</b>": ["<script>alert(1)</script>", "a & b"], "Value": [-1.5, 2.0]},
        index=["<i>x</i>", "y"],
    )
    styler = escape.html_table(frame.style.format("{:.1f}", subset=["Value"]))
    assert escape.html_table(styler) is styler  # idempotent
    out = styler.to_html()
    assert "<script" not in out and "<b>" not in out and "<i>" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out and "a &amp; b" in out
    assert "&amp;amp;" not in out
    assert ">-1.5<" in out  # numbers formatted as before


def test_every_styler_a_notebook_displays_is_escaped():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    assert escape.install_display_hook()
    frame = pd.DataFrame({"Practice": ["<img src=x onerror=alert(1)>"]})
    data, _ = shell.display_formatter.format(frame.style.hide(axis="index"))
    assert "<img" not in data["text/html"] and "&lt;img src=x" in data["text/html"]


# --- CSV -----------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(texts, st.floats(allow_nan=False, allow_infinity=False)), min_size=1, max_size=5
    )
)
@example([("=1+1", -3.5), ("-12", -12.0), ("@x", 0.0), ("+44 1234", 1e-9), ("\r=x", -0.0)])
def test_csv_round_trips_with_no_formula_cell(rows):
    frame = pd.DataFrame({"Name": [r[0] for r in rows], "Value": [r[1] for r in rows]})
    text = escape.csv_frame(frame).to_csv(index=False)
    back = pd.read_csv(io.StringIO(text), dtype={"Name": str}, keep_default_na=False)
    for (name, value), got, number in zip(rows, back["Name"], back["Value"]):
        assert number == value  # numbers stay numbers
        name = name.replace("\r\n", "\n").replace("\r", "\n")
        if got != name:
            assert got == "'" + name and name.startswith(escape.FORMULA_START)
        if got.startswith(escape.FORMULA_START):  # only a plain number may
            assert escape._PLAIN_NUMBER.fullmatch(got), got
    for raw in csv.reader(io.StringIO(text)):
        assert not (raw[0].startswith(("=", "@")) and raw[0] != "Name")


def test_csv_guard_spares_negative_numbers_and_guards_text():
    assert escape.csv_cell(-12) == -12 and escape.csv_cell(-1.5) == -1.5
    assert escape.csv_cell("-12") == "-12" and escape.csv_cell("-1,234.5") == "-1,234.5"
    assert escape.csv_cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert escape.csv_cell("-2+3+cmd|' /C calc'!A0") == "'-2+3+cmd|' /C calc'!A0"
    assert escape.csv_cell("+1+1") == "'+1+1" and escape.csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert escape.csv_cell("\t=1") == "'\t=1" and escape.csv_cell("\r=1") == "'\n=1"
    assert escape.csv_cell("a\r=1") == "a\n=1"  # a lone CR would start a row unquoted
    assert escape.csv_cell("Chesterfield") == "Chesterfield"


def _write_chart(tmp_path, monkeypatch, name):
    import altair as alt

    from nhsbook.pages import renderer

    monkeypatch.setenv(renderer.PAGE_ENV, "X1/page")
    monkeypatch.setenv(renderer.EXTRA_ENV, str(tmp_path))
    data = pd.DataFrame({"name": [name, "B"], "value": [-5.0, 3.0]})
    chart = (
        alt.Chart(data, title=name, description=f"Values of {name}")
        .mark_bar()
        .encode(x="value:Q", y="name:N")
    )
    renderer.reset_page()
    return renderer.render(chart.to_dict())["text/html"]


def test_chart_csv_svg_and_figure_keep_names_literal(tmp_path, monkeypatch):
    name = "=cmd|' /C calc'!A0 <script>alert(1)</script> & <b>x</b>"
    out = _write_chart(tmp_path, monkeypatch, name)
    head = out.split("<script", 1)[0]
    assert "<b>" not in head and "&lt;script&gt;" in head
    payload = out.split("var spec = ", 1)[1].split("; var opts", 1)[0]
    assert "<" not in payload and json.loads(payload)["title"] == name
    table = pd.read_csv(tmp_path / "charts" / "X1" / "page-1.csv")
    assert table["name"].iloc[0] == "'" + name and table["value"].iloc[0] == -5.0
    # vl-convert draws the names as SVG text (for a report), escaped: the SVG parses and
    # holds them
    from nhsbook.build import report
    from nhsbook.pages import renderer

    path = report.chart_svg(tmp_path / "charts" / "X1" / f"page-1{renderer.SPEC_SUFFIX}", tmp_path)
    svg = ET.parse(path).getroot()
    texts = [t.text or "" for t in svg.iter() if t.tag.endswith("text")]
    assert name in texts
    assert "<script" not in path.read_text()


# --- SVG -----------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(texts)
def test_svg_text_round_trips_through_xml(text):
    doc = (
        f'<svg xmlns="http://www.w3.org/2000/svg"><text aria-label="{escape.svg_text(text)}">'
        f"{escape.svg_text(text)}</text></svg>"
    )
    root = ET.fromstring(doc)
    (node,) = list(root)
    want = "".join(ch for ch in expected(text) if ord(ch) not in (0xFFFE, 0xFFFF))
    assert (node.text or "") == want and node.get("aria-label") == want


# --- typst (PDF) ---------------------------------------------------------------------------------

TYPST_PLAIN = """#let plain(c) = {
  if type(c) == str { c }
  else if c.has("text") { c.text }
  else if c.func() == [ ].func() { " " }
  else if c.has("children") { c.children.map(plain).join() }
  else if c.has("body") { plain(c.body) }
  else { "<" + repr(c.func()) + ">" }
}
"""


@settings(max_examples=150, deadline=None)
@given(texts)
def test_pdf_text_is_literal_in_typst(text):
    typst = pytest.importorskip("typst")
    import tempfile

    body = escape.pdf_text(text)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.typ"
        path.write_text(
            TYPST_PLAIN + f"#let body = [START {body} END]\n#metadata(plain(body)) <out>\n",
            encoding="utf-8",
        )
        got = json.loads(typst.query(str(path), "<out>", field="value", one=True))
    assert _norm(got) == _norm(f"START {expected(text)} END")


def test_pdf_text_escapes_typst_markup():
    assert escape.pdf_text("= A *b* _c_ #d $e$ @f <g> [h] ~ // i `j` \\k") == (
        "\\= A \\*b\\* \\_c\\_ \\#d \\$e\\$ \\@f \\<g\\> \\[h\\] \\~ \\/\\/ i \\`j\\` \\\\k"
    )
    assert escape.pdf_text("a\n\n= heading") == "a \\= heading"
    assert escape.pdf_text("u{41}") == "u\\{41\\}"


# --- the gate --------------------------------------------------------------------------------


def test_gate_rules_are_those_of_escape():
    from nhsbook.validation import gate as validate

    assert re.search(escape.NAME_TEXT, "Queen's Park Medical Centre (Derby) & Co.\tx")
    for bad in ["a\nb", "a\r", "\x00", "x\u200b", "\ufeffx", "x\u202e", "a\u2028b", "a\x85"]:
        assert not re.search(escape.NAME_TEXT, bad), repr(bad)
    for code in [
        "C81001",
        "15M",
        "5N7",
        "E38000115",
        "U12345",
        "DERBYSHIRE-CLUSTER",
        "ND-DRO",
        "SYNCCG01",
        "E92000001",
    ]:
        assert re.search(escape.CODE_TEXT, code)
    for bad in ["SYN04\n", "a b", "../x", "a/b", "", "é1", "x\u200b"]:
        assert not re.search(escape.CODE_TEXT, bad), repr(bad)
    params = validate.derive_parameters({})
    assert params["name_text"] == escape.NAME_TEXT and params["code_text"] == escape.CODE_TEXT
    # every character of category Cc/Cf but tab is refused
    for c in range(0x110000):
        ch = chr(c)
        if unicodedata.category(ch) in ("Cc", "Cf") and ch != "\t":
            assert not re.search(escape.NAME_TEXT, f"a{ch}b"), hex(c)


#: Suites and the name/code columns the gate checks for control characters.
CHECKED = {
    "areas": ["area_code", "area_name", "parent_code", "comparator_code"],
    "practices": ["area_code", "area_name", "parent_code"],
    "indicators": ["indicator_id", "name"],
    "fingertips": ["Area Code", "Area Name", "Indicator Name", "Parent Code"],
    "qof_geographies": ["PRACTICE_CODE", "PRACTICE_NAME", "PCN_NAME", "CCG_NAME"],
    "ons_sape_single_year": ["lsoa_code", "la_name"],
    "finance_organisations": ["org_code", "org_name"],
    "spot_programmes": ["programme_name"],
}


@pytest.mark.parametrize("suite", sorted(CHECKED))
def test_suites_check_names_and_codes(root, suite):
    exps = json.loads((root / "expectations" / f"{suite}.json").read_text())["expectations"]
    checked = {
        e["kwargs"]["column"]: e["kwargs"]["regex"]["$PARAMETER"]
        for e in exps
        if e["type"] == "expect_column_values_to_match_regex"
        and isinstance(e["kwargs"].get("regex"), dict)
    }
    for col in CHECKED[suite]:
        assert checked.get(col) == (
            "code_text" if "code" in col.lower() or col.endswith("_id") else "name_text"
        ), (suite, col)


def _copy_data(root: Path, dest: Path) -> Path:
    shutil.copytree(root / "data" / "default", dest)
    return dest


def _set_cells(path: Path, key: str, code: str, column: str, value: str) -> int:
    """Set ``column`` of the row whose ``key`` is ``code``; returns the row's file line."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    hit = [i for i, r in enumerate(rows) if r and r[header.index(key)] == code]
    assert hit, (path, code)
    rows[hit[0]][header.index(column)] = value

    def text(records):
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(records)
        return buf.getvalue()

    path.write_text(text(rows), encoding="utf-8")
    # the file line of the record: 1 + the newlines before it (quoted newlines included)
    return text(rows[: hit[0]]).count("\n") + 1


def test_gate_refuses_control_characters_naming_file_line_column(root, tmp_path):
    from nhsbook.validation import gate as validate

    data = _copy_data(root, tmp_path / "default")
    line = _set_cells(
        data / "areas.csv",
        "area_code",
        "ND-DRO",
        "area_name",
        "Dronfield\n\n:::{literalinclude} /etc/passwd\n:::",
    )
    _set_cells(
        data / "synthetic" / "practices.csv",
        "area_code",
        "SYN01",
        "area_name",
        "Synthetic\u200bpractice 01",
    )
    report = validate.validate_book(data, root=tmp_path)
    assert not report.ok
    text = report.to_text()
    assert (
        f"areas.csv, line {line}, column area_name\n    rule: area_name must be text "
        "without control characters"
    ) in text
    assert "U+000A LINE FEED" in text and "U+200B ZERO WIDTH SPACE" in text
    assert "synthetic/practices.csv, line 2, column area_name" in text
    assert "fix: remove the control characters listed from area_name" in text
    # the report page shows the offending value as one literal line
    md = report.to_markdown()
    assert ":::{literalinclude}" not in md and "\\:\\:\\:\\{literalinclude\\}" in md


def test_gate_refuses_codes_with_a_trailing_newline(root, tmp_path):
    from nhsbook.validation import gate as validate

    data = _copy_data(root, tmp_path / "default")
    _set_cells(data / "synthetic" / "practices.csv", "area_code", "SYN04", "area_code", "SYN04\n")
    report = validate.validate_book(data, root=tmp_path)
    text = report.to_text()
    assert (
        "synthetic/practices.csv, line 5, column area_code\n    rule: area_code must be a "
        "code of ASCII letters, digits, '.', '-' and '_' only" in text
    )


# --- a real build ------------------------------------------------------------------------------

#: Every attack in one name (a CSV formula first, so that it leads the cell).
EVIL = (
    "=cmd|' /C calc'!A0 Evil <script>alert(1)</script> <img src=x onerror=alert(1)> "
    "[click](javascript:alert(1)) {download}`/etc/passwd` ``` {{ x }} $x$ & <b>b</b>"
    "\n\n:::{literalinclude} /etc/passwd\n:::\n\n```{literalinclude} /etc/passwd\n```\n"
    "# not a heading"
)

#: A page set's part: a caption of the table of contents (Sphinx writes it as text).
PART = "Part <img src=x onerror=alert(1)> **not bold** `x` {download}`/etc/passwd`"

SMALL = {
    "name": "evil",
    "title": "Evil names",
    "loader": "embedded",
    "data": "data/default",
    "synthetic": True,
    "pages": [
        {
            "part": "Health profiles",
            "area_types": ["ccg"],
            "notebooks": ["jsna_profile", "practice_variation"],
        },
        {"part": PART, "areas": {"SYN01": "Listed " + EVIL}, "notebooks": ["jsna_profile"]},
    ],
}


class _Text(HTMLParser):
    """The visible text of a page and its elements (script and style contents skipped)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


@pytest.fixture(scope="module")
def evil_site(root, tmp_path_factory):
    """A copy of the project whose CCG, locality, practice and indicator names carry every
    attack, built with the gate's control-character refusals waived (so that the escaping
    itself is what is tested: the gate refuses these names, see above)."""
    import yaml

    from nhsbook.build import book as build_mod
    from nhsbook.build.book import build
    from tests.test_incremental import _copy_project

    copy = _copy_project(root, tmp_path_factory.mktemp("evil") / "proj")
    (copy / "books" / "evil.yml").write_text(yaml.safe_dump(SMALL), encoding="utf-8")
    data = copy / "data" / "default"
    _set_cells(data / "areas.csv", "area_code", "E38000115", "area_name", "CCG " + EVIL)
    _set_cells(data / "areas.csv", "area_code", "ND-CHE", "area_name", "Locality " + EVIL)
    _set_cells(
        data / "synthetic" / "practices.csv", "area_code", "SYN01", "area_name", "Practice " + EVIL
    )
    ind = pd.read_csv(data / "indicators.csv", dtype=str)
    ind_id = ind.loc[ind["name"] == "Alcohol related admissions to hospital", "indicator_id"].iloc[
        0
    ]
    _set_cells(data / "indicators.csv", "indicator_id", ind_id, "name", EVIL)

    real = build_mod.validate_inputs
    waived: list = []

    def gate(cfg):
        report = real(cfg)
        waived.extend(report.failures)
        assert report.failures and all("control characters" in f.rule for f in report.failures), (
            report.to_text()
        )
        return dataclasses.replace(report, ok=True)  # publish the failures on the page

    mp = pytest.MonkeyPatch()
    mp.setenv("NHSBOOK_ROOT", str(copy))
    mp.setattr(build_mod, "validate_inputs", gate)
    try:
        build("evil", jobs=2, force=True, log=lambda *_: None)
    finally:
        mp.undo()
    assert sum(f.count for f in waived) == 4  # CCG, locality, practice, indicator
    yield copy / "book" / "_build" / "html", copy


PAGES = [
    "index.html",
    "areas/index.html",
    "areas/E38000115/jsna_profile.html",
    "areas/E38000115/practice_variation.html",
    "areas/SYN01/jsna_profile.html",
    "validation.html",
]


#: The attacked names each page shows ("" is the indicator, whose name is the attack alone).
SHOWN = {
    "index.html": ["CCG", "Listed"],
    "areas/index.html": ["CCG", "Listed"],
    "areas/E38000115/jsna_profile.html": ["CCG", ""],
    "areas/E38000115/practice_variation.html": ["CCG", "Practice", "Locality", ""],
    "areas/SYN01/jsna_profile.html": ["Practice", "CCG", ""],
    "validation.html": ["CCG", "Locality", "Practice"],
}


@pytest.mark.parametrize("page", PAGES)
def test_built_pages_show_the_names_as_text(evil_site, page):
    site, _ = evil_site
    raw = (site / page).read_text(encoding="utf-8")
    assert "root:x:0:0" not in raw and "/usr/sbin/nologin" not in raw
    assert "<script>alert" not in raw.lower()
    parsed = _Text()
    parsed.feed(raw)
    for tag, attrs in parsed.tags:
        assert not (tag == "img" and attrs.get("src") == "x"), attrs
        assert not (attrs.get("onerror")), (tag, attrs)
        assert not attrs.get("href", "").strip().lower().startswith("javascript"), attrs
    text = _norm(" ".join(parsed.text))
    literal = _norm(escape.plain(EVIL))
    assert "<script>alert(1)</script>" in text and "[click](javascript:alert(1))" in text
    if page != "validation.html":
        assert literal in text, page
    for who in SHOWN[page]:  # each attacked name, where the page shows it
        assert _norm(f"{who} {escape.plain(EVIL)}".strip()) in text, (page, who)


def test_validation_report_lists_the_waived_rows_literally(evil_site):
    site, _ = evil_site
    parsed = _Text()
    parsed.feed((site / "validation.html").read_text(encoding="utf-8"))
    text = _norm(" ".join(parsed.text))
    assert "U+000A LINE FEED" in text
    assert _norm(escape.plain("CCG " + EVIL)) in text


def test_published_csvs_guard_formulas(evil_site):
    site, _ = evil_site
    profile = pd.read_csv(
        site / "data" / "E38000115" / "profile.csv", dtype=str, keep_default_na=False
    )
    names = profile["Indicator"].tolist()
    assert "'" + escape.plain(EVIL) in [escape.plain(n) for n in names]
    for csv_path in site.rglob("*.csv"):
        for row in csv.reader(csv_path.open(encoding="utf-8")):
            for cell in row:
                if cell.startswith(("=", "@", "+", "-")):
                    assert escape._PLAIN_NUMBER.fullmatch(cell), (csv_path, cell)


def test_contents_captions_are_text(evil_site):
    site, copy = evil_site
    toc = (copy / "book" / "_toc.yml").read_text(encoding="utf-8")
    assert PART in yaml_load(toc)["parts"][2]["caption"]
    raw = (site / "index.html").read_text(encoding="utf-8")
    parsed = _Text()
    parsed.feed(raw)
    assert PART in _norm(" ".join(parsed.text))
    assert "<strong>not bold</strong>" not in raw and "<img src=x" not in raw


def yaml_load(text):
    import yaml

    return yaml.safe_load(text)


def test_search_results_show_titles_as_text(evil_site):
    site, _ = evil_site
    script = (site / "_static" / "searchtools.js").read_text(encoding="utf-8")
    assert "_nhsbookEscape(title)" in script
    assert "<script>alert(1)</script>" in (site / "searchindex.js").read_text(encoding="utf-8")


def test_in_a_browser_no_attack_runs(evil_site):
    """The search page (which lists the attacked titles) and the attacked area page in
    Chromium: no dialog opens, no ``<img src=x>`` or injected ``<script>`` exists in the DOM,
    and the result titles read as the names."""
    import functools
    import http.server
    import os
    import threading

    chromium = os.environ.get("NHSBOOK_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    site, _ = evil_site

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(site))
    )
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}/"
    dialogs: list[str] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.route(
                "**/*", lambda r: r.continue_() if r.request.url.startswith(base) else r.abort()
            )
            page.goto(base + "search.html?q=Evil")
            page.wait_for_selector("#search-results li", timeout=30000)
            titles = page.locator("#search-results li > a").all_inner_texts()
            assert any("<script>alert(1)</script>" in t for t in titles), titles
            for url in ("search.html?q=Evil", "index.html", "areas/E38000115/jsna_profile.html"):
                if not page.url.endswith(url):
                    page.goto(base + url)
                    page.wait_for_load_state("load")
                assert page.locator('img[src="x"]').count() == 0, url
                assert (
                    page.evaluate("""() => [...document.scripts].filter(
                    s => s.textContent.trim() === 'alert(1)').length""")
                    == 0
                ), url
                assert page.locator('a[href^="javascript"]').count() == 0, url
            browser.close()
    finally:
        httpd.shutdown()
    assert dialogs == []


# --- every writer of a name: the page's structure does not depend on the name -------------------


def _skeleton(html_out: str) -> list[str]:
    return [t for t, _ in _parse(html_out).tags]


@pytest.fixture(scope="module")
def writers(computed, default_book):
    """Each place the package writes a name, as ``name -> (format, text)``."""
    from nhsbook.analysis import finance, spot
    from nhsbook.build.book import Page, area_tree
    from nhsbook.pages import messages
    from nhsbook.pages.area import AreaPage, key_messages_html
    from nhsbook.pages.renderer import render
    from nhsbook.validation.gate import Failure, ValidationReport

    fin = finance.load("default")
    pack = spot.locality_pack(computed["values"], computed["metadata"], computed["areas"], "ND-DRO")

    def page_with(name: str) -> AreaPage:
        areas = computed["areas"].copy()
        areas.loc[areas["area_code"].isin(["ND-DRO", "E38000115"]), "area_name"] = name
        meta = computed["metadata"].copy()
        meta.loc[meta["indicator_id"] == "A04", "name"] = name
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

    def finance_header(name: str) -> str:
        orgs = fin.organisations.copy()
        orgs.loc[orgs["org_code"] == "5N7", ["org_name", "code_note"]] = name
        return finance.header_markdown(dataclasses.replace(fin, organisations=orgs), "5N7")

    def report(name: str) -> str:
        f = Failure(
            file="areas.csv",
            columns=("area_name",),
            rule="rule",
            lines=[6],
            values=[{"area_name": name}],
            count=1,
            hint="fix",
            dataset="areas",
            expectation="expect_column_values_to_match_regex",
            context=[{"area_code": name}],
        )
        return ValidationReport(ok=False, failures=[f], datasets=[]).to_markdown()

    return {
        "header": lambda n: ("md", page_with(n).header_markdown()),
        "tree": lambda n: (
            "md",
            "\n".join(
                area_tree(
                    [
                        Page("P", "jsna_profile", "E38000115", n, "ccg", ""),
                        Page("P", "overview", "E38000115", n, "ccg", ""),
                        Page(n, "finance", "5N7", n, "", ""),
                    ],
                    "areas/",
                    {"E38000115": n},
                )
            ),
        ),
        # the key messages carry area and indicator names into the page (issue 27)
        "key_messages": lambda n: (
            "html",
            key_messages_html(
                messages.key_messages(
                    {
                        "values": computed["values"],
                        "metadata": page_with(n).metadata,
                        "areas": page_with(n).areas,
                    },
                    "ND-DRO",
                    "profile",
                )
            ),
        ),
        "finance_header": lambda n: ("md", finance_header(n)),
        "locality_summary": lambda n: ("md", spot.locality_summary_markdown(pack, n, n)),
        "validation_report": lambda n: ("md", report(n)),
        "profile_table": lambda n: (
            "html",
            page_with(n).profile_html(page_with(n).profile("adult")).data,
        ),
        "chart_figure": lambda n: (
            "html",
            render({"title": n, "description": n, "mark": "point"})["text/html"].split(
                "<script", 1
            )[0],
        ),
    }


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(texts)
def test_every_writer_shows_any_name_as_text(myst, writers, name):
    """Property: with any name (not empty once control characters and white space are
    collapsed: the gate requires names), every writer's output has the structure it has for
    a plain name, and shows the name as text."""
    assume(expected(name))
    for what, write in writers.items():
        kind, out = write(name)
        kind, base = write("Name")
        if kind == "md":
            got, ref = myst.render(out), myst.render(base)
        else:
            got, ref = out, base
        assert _skeleton(got) == _skeleton(ref), (what, name)  # no element from the name
        assert expected(name) in _norm("".join(_parse(got).text)), (what, name)


# --- the static SVGs: vl-convert aborts the process on some characters -------------------


@pytest.mark.parametrize("bad", ["\x00", "a\x01b", "\ufffe", "\uffff", "x\U0010ffff"])
def test_chart_text_that_would_abort_vl_convert_is_drawn(tmp_path, bad):
    """vl-convert panics (and aborts the kernel) on C0 controls and U+FFFE / U+FFFF in any
    string of a spec; the renderer passes specs through escape.vega_spec, and the gate
    refuses those characters in names (noncharacters included)."""
    import vl_convert as vlc

    spec = {
        "title": f"Area {bad}",
        "description": bad,
        "mark": "point",
        "data": {"values": [{"a": 1, "name": bad}]},
        "encoding": {"x": {"field": "a", "type": "quantitative"}, "tooltip": {"field": "name"}},
    }
    svg = vlc.vegalite_to_svg(escape.vega_spec(spec))
    assert "Area" in svg
    assert escape.vega_spec(spec)["data"]["values"][0]["a"] == 1
    assert not re.search(escape.NAME_TEXT, f"name {bad}")
