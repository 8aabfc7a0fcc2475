"""Names are data, never markup: one escaping function per output format.

Every value that came from a book's data (area, practice, PCN, indicator and organisation
names, codes, periods, notes, page titles, captions) is passed through the function of the
format it is written into, and comes out as literal text there:

* MyST markdown (a paragraph, table cell, heading, list item, link text): :func:`markdown`,
  and :func:`markdown_code` for an inline code span;
* HTML text and attribute values: :func:`html`, and :func:`html_table` for a pandas Styler;
* CSV cells: :func:`csv_cell`, and :func:`csv_frame` for a whole table;
* SVG / XML text: :func:`svg_text`;
* typst markup (the PDF reports): :func:`pdf_text`.

Control characters (Unicode categories Cc and Cf, tab included) and line or paragraph
separators (Zl, Zp) become a space in every text format, and runs of white space collapse to
one space: a newline in a name can never start a new block (a heading, a directive, a list
item, a table row) in the page it is written into.  The validation gate refuses such
characters in names and codes in the first place (:data:`NAME_TEXT`, :data:`CODE_TEXT`).
"""

from __future__ import annotations

import html as _html
import re
import string
import sys
import unicodedata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: escaping must not import pandas
    import pandas

__all__ = [
    "CODE_TEXT",
    "NAME_TEXT",
    "compact_table",
    "control_characters",
    "csv_cell",
    "csv_frame",
    "html",
    "html_table",
    "install_display_hook",
    "markdown",
    "markdown_code",
    "pdf_text",
    "plain",
    "svg_text",
    "table_html",
    "vega_spec",
]


def _ranges(chars: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for c in chars:
        if out and out[-1][1] == c - 1:
            out[-1] = (out[-1][0], c)
        else:
            out.append((c, c))
    return out


def _class(ranges: list[tuple[int, int]]) -> str:
    def one(c: int) -> str:
        return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}" if c < 0x10000 else f"\\U{c:08x}"

    return "".join(one(a) if a == b else f"{one(a)}-{one(b)}" for a, b in ranges)


#: Code points of Unicode categories Cc and Cf, the line and paragraph separators (Zl,
#: Zp) and the noncharacters, that text formats must never see raw: they become spaces.
_CONTROL = sorted(
    {
        c
        for c in range(sys.maxunicode + 1)
        if unicodedata.category(chr(c)) in ("Cc", "Cf", "Zl", "Zp")
    }
    |
    #: the noncharacters (U+FDD0-U+FDEF, U+xFFFE and U+xFFFF of every plane):
    #: never text, and vl-convert aborts the process on U+FFFE and U+FFFF
    set(range(0xFDD0, 0xFDF0))
    | {p * 0x10000 + c for p in range(17) for c in (0xFFFE, 0xFFFF)}
)
_CONTROL_CLASS = _class(_ranges(_CONTROL))
_CONTROL_RE = re.compile(f"[{_CONTROL_CLASS}]")

#: The gate's rule for names (``expect_column_values_to_match_regex``): no character of
#: Unicode category Cc or Cf (newlines, carriage returns, NUL, escape, zero-width and
#: direction marks, the byte-order mark, ...), tab excepted, and no line or paragraph
#: separator.  ``\A`` and ``\Z`` anchor the whole cell (``$`` would match before a final
#: newline).
NAME_TEXT = "\\A[^" + _class(_ranges([c for c in _CONTROL if c != 0x09])) + "]*\\Z"

#: The gate's rule for codes (ODS codes ``C81001``, ``15M``, ``5N7``; GSS codes
#: ``E38000115``; PCN codes ``U12345``; local codes ``DERBYSHIRE-CLUSTER``, ``ND-DRO``):
#: ASCII letters, digits, dot, dash and underscore only.
CODE_TEXT = r"\A[A-Za-z0-9._-]+\Z"


def control_characters(text: str) -> list[str]:
    """The characters of ``text`` the gate refuses in a name (``U+000A LINE FEED`` form)."""
    found = dict.fromkeys(ch for ch in str(text) if ord(ch) in _CONTROL_SET and ch != "\t")
    return [
        f"U+{ord(ch):04X} {_CONTROL_NAMES.get(ord(ch)) or unicodedata.name(ch, _unnamed(ch))}"
        for ch in found
    ]


_CONTROL_SET = frozenset(_CONTROL)


def _unnamed(ch: str) -> str:
    return "NONCHARACTER" if unicodedata.category(ch) == "Cn" else "CONTROL CHARACTER"


#: What vl-convert (the static SVGs) cannot draw: it aborts the whole process (a Rust panic)
#: on C0 controls other than tab, newline and carriage return, and on U+FFFE / U+FFFF.
_VEGA_UNSAFE = re.compile(
    "["
    + _class(
        _ranges(
            [
                c
                for c in _CONTROL
                if unicodedata.category(chr(c)) == "Cn"
                or (c < 0x20 and c not in (0x09, 0x0A, 0x0D))
                or c == 0x7F
            ]
        )
    )
    + "]"
)


def vega_spec(spec: object) -> object:
    """A copy of a chart specification whose every string (titles, descriptions, labels and
    data values alike) has the characters vl-convert cannot draw replaced by a space
    (:data:`_VEGA_UNSAFE`); keys and numbers are unchanged.  The gate refuses those
    characters in names, so this only matters for text that did not come through it."""
    if isinstance(spec, str):
        return _VEGA_UNSAFE.sub(" ", spec)
    if isinstance(spec, dict):
        return {k: vega_spec(v) for k, v in spec.items()}
    if isinstance(spec, list):
        return [vega_spec(v) for v in spec]
    return spec


#: Names of the C0/C1 controls (which the Unicode database leaves unnamed) met in CSVs.
_CONTROL_NAMES = {
    0x00: "NULL",
    0x08: "BACKSPACE",
    0x0A: "LINE FEED",
    0x0B: "LINE TABULATION",
    0x0C: "FORM FEED",
    0x0D: "CARRIAGE RETURN",
    0x1B: "ESCAPE",
    0x7F: "DELETE",
    0x85: "NEXT LINE",
    0xA0: "NO-BREAK SPACE",
}


def plain(text: object) -> str:
    """``text`` as one line: control characters and separators as spaces, white space
    collapsed to single spaces, no leading or trailing space.  Every text escaper starts
    from this, so a name can never break a line of the format it is written into."""
    return " ".join(_CONTROL_RE.sub(" ", str(text)).split())


# --- MyST markdown --------------------------------------------------------------------------

#: ``&``, ``<`` and ``>`` as HTML entities (which markdown decodes, and which stay safe
#: where the markdown is embedded in raw HTML); every other ASCII punctuation character
#: backslash-escaped, which CommonMark and MyST read as that literal character.
_MARKDOWN = str.maketrans(
    {**{c: "\\" + c for c in string.punctuation}, "&": "&amp;", "<": "&lt;", ">": "&gt;"}
)


def markdown(text: object) -> str:
    """``text`` as literal text in MyST markdown (a paragraph, a table cell, a heading, a list
    item or link text).

    Neutralises everything MyST and jupyter-book's extensions (colon_fence, dollarmath,
    linkify, substitution, tasklist) would read as markup: directives (```` ```{x} ````,
    ``:::{x}``), roles (``{role}`target```), code fences and spans, raw HTML and entities,
    links, images and autolinks (``<http://…>``, bare ``www.``/``http://`` for linkify),
    headings, list, task and blockquote markers, table pipes, substitutions (``{{ x }}``),
    ``$`` math, emphasis, footnotes, targets (``(x)=``), comments (``%``) and line breaks:
    control characters and newlines become a space (:func:`plain`), every ASCII punctuation
    character is backslash-escaped, and ``&``, ``<``, ``>`` become entities.
    """
    return plain(text).translate(_MARKDOWN)


def markdown_code(text: object, table: bool = False) -> str:
    """``text`` as an inline code span of MyST markdown (literal: nothing is interpreted
    inside one): on one line and fenced by more backticks than it holds in a row.  In a
    table cell (``table=True``) ``|`` is escaped so that it cannot split the cell (GFM
    tables unescape ``\\|`` inside code spans; elsewhere the backslash would show)."""
    body = plain(text)
    if table:
        body = body.replace("|", "\\|")
    fence = "`" * (max((len(r) for r in re.findall(r"`+", body)), default=0) + 1)
    # a space on both sides lets the span start or end with a backtick (CommonMark strips one)
    pad = " " if body[:1] == "`" or body[-1:] == "`" else ""
    return f"{fence}{pad}{body}{pad}{fence}" if body else f"{fence} {fence}"


# --- HTML -----------------------------------------------------------------------------------


def html(text: object) -> str:
    """``text`` as literal HTML text, safe in element content and in a quoted attribute
    value (``&``, ``<``, ``>``, ``"`` and ``'`` as character references; control characters
    and newlines as a space)."""
    return _html.escape(plain(text), quote=True)


def html_table(
    table: "pandas.DataFrame | pandas.io.formats.style.Styler",
) -> "pandas.io.formats.style.Styler":
    """A pandas Styler whose text cells and header labels are shown as literal text: every
    string cell of its data is passed through :func:`html` (so cell formatters, which pandas
    applies to the value, receive escaped text and numbers are formatted as before) and the
    index and column labels are escaped (``format_index(escape="html")``).  Idempotent: a
    Styler is escaped once (pandas' own ``escape="html"`` must not be added on top).

    :mod:`nhsbook.pages.area` registers this for every Styler a notebook displays, so tables
    built in notebooks are escaped without each cell having to remember it."""
    import pandas as pd

    styler = table if not isinstance(table, pd.DataFrame) else table.style
    if getattr(styler, "_nhsbook_escaped", False):
        return styler
    data = styler.data.copy()
    for j in range(data.shape[1]):
        col = data.iloc[:, j]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            data.isetitem(j, col.map(lambda v: html(v) if isinstance(v, str) else v))
    styler.data = data
    styler.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    styler._nhsbook_escaped = True
    return _AFTER[0](styler) if _AFTER else styler


def table_html(table: "pandas.DataFrame | pandas.io.formats.style.Styler") -> str:
    """The page HTML of a table: :func:`html_table`'s Styler as HTML, made compact by
    :func:`compact_table`."""
    return compact_table(html_table(table).to_html())


#: What pandas' Styler writes on every cell: ``id="T_<uuid>_row3_col5"`` and classes such as
#: ``data row3 col5`` or ``col_heading level0 col5``.
_STYLER_ID = re.compile(r' id="(T_[A-Za-z0-9]+_(?:row\d+_col\d+|level\d+_(?:col|row)\d+))"')
_STYLER_CLASS = re.compile(
    r' class="((?:data|blank|index_name|col_heading|row_heading|col_trim|'
    r'row_trim|level\d+|row\d+|col\d+)(?: (?:data|blank|index_name|'
    r'col_heading|row_heading|col_trim|row_trim|level\d+|row\d+|'
    r'col\d+))*)"'
)


def compact_table(html_text: str) -> str:
    """A Styler's HTML without what nothing uses: the per-cell ``id`` and the generated
    ``class`` names of cells that no rule of the table's own ``<style>`` selects, and the
    line breaks and indentation between tags.  About half of a profile table's bytes; the
    table, its text and every styled cell are unchanged."""
    styles = " ".join(re.findall(r"<style[^>]*>(.*?)</style>", html_text, flags=re.S))
    used_ids = set(re.findall(r"#([A-Za-z0-9_-]+)", styles))
    used_classes = set(re.findall(r"\.([A-Za-z_][A-Za-z0-9_-]*)", styles))

    def drop_id(m: "re.Match[str]") -> str:
        return m.group(0) if m.group(1) in used_ids else ""

    def drop_classes(m: "re.Match[str]") -> str:
        kept = [c for c in m.group(1).split() if c in used_classes]
        return f' class="{" ".join(kept)}"' if kept else ""

    out = _STYLER_CLASS.sub(drop_classes, _STYLER_ID.sub(drop_id, html_text))
    out = re.sub(r"(<(?:td|th|tr)\b[^<>]*?) +>", r"\1>", out)
    return re.sub(r">\n\s*<", "><", out)


#: The step every escaped table goes through after escaping (set by
#: :func:`install_display_hook`'s ``after``, e.g. links to the indicator definitions).
_AFTER: list = []


def install_display_hook(after=None) -> bool:
    """Render every pandas Styler a notebook displays through :func:`html_table` (an IPython
    ``text/html`` formatter for the Styler type); ``after`` (a function from the escaped
    Styler to a Styler, e.g. :func:`nhsbook.pages.definitions.link_table`) then applies to every
    table :func:`html_table` escapes, displayed or converted by a page itself; False outside
    IPython."""
    try:
        from IPython import get_ipython
        from pandas.io.formats.style import Styler
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    _AFTER[:] = [after] if after is not None else []
    shell.display_formatter.formatters["text/html"].for_type(Styler, table_html)
    return True


# --- CSV ------------------------------------------------------------------------------------

#: A cell starting with one of these is run as a formula by spreadsheet programs (OWASP,
#: "CSV Injection"): ``=``, ``+``, ``-``, ``@``, tab and carriage return (and line feed,
#: which a carriage return becomes).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_PLAIN_NUMBER = re.compile(
    r"[-+]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?"
    r"[0-9]+)?%?"
)


def csv_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as written, never runs: a text cell starting with
    ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading ``'`` (OWASP's
    guard).  Numbers, and text that is only a number (``-12``, ``-1,234.5``, ``-3%``), are
    returned unchanged: a negative number stays a number.  A carriage return inside text
    becomes a line feed: pandas' CSV writer quotes a cell holding a line feed but not one
    holding a lone carriage return, which a spreadsheet reads as the start of a new row
    (whose first cell could be a formula)."""
    if not isinstance(value, str):
        return value
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if not value.startswith(FORMULA_START):
        return value
    if value[:1] in "+-" and any(ch.isdigit() for ch in value) and _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def csv_frame(table: "pandas.DataFrame") -> "pandas.DataFrame":
    """A copy of ``table`` with :func:`csv_cell` applied to every text cell (numeric columns
    untouched), and text column names guarded alike: what every published CSV is written
    from."""
    import pandas as pd

    out = table.copy()
    for col in out.columns:
        if pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col]):
            continue
        out[col] = (
            out[col].map(csv_cell).astype(out[col].dtype if out[col].dtype != object else object)
        )
    out.columns = [csv_cell(c) for c in out.columns]
    return out


# --- SVG / XML ------------------------------------------------------------------------------


def svg_text(text: object) -> str:
    """``text`` as literal XML character data or a quoted attribute value of an SVG: ``&``,
    ``<``, ``>``, ``"``, ``'`` as character references; control characters (which XML 1.0
    forbids) and newlines as a space; the non-characters U+FFFE, U+FFFF and lone surrogates
    removed."""
    s = plain(text)
    s = "".join(ch for ch in s if not (0xD800 <= ord(ch) <= 0xDFFF or ord(ch) in (0xFFFE, 0xFFFF)))
    return (
        s.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


# --- typst (PDF) ----------------------------------------------------------------------------

#: Every ASCII punctuation character is backslash-escaped in typst markup: ``\ # $ * _ `
#: < > @ [ ] ~ / = + - ' "`` and the rest (typst reads ``\c`` as the literal ``c`` for any
#: character but a letter, a digit or white space).  Letters are never escaped (``\u{…}`` is
#: a unicode escape).
_TYPST = str.maketrans({c: "\\" + c for c in string.punctuation})


def pdf_text(text: object) -> str:
    """``text`` as literal text in typst markup (the PDF reports): on one line (control
    characters and newlines as a space, so no paragraph break, heading ``=``, list ``-``/
    ``+`` or term ``/`` can start), every ASCII punctuation character backslash-escaped
    (markup ``* _ ` $ # [ ] < > @ ~``, comments ``//`` ``/*``, URLs ``https://``, shorthands
    ``--`` ``...`` and smart quotes all become the literal characters)."""
    return plain(text).translate(_TYPST)
