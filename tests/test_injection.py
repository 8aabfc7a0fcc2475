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

from nhsbook.build import BuildFailed, Page, area_tree, plan_pages
from nhsbook.io import fingertips
from nhsbook.pages import AreaPage, esc, style_profile

EVIL = '<img src=x onerror="alert(1)"> **bold** [link](javascript:alert(2)) `code` | "q"'


@pytest.fixture
def evil_page(computed, default_book):
    areas = computed["areas"].copy()
    areas.loc[areas["area_code"] == "ND-DRO", "area_name"] = EVIL
    meta = computed["metadata"].copy()
    meta.loc[meta["indicator_id"] == "A04", "name"] = EVIL
    row = areas[areas["area_code"] == "ND-DRO"].iloc[0]
    return AreaPage(default_book, row, computed["values"], meta, areas,
                    computed["population"], computed["population_reference"])


def test_header_escapes_area_names(evil_page):
    text = evil_page.header_markdown()
    assert "<img" not in text and 'onerror="' not in text
    assert "&lt;img" in text and "\\*\\*bold\\*\\*" in text and "\\[link\\]" in text


def test_profile_table_escapes_indicator_names(evil_page):
    html = style_profile(evil_page.profile("adult")).to_html()
    assert "<img" not in html and "&lt;img" in html


def test_charts_carry_names_as_data_not_markup(evil_page):
    import json
    from nhsbook.site import render
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


@pytest.mark.parametrize("code", ['x"; import os; os.system("touch /tmp/pwned") #',
                                  "'''\nimport os\n'''", "\\\"\nprint(1)"])
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


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                 st.text(alphabet="0123456789.,-eE+ infINFnaN*", max_size=8)))
def test_fingertips_values_parse_exactly_or_fail_with_the_line(tmp_path, cell):
    """Property: a Value cell either reads as the finite number it spells or the import fails
    naming the column and line; it never becomes a silently different number."""
    src = Path(__file__).resolve().parents[2] / "shared" / "data" / "gp" / \
        "fingertips_93553_imd2019_score_gp_england.csv"
    raw = pd.read_csv(src, dtype=str, keep_default_na=False, encoding="utf-8-sig", nrows=3)
    raw.loc[1, "Value"] = cell
    path = tmp_path / "export.csv"
    raw.to_csv(path, index=False)
    # commas only as English thousands separators (1,234.5); a decimal comma (0,5) or a
    # leading "+" is not how Fingertips writes numbers and must fail, never read as 5
    text = cell.strip()
    thousands = re.fullmatch(r"-?[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?",
                             text)
    if ("," in text and not thousands) or text.startswith("+"):
        text = "not a number"
    text = text.replace(",", "")
    try:
        expected = float(text) if text else None
    except ValueError:
        expected = "error"
    if expected is not None and expected != "error" and (expected != expected or
                                                         abs(expected) == float("inf")):
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
