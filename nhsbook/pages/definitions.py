"""Indicator definitions: one entry per indicator of a book, a Definitions page, and links to it.

Every indicator a book shows has an entry with the fields of :data:`FIELDS` (name, definition,
numerator, denominator, unit and multiplier, method, polarity, source, period and vintage,
licence), built from the book's indicator metadata (:func:`entries`):

* columns the loader supplies are used as given (``definition``, ``numerator``,
  ``denominator``, ``method_note``, ``polarity_reason``, ``vintage``, ``licence``: the ONS
  local loader fills them all; the default book's ``indicators.csv`` gives the polarity reason);
* the rest is stated from the model's own columns: the definition from the name, sex, age and
  unit; numerator and denominator from the method (what the count and the denominator of the
  indicator's rows are); the method in words with its confidence interval
  (:data:`METHOD_WORDS`); the licence from the book's loader (:func:`book_licence`).

The page (:func:`page_markdown`) is written by the build as ``book/definitions.md``; each entry
carries an HTML anchor :func:`anchor` (``def-`` and the indicator id, characters other than
letters, digits, ``-`` and ``_`` written as ``.xx`` hex, so ids stay distinct and anchors
safe).

Links: a page that loads an area (:meth:`nhsbook.pages.area.AreaPage.load`) calls :func:`use` with
the book's metadata; then

* every table a notebook displays links each indicator name (a column whose role is
  ``indicator``, :func:`nhsbook.core.model.column_role`) to its entry (:func:`link_table`, installed
  as the Styler display hook by :func:`install_display_hook`);
* every chart (:func:`nhsbook.pages.renderer.render`) lists under it the definitions of the indicators
  its data hold (:func:`chart_links`): ordinary links in the caption, reachable by keyboard
  and screen readers, whichever way the chart is drawn (on the page, as a downloaded SVG, in
  a PDF report).
"""

from __future__ import annotations

import re

import pandas as pd

from nhsbook.config import sources
from nhsbook.core import escape
from nhsbook.core.model import column_role

#: The fields of a definition entry, in the order the page shows them.
FIELDS: tuple[str, ...] = (
    "Name",
    "Definition",
    "Numerator",
    "Denominator",
    "Unit and multiplier",
    "Method",
    "Polarity",
    "Source",
    "Period and vintage",
    "Licence",
)

#: The page's file name in the book (``book/definitions.md`` -> ``definitions.html``).
PAGE = "definitions"

#: Each method in words: how the value and its 95% and 99.8% limits are obtained.
METHOD_WORDS: dict[str, str] = {
    "proportion": "Proportion: count ÷ denominator × multiplier; 95% and 99.8% confidence "
    "limits by the Wilson score method (nhsbook.stats.proportion_ci).",
    "crude_rate": "Crude rate: count ÷ denominator × multiplier; limits by Byar's method "
    "(exact Poisson for small counts; nhsbook.stats.rate_ci).",
    "dsr": "Directly age-standardised rate (2013 European Standard Population); limits by "
    "Dobson's method (nhsbook.stats.dsr).",
    "isr": "Indirectly standardised ratio (observed ÷ expected) scaled by the reference "
    "value; limits by Byar's method (nhsbook.stats.isratio).",
    "life_expectancy": "Life expectancy from an abridged life table (Chiang II); limits from "
    "the variance of the life table (nhsbook.stats.life_expectancy).",
    "mean": "Mean with Student's t limits (nhsbook.stats.mean_ci).",
    "score": "Score: population-weighted mean of a published score; no confidence limits, "
    "so not compared for significance.",
    "ratio": "Ratio of two counts × multiplier; no confidence limits.",
}

#: Each method's name, for indicators whose figures are published rather than computed.
METHOD_NAMES: dict[str, str] = {
    "proportion": "Proportion (percentage)",
    "crude_rate": "Crude rate",
    "dsr": "Directly age-standardised rate",
    "isr": "Indirectly standardised ratio",
    "life_expectancy": "Life expectancy",
    "mean": "Mean",
    "score": "Score",
    "ratio": "Ratio",
}

#: Numerator and denominator by method, when the metadata does not give them.
_PARTS: dict[str, tuple[str, str]] = {
    "proportion": (
        "People with the condition or event (the Count column of the profile)",
        "The population at risk (registered patients of the age and sex given)",
    ),
    "crude_rate": ("Events in the period (the Count column)", "Population of the period"),
    "dsr": (
        "Events by age band",
        "Population by age band, weighted by the 2013 European Standard Population",
    ),
    "isr": (
        "Observed events (the Count column)",
        "Expected events: the reference rates applied to the area's population by age",
    ),
    "life_expectancy": ("Deaths by age band", "Population by age band"),
    "mean": ("Sum of the measurements", "Number of measurements"),
    "score": ("Not applicable: a published score", "Not applicable"),
    "ratio": ("The first count (the Count column)", "The second count (the Denominator column)"),
}

_POLARITY_WORDS = {
    "high_is_good": "High is good",
    "low_is_good": "Low is good",
    "no_judgement": "No judgement (higher or lower is neither better nor worse)",
}

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def anchor(indicator_id: object) -> str:
    """The HTML id of an indicator's entry: ``def-`` + the id, every character other than
    ASCII letters, digits, ``-`` and ``_`` written as ``.`` and its hex code (so distinct ids
    give distinct anchors, e.g. ``A.1`` -> ``def-A.2e1``, ``A 1`` -> ``def-A.201``)."""
    text = str(indicator_id)
    return "def-" + _UNSAFE.sub(
        lambda m: "".join(f".{b:02x}" for b in m.group().encode("utf-8")), text
    )


def href(indicator_id: object, prefix: str = "../../") -> str:
    """The link to an indicator's entry from a page ``prefix`` below the site root (area pages
    are ``areas/<code>/<notebook>.html``)."""
    return f"{prefix}{PAGE}.html#{anchor(indicator_id)}"


def book_licence(cfg) -> str:
    """The licence of a book's indicators when its metadata does not name one."""
    if getattr(cfg, "loader", "") == "embedded":
        note = "Figures transcribed from NHS planning documents: Open Government Licence v3.0."
        if getattr(cfg, "synthetic", False):
            note += (
                " Practice-level figures are synthetic (made by nhsbook synth) and "
                "carry no third-party rights."
            )
        return note
    return "Open Government Licence v3.0 (see the Data sources chapter for the attribution)."


def _text(row: pd.Series, column: str) -> str:
    value = row.get(column, "")
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    text = str(value).strip()
    return "" if text.lower() in ("nan", "none") else text


def _number(value: object) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{v:,.0f}" if v == int(v) else f"{v:,g}"


def entries(metadata: pd.DataFrame, cfg=None) -> pd.DataFrame:
    """One definitions entry per indicator of ``metadata`` (columns: ``indicator_id``,
    ``anchor``, ``profile``, ``domain`` and :data:`FIELDS`), in the metadata's order."""
    rows = []
    vintage = getattr(cfg, "vintage", "") if cfg is not None else ""
    licence = book_licence(cfg) if cfg is not None else ""
    for _, m in metadata.drop_duplicates("indicator_id").iterrows():
        method = _text(m, "method")
        unit = _text(m, "unit")
        mult = _number(m.get("multiplier"))
        sex, age = _text(m, "sex"), _text(m, "age")
        who = ", ".join(t for t in (sex, age) if t)
        definition = _text(m, "definition") or (
            f"{_text(m, 'name')}"
            + (f" ({who})" if who else "")
            + (f", in {unit}" if unit else "")
            + "."
        )
        num, den = _PARTS.get(method, ("Not stated", "Not stated"))
        note = _text(m, "method_note")
        # a loader's own note (published figures: nhsbook computes no limit) replaces the
        # description of how nhsbook computes the method's limits
        method_words = (
            f"{METHOD_NAMES.get(method, method or 'Not stated')}. {note}"
            if note
            else METHOD_WORDS.get(method, method or "Not stated")
        )
        polarity = _POLARITY_WORDS.get(_text(m, "polarity"), _text(m, "polarity"))
        reason = _text(m, "polarity_reason")
        rows.append(
            {
                "indicator_id": str(m["indicator_id"]),
                "anchor": anchor(m["indicator_id"]),
                "profile": _text(m, "profile"),
                "domain": _text(m, "domain"),
                "Name": _text(m, "name"),
                "Definition": definition,
                "Numerator": _text(m, "numerator") or num,
                "Denominator": _text(m, "denominator") or den,
                "Unit and multiplier": f"{unit or 'none'}; multiplier {mult}",
                "Method": method_words,
                "Polarity": f"{polarity}: {reason}" if reason else polarity,
                "Source": _text(m, "source") or "Not stated",
                "Period and vintage": "; ".join(
                    t
                    for t in (
                        f"period {_text(m, 'period')}" if _text(m, "period") else "",
                        _text(m, "vintage") or vintage,
                    )
                    if t
                ),
                "Licence": _text(m, "licence") and _licence_words(_text(m, "licence")) or licence,
            }
        )
    return pd.DataFrame(rows, columns=["indicator_id", "anchor", "profile", "domain", *FIELDS])


def _licence_words(key: str) -> str:
    """A registry licence key (e.g. ``OGL-3.0``) in words, with its attribution."""
    try:
        lic = sources.load_licences().get(key)
    except Exception:  # noqa: BLE001 - the key alone is still true
        lic = None
    if lic is None:
        return key
    attribution = " ".join(getattr(lic, "attribution", ()) or ())
    return f"{lic.name}. {attribution}".strip()


def page_markdown(metadata: pd.DataFrame, cfg=None) -> str:
    """The Definitions chapter: every indicator's entry under its anchor, by profile and
    domain; every text from the data escaped (:mod:`nhsbook.core.escape`)."""
    table = entries(metadata, cfg)
    out = [
        "# Definitions",
        "",
        f"Every indicator of this book ({len(table)}), with its definition, numerator and "
        "denominator, unit, method, polarity, source, period and licence. The indicator "
        "names in the tables of every page, and the *Definitions* lines under every "
        "chart, link here.",
        "",
    ]
    for profile, group in table.groupby("profile", sort=False):
        out += [f"## {escape.markdown(_profile_title(profile))}", ""]
        for _, e in group.iterrows():
            out += [
                f'<span id="{escape.html(e["anchor"])}"></span>',
                "",
                f"### {escape.markdown(e['Name'])}",
                "",
                f"Indicator {escape.markdown_code(e['indicator_id'])}"
                + (f", domain {escape.markdown(e['domain'])}" if e["domain"] else "")
                + ".",
                "",
            ]
            # a list, not a table: it wraps on a phone's width
            out += [f"- **{f}:** {escape.markdown(e[f])}" for f in FIELDS[1:]]
            out += [""]
    return "\n".join(out) + "\n"


def _profile_title(profile: str) -> str:
    titles = {
        "adult": "Adult profile",
        "child": "Child profile",
        "qof": "QOF recorded prevalence",
        "deprivation": "Deprivation",
        "health_index": "ONS Health Index",
    }
    return titles.get(profile, f"{str(profile).replace('_', ' ').capitalize()} profile")


# --- links from pages ------------------------------------------------------------------------

#: The indicators of the book of the page being built: id -> name and escaped name -> id.
_IDS: dict[str, str] = {}
_BY_NAME: dict[str, str] = {}


def use(metadata: pd.DataFrame) -> None:
    """Link the indicators of ``metadata`` from the tables and charts shown next (a page
    calls this when it loads its area; a warm kernel's next page replaces them)."""
    _IDS.clear()
    _BY_NAME.clear()
    for ind, name in zip(metadata["indicator_id"].astype(str), metadata["name"].astype(str)):
        _IDS[ind] = name
        _BY_NAME.setdefault(name, ind)
        _BY_NAME.setdefault(escape.html(name), ind)


def link_table(styler):
    """``styler`` with each indicator name (columns whose role is ``indicator``) a link to its
    definition; names not of the book stay plain.  The Styler's text is already escaped
    (:func:`nhsbook.core.escape.html_table`), so the formatter receives escaped names."""
    if not _BY_NAME:
        return styler
    cols = [c for c in styler.data.columns if column_role(c) == "indicator"]

    def link(value: object) -> str:
        if not isinstance(value, str):
            return "" if value is None or pd.isna(value) else str(value)
        ind = _BY_NAME.get(value)
        if ind is None:
            return value
        return f'<a href="{escape.html(href(ind))}">{value}</a>'

    if cols:
        styler = styler.format(link, subset=cols)
    return styler


def install_display_hook() -> bool:
    """Render every Styler a notebook displays escaped (:func:`nhsbook.core.escape.html_table`)
    and with its indicator names linked (:func:`link_table`); False outside IPython."""
    return escape.install_display_hook(after=link_table)


def chart_indicators(table: pd.DataFrame) -> list[str]:
    """The book's indicator ids a chart's data hold (by id or by name), in first-seen order."""
    found: list[str] = []
    for col in table.columns:
        role = column_role(col)
        if role == "indicator_id":
            found += [str(v) for v in table[col].dropna() if str(v) in _IDS]
        elif role == "indicator":
            found += [_BY_NAME[str(v)] for v in table[col].dropna() if str(v) in _BY_NAME]
    return list(dict.fromkeys(found))


def chart_links(table: pd.DataFrame) -> str:
    """HTML for under a chart: links to the definitions of the indicators it shows (one
    inline line for up to three, else a disclosure list), "" when it shows none."""
    ids = chart_indicators(table)
    if not ids:
        return ""
    links = [f'<a href="{escape.html(href(i))}">{escape.html(_IDS[i])}</a>' for i in ids]
    if len(links) <= 3:
        return '<span class="nhsbook-definitions">Definitions: ' + " · ".join(links) + "</span>"
    return (
        '<details class="nhsbook-definitions"><summary>Definitions of the '
        f'{len(links)} indicators in this chart</summary><ul>'
        + "".join(f"<li>{a}</li>" for a in links)
        + "</ul></details>"
    )


# --- checking a built site -------------------------------------------------------------------

_ID = re.compile(r'\bid="(def-[^"]*)"')
_HREF = re.compile(r'href="((?:\.\./)*)' + PAGE + r'\.html#(def-[^"]*)"')


def anchors_of(page) -> set[str]:
    """The definition anchors a built Definitions page holds."""
    from pathlib import Path

    path = Path(page)
    return set(_ID.findall(path.read_text(encoding="utf-8"))) if path.is_file() else set()


def site_links(site) -> list[tuple[str, str]]:
    """Every link to a definition in a built site: (page, anchor), page relative to the
    site; links resolve against the page's own folder."""
    from pathlib import Path

    site = Path(site)
    found = []
    for page in sorted(site.rglob("*.html")):
        text = page.read_text(encoding="utf-8", errors="replace")
        for up, anchor_id in _HREF.findall(text):
            target = (page.parent / (up + PAGE + ".html")).resolve()
            if target == (site / f"{PAGE}.html").resolve():
                found.append((str(page.relative_to(site)), anchor_id))
            else:
                found.append((str(page.relative_to(site)), f"(wrong page) {anchor_id}"))
    return found


def broken_links(site) -> list[tuple[str, str]]:
    """Links to a definition that the site's Definitions page does not hold (or that point
    to another page): empty when every link resolves."""
    from pathlib import Path

    anchors = anchors_of(Path(site) / f"{PAGE}.html")
    return [(p, a) for p, a in site_links(site) if a not in anchors]
