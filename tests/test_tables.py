"""The one table helper (issue 21, "one of each"): every table a page shows is
:func:`nhsbook.pages.tables.table`; no other module of nhsbook and no notebook styles a pandas
table itself."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from IPython.display import HTML

from nhsbook.analysis.finance import RAG_COLOURS
from nhsbook.charts.theme import PALETTES, contrast
from nhsbook.core import escape
from nhsbook.pages.tables import table

ROOT = Path(__file__).resolve().parents[1]
#: A pandas table styled by hand: ``frame.style``, ``Styler(frame)``.
STYLING = re.compile(r"\.style\b|\bStyler\(")
#: The helper, and the escaping it renders through (``escape.html_table`` turns the
#: DataFrame it is given into the Styler it escapes).
ALLOWED = {"nhsbook/pages/tables.py", "nhsbook/core/escape.py"}


def _sources() -> dict[str, list[str]]:
    """Every module of nhsbook and every notebook's code, as lines, by path."""
    out = {}
    for path in sorted((ROOT / "nhsbook").rglob("*.py")):
        out[path.relative_to(ROOT).as_posix()] = path.read_text(encoding="utf-8").splitlines()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        out[path.relative_to(ROOT).as_posix()] = [
            line
            for cell in nb["cells"]
            if cell["cell_type"] == "code"
            for line in "".join(cell["source"]).splitlines()
        ]
    return out


def _styling(lines: list[str]) -> list[str]:
    return [
        line.strip() for line in lines if STYLING.search(line) and not line.strip().startswith("#")
    ]


def test_no_page_styles_a_table_itself():
    """Only :mod:`nhsbook.pages.tables` makes a Styler: every other module and every notebook
    calls :func:`nhsbook.pages.tables.table`."""
    sources = _sources()
    assert "nhsbook/pages/tables.py" in sources and len(sources) > 50
    found = {
        path: bad
        for path, lines in sources.items()
        if path not in ALLOWED and (bad := _styling(lines))
    }
    assert found == {}, f"style tables with nhsbook.pages.tables.table: {found}"


def test_the_rule_finds_what_it_forbids():
    assert _styling(
        [
            "display(t.style.hide(axis='index'))",
            "s = Styler(frame)",
            "x = frame.style",
            "# t.style in a comment",
            "self.styler = 1",
            "styled = 2",
            "text-style: x",
        ]
    ) == ["display(t.style.hide(axis='index'))", "s = Styler(frame)", "x = frame.style"]


# --- the helper's options -------------------------------------------------------------------


def _cells(html: str) -> list[str]:
    return re.findall(r"<t[dh](?:\s[^>]*)?>(.*?)</t[dh]>", html)


def _rules(html: str) -> dict[str, str]:
    """The style rule of each styled cell, by the cell's text."""
    rules = {
        ident: " ".join(rule.split()).rstrip(";")
        for ident, rule in re.findall(r"#(T_\w+)\s*\{([^}]*)\}", html)
    }
    return {
        text: rules[ident] for ident, text in re.findall(r'<td id="(T_\w+)"[^>]*>(.*?)</td>', html)
    }


def test_numbers_in_the_book_format_and_each_columns_own():
    frame = pd.DataFrame(
        {
            "Name": ["A", "B"],
            "Value": [1234.56, -0.04],
            "Count": [12345, 7],
            "Money": [-4430.4, 1042468.0],
            "r": [0.123456, 0.5],
            "Year": [2011, 2012],
            "z": [1.234, -0.5],
            "Flag": [True, False],
            "Share": [12.345, 50.0],
        }
    )
    out = table(
        frame,
        formats={
            "Money": "money",
            "r": 2,
            "z": "{:+.2f}",
            "Flag": "yes",
            "Year": str,
            "Share": lambda v: f"{v:.0f}%",
        },
    )
    assert isinstance(out, HTML)
    cells = _cells(out.data)
    assert cells[:9] == ["Name", "Value", "Count", "Money", "r", "Year", "z", "Flag", "Share"]
    assert cells[9:18] == [
        "A",
        "1,234.6",
        "12,345",
        "-4,430",
        "0.12",
        "2011",
        "+1.23",
        "yes",
        "12%",
    ]
    assert cells[18:] == ["B", "0.0", "7", "1,042,468", "0.50", "2012", "-0.50", "", "50%"]


def test_digits_and_thousands():
    frame = pd.DataFrame({"Value": [1234.5678], "Year": [2011]})
    assert _cells(table(frame, digits=2).data)[2:] == ["1,234.57", "2,011"]
    assert _cells(table(frame, digits=0, thousands=False).data)[2:] == ["1235", "2011"]
    assert _cells(table(frame, formats={"Year": "count"}, thousands=False).data)[2:] == [
        "1234.6",
        "2,011",
    ]


def test_missing_cells_and_suppressed_ones():
    # not "Indicator": once a page's hooks are installed (another test may have), indicator
    # names are linked to their definitions (nhsbook.pages.definitions.link_table), a blank one
    # shown blank
    frame = pd.DataFrame(
        {
            "Label": ["a", "b", None],
            "Value": [1.0, None, float("nan")],
            "Count": pd.array([1, None, 3], dtype="Int64"),
        }
    )
    assert _cells(table(frame).data)[3:] == ["a", "1.0", "1", "b", "", "", "", "", "3"]
    assert _cells(table(frame, na="Supp.").data)[6:] == [
        "b",
        "Supp.",
        "Supp.",
        "Supp.",
        "Supp.",
        "3",
    ]
    # a suppressed cell the profile shows as text (nhsbook.analysis.indicators.display_table)
    shown = pd.DataFrame({"Value": [12.34, "Supp."]}, dtype=object)
    assert _cells(table(shown).data)[1:] == ["12.3", "Supp."]


def test_row_formats_and_the_index():
    frame = pd.DataFrame(
        {"Area": [69884.0, 12.345]},
        index=pd.Index(["Population", "% aged 65 and over"], name="Measure"),
    )
    out = table(frame, index=True, row_formats={"Population": 0}, look="plain").data
    assert "69,884" in out and "12.3" in out and "Measure" in out
    assert "Population" in _cells(out)
    hidden = table(frame).data
    assert "Measure" not in hidden and "Population" not in hidden


def test_significance_colours_with_text_that_contrasts():
    labels = list(PALETTES["standard"])
    frame = pd.DataFrame({"Indicator": labels, "Significance": labels})
    rules = _rules(table(frame, colours={"Significance": "significance"}).data)
    assert set(rules) == set(labels)
    for label, rule in rules.items():
        fill = re.search(r"background-color: (#\w{6})", rule).group(1)
        text = re.search(r"(?<!-)color: (#\w{6})", rule).group(1)
        assert fill == PALETTES["standard"][label]
        assert contrast(fill, text) >= 4.5, (label, fill, text)
    # the spine charts' dark fills keep white text, the light ones black
    assert "color: #FFFFFF" in rules["Worse"] and "color: #000000" in rules["Better"]


def test_rag_colours_by_rag_or_rating():
    frame = pd.DataFrame(
        {"Scheme": ["a", "b", "c", "d"], "RAG": ["Green", "Amber", "FAIL", "Grey"]}
    )
    rules = _rules(table(frame, colours={"RAG": "rag"}, look="finance").data)
    assert rules["Green"].startswith(f"background-color: {RAG_COLOURS['Green']}")
    assert rules["FAIL"] == f"background-color: {RAG_COLOURS['Red']}; color: #FFFFFF"
    assert rules["Amber"].endswith("color: #000000")
    for rule in rules.values():
        fill, text = re.findall(r"#\w{6}", rule)
        assert contrast(fill, text) >= 4.5
    # a value of no colour is left plain, and the words stay in the cell
    assert "a" not in rules and _cells(table(frame, colours={"RAG": "rag"}).data)[-1] == "Grey"


def test_colours_of_ones_own():
    frame = pd.DataFrame({"Band": ["investigate", "worth exploring", "none"]})
    rules = _rules(
        table(
            frame, colours={"Band": {"investigate": "#C00000", "worth exploring": "#FFC000"}}
        ).data
    )
    assert rules == {
        "investigate": "background-color: #C00000; color: #FFFFFF",
        "worth exploring": "background-color: #FFC000; color: #000000",
    }


@pytest.mark.parametrize(
    "name",
    [
        "<script>alert(1)</script>",
        "**bold** [link](http://x)",
        "{{ x }} $y$ `z` <!-- c",
        "A & B < C",
    ],
)
def test_names_are_shown_literally(name):
    frame = pd.DataFrame({"Area": [name], name: [1.5]})
    out = table(frame, details=name).data
    literal = escape.html(name)
    assert out.count(literal) == 3  # the cell, the column label, the summary
    assert "<script" not in out and "<!--" not in out and "&amp;lt;" not in out
    assert "<strong>" not in out and "<a " not in out


def test_the_looks():
    frame = pd.DataFrame({"Indicator": ["a"], "Value": [1.0]})
    assert '<table id="T_' in table(frame).data
    assert re.search(r'<table id="T_\w+" class="nhsbook-profile" tabindex="0">', table(frame).data)
    assert re.search(
        r'<table id="T_\w+" class="nhsbook-finance" tabindex="0">',
        table(frame, look="finance").data,
    )
    plain = table(frame, look="plain").data
    assert re.search(r'<table id="T_\w+">', plain) and "tabindex" not in plain
    assert "\n  <" not in plain and "row0_col0" not in plain  # compact (escape.table_html)
    with pytest.raises(ValueError):
        table(frame, look="fancy")


def test_details_fold_the_table():
    frame = pd.DataFrame({"Indicator": ["a"], "Value": [1.0]})
    out = table(frame, details="The 3 outliers").data
    assert out.startswith("<details><summary>The 3 outliers</summary><style")
    assert out.endswith("</details>") and out.count("</table>") == 1


def test_bad_options_say_what_is_wrong():
    frame = pd.DataFrame({"Value": [1.0]})
    with pytest.raises(KeyError, match="Valeu"):
        table(frame, formats={"Valeu": 1})
    with pytest.raises(KeyError, match="Total"):
        table(frame, row_formats={"Total": 0})
    with pytest.raises(ValueError, match="percent"):
        table(frame, formats={"Value": "percent"})
    with pytest.raises(ValueError, match="spot"):
        table(frame, colours={"Value": "spot"})


def test_a_repeated_row_label_is_no_trouble():
    frame = pd.DataFrame(
        {"Indicator": ["a", "b"], "Significance": ["Worse", "Better"]}, index=[0, 0]
    )
    out = table(frame, colours={"Significance": "significance"}).data
    assert _cells(out)[2:] == ["a", "Worse", "b", "Better"]
