"""Reading a built site's files as the disclosure scan and the attack on it both do
(:func:`nhsbook.build.publish.scan`, :func:`nhsbook.build.audit.read_site`): each file's tables (CSV
downloads, HTML tables, the datasets embedded in every chart, PDF and notebook text tables),
its free texts and the small counts its SVGs draw.
"""

from __future__ import annotations

import html as html_lib
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from nhsbook.core.model import count_columns
from nhsbook.pages.renderer import unpack_data

_SCRIPT = re.compile(r"<script\b.*?</script>", re.S | re.I)
_STYLE = re.compile(r"<style\b.*?</style>", re.S | re.I)


@dataclass(frozen=True)
class Finding:
    """One published cell that discloses a small number."""

    file: str
    where: str
    column: str
    value: object
    rule: str

    def __str__(self) -> str:
        return f"{self.file}: {self.where}, column {self.column!r} = {self.value!r} ({self.rule})"


_SPEC = re.compile(r"var spec = (\{.*?\}); var opts", re.S)
#: The figure id a chart's script draws into (what a later chart's shared parts name).
_CHART_ID = re.compile(
    r'\bvar opts = [^;]*;\s*(?:if \(window\.nhsbookChart\) \{ )?'
    r'nhsbookChart\("([^"]+)"'
)


def chart_tables(html: str) -> list[tuple[str, pd.DataFrame]]:
    """Every dataset of every nhsbook chart embedded in a page (tables the renderer packed
    as columns read as rows again and parts shared with earlier charts of the page followed,
    :func:`nhsbook.pages.renderer.unpack_data`), with its short field names and the names
    ``usermeta.csv_columns`` gives them."""
    out = []
    charts: dict[str, object] = {}
    for k, m in enumerate(_SPEC.finditer(html), 1):
        try:
            packed = json.loads(m.group(1).replace("<\\/", "</"))
        except json.JSONDecodeError:
            continue
        ident = _CHART_ID.match(html, m.end() - len("var opts"))
        if ident:
            charts[ident.group(1)] = packed
        spec = unpack_data(packed, charts)
        if not isinstance(spec, dict):
            continue
        names = (spec.get("usermeta") or {}).get("csv_columns") or {}
        datasets = dict(spec.get("datasets") or {})
        if (spec.get("data") or {}).get("values"):
            datasets["data"] = spec["data"]["values"]
        for name, rows in datasets.items():
            if not isinstance(rows, list) or not rows:
                continue
            table = pd.DataFrame(rows)
            renamed = table.rename(columns=names)
            out.append(
                (
                    f"chart {k} dataset {name}",
                    pd.concat(
                        [table, renamed.loc[:, ~renamed.columns.isin(table.columns)]], axis=1
                    ),
                )
            )
    return out


def _chart_tables(html: str) -> list[tuple[str, pd.DataFrame]]:
    """Every dataset of every nhsbook chart embedded in a page (names as published, and as
    ``usermeta.csv_columns`` renames them)."""
    return chart_tables(html)


_TABLE = re.compile(r"<table\b.*?</table>", re.S | re.I)
_THEAD = re.compile(r"<thead\b.*?</thead>", re.S | re.I)
_ROW = re.compile(r"<tr\b[^>]*>(.*?)</tr>", re.S | re.I)
_CELL = re.compile(r"<t[hd]\b[^>]*>(.*?)</t[hd]>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")


def _cells(row: str) -> list[str]:
    return [" ".join(html_lib.unescape(_TAG.sub(" ", c)).split()) for c in _CELL.findall(row)]


def _html_tables(html: str) -> list[tuple[str, pd.DataFrame]]:
    """Every ``<table>`` of a page as a frame of cell texts (header: the last row of
    ``<thead>``, else the first row).  Scripts are dropped first (chart data is checked by
    :func:`_chart_tables`)."""
    out = []
    for k, table in enumerate(_TABLE.findall(_SCRIPT.sub("", html)), 1):
        head = _THEAD.search(table)
        head_rows = [_cells(r) for r in _ROW.findall(head.group(0))] if head else []
        body = table[head.end() :] if head else table
        rows = [c for c in (_cells(r) for r in _ROW.findall(body)) if c]
        if head_rows:
            header = head_rows[-1]
        elif rows:
            header, rows = rows[0], rows[1:]
        else:
            continue
        if not rows:
            continue
        width = len(header)
        names = [h or f"column {i + 1}" for i, h in enumerate(header)]
        body_rows = [r[:width] + [""] * (width - len(r)) for r in rows]
        out.append((f"table {k}", pd.DataFrame(body_rows, columns=names)))
    return out


def html_text(html: str) -> str:
    """The visible text of an HTML page or fragment (no scripts, styles, tables or tags)."""
    text = _TABLE.sub(" ", _STYLE.sub(" ", _SCRIPT.sub(" ", html)))
    return " ".join(html_lib.unescape(_TAG.sub(" ", text)).split())


# --- free text ------------------------------------------------------------------------------

_COUNT_WORD = (
    r"(?:counts?|observed|numerators?|number\s+of\s+[a-z][a-z ]{0,30}?|"
    r"events?|deaths?)"
)
_NOUN = r"(?:deaths?|events?|admissions?|births?|cases?|patients?|people|persons?)"
_RULE_TEXT = re.compile(r"\b(?:from|between)?\s*1\s*(?:to|and|-|–)\s*\d+\b", re.I)


def text_counts(text: str, threshold: int = 5) -> list[str]:
    """Snippets of free text that state a count from 1 to ``threshold − 1`` (see module
    docstring: after a count word, or before an event noun)."""
    small = "|".join(str(k) for k in range(1, threshold))
    if not small:
        return []
    clean = _RULE_TEXT.sub(" ", text)
    after = re.compile(
        rf"\b{_COUNT_WORD}\s*(?:[:=]|of|was|were|is|are)?\s*\(?({small})\b"
        rf"(?![.,]?\d)",
        re.I,
    )
    before = re.compile(rf"(?<![\d.,])\b({small})\s+{_NOUN}\b", re.I)
    out = []
    for pat in (after, before):
        for m in pat.finditer(clean):
            out.append(" ".join(clean[max(0, m.start() - 30) : m.end() + 10].split()))
    return out


def _markdown_tables(text: str) -> list[tuple[str, pd.DataFrame]]:
    """Pipe tables of a markdown text as frames of cell texts."""
    out, block = [], []
    lines = text.splitlines() + [""]
    for line in lines:
        if line.strip().startswith("|"):
            block.append(line.strip())
            continue
        if len(block) >= 3 and re.match(r"^\|?\s*:?-{2,}", block[1]):
            split = lambda r: [c.strip() for c in r.strip("|").split("|")]  # noqa
            header = split(block[0])
            rows = [split(r)[: len(header)] for r in block[2:]]
            rows = [r + [""] * (len(header) - len(r)) for r in rows]
            out.append((f"markdown table {len(out) + 1}", pd.DataFrame(rows, columns=header)))
        block = []
    return out


def _plain_table(text: str) -> pd.DataFrame | None:
    """A table printed as text (a DataFrame's ``text/plain``): columns separated by two or
    more spaces, the first line the header (the index column, if any, is dropped)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 2:
        return None
    header = re.split(r"\s{2,}", lines[0].strip())
    rows = [re.split(r"\s{2,}", ln.strip()) for ln in lines[1:]]
    if len(header) < 2 or not count_columns(header):
        return None
    rows = [r[1:] if len(r) == len(header) + 1 else r for r in rows]
    rows = [r[: len(header)] + [""] * (len(header) - len(r)) for r in rows]
    return pd.DataFrame(rows, columns=header)


def _svg_findings(svg: str, rel: str, count_chart: bool, threshold: int) -> list[Finding]:
    """An SVG's text: free-text counts anywhere, and small numbers among the data labels of
    a chart whose data carry a count column."""
    found = []
    try:
        root = ET.fromstring(svg)
    except ET.ParseError:
        root = None
    texts: list[tuple[str, bool]] = []
    if root is not None:

        def walk(el: ET.Element, in_label: bool) -> None:
            cls = el.get("class", "")
            in_label = in_label or ("mark-text" in cls and "role-mark" in cls)
            if el.tag.rsplit("}", 1)[-1] == "text":
                texts.append(("".join(el.itertext()), in_label))
            for child in el:
                walk(child, in_label)

        walk(root, False)
    else:
        texts = [
            (html_lib.unescape(t), False)
            for t in re.findall(r"<text\b[^>]*>(.*?)</text>", svg, re.S)
        ]
    for text, is_label in texts:
        for snip in text_counts(text, threshold):
            found.append(
                Finding(rel, "SVG text", "text", snip, f"count from 1 to {threshold - 1} in text")
            )
        t = text.strip().replace(",", "")
        if count_chart and is_label and re.fullmatch(r"\d+", t) and 1 <= float(t) < threshold:
            found.append(
                Finding(
                    rel,
                    "SVG data label",
                    "text",
                    text.strip(),
                    f"count from 1 to {threshold - 1} labelled on a chart of counts",
                )
            )
    return found


def pdf_text(path: Path) -> str:
    """The text of every page of a PDF, read by PDFium (``pypdfium2``): the same text as
    pypdf's ``extract_text`` at about a twentieth of the time (a board report with vector
    charts takes pypdf about a second; it was most of the site's disclosure scan).  Line
    ends are ``\n``."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    try:
        pages = []
        for i in range(len(doc)):
            page = doc[i]
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            page.close()
    finally:
        doc.close()
    return "\n".join(pages).replace("\r\n", "\n").replace("\r", "\n")


# --- reading a site -------------------------------------------------------------------------


def _notebook_parts(path: Path) -> list[tuple[str, str, object]]:
    """Every output of every cell of a notebook, and its markdown cells' sources, as
    (where, mime type, content)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    parts: list[tuple[str, str, object]] = []
    join = lambda t: "".join(t) if isinstance(t, list) else t  # noqa
    for c, cell in enumerate(nb.get("cells", []), 1):
        if cell.get("cell_type") == "markdown":
            parts.append((f"cell {c} source", "text/markdown", join(cell.get("source", ""))))
        for o, out in enumerate(cell.get("outputs", []), 1):
            where = f"cell {c} output {o}"
            if out.get("output_type") == "stream":
                parts.append((where, "stream", join(out.get("text", ""))))
            elif out.get("output_type") == "error":
                parts.append((where, "stream", "\n".join(out.get("traceback", []))))
            for mime, data in (out.get("data") or {}).items():
                parts.append((where, mime, data if "json" in mime else join(data)))
    return parts


def _json_tables(data: object, where: str) -> list[tuple[str, pd.DataFrame]]:
    """Tables inside a JSON output: chart specs' datasets, lists of records, and
    count-keyed scalars of nested objects (as one-row tables)."""
    out: list[tuple[str, pd.DataFrame]] = []
    if (
        isinstance(data, dict)
        and ("datasets" in data or "data" in data)
        and ("mark" in data or "layer" in data or "$schema" in data or "spec" in data)
    ):
        payload = json.dumps(data)
        return [(f"{where} {w}", t) for w, t in chart_tables(f"var spec = {payload}; var opts")]

    def walk(x: object, path: str) -> None:
        if isinstance(x, list) and x and all(isinstance(r, dict) for r in x):
            out.append((f"{where} {path}".strip(), pd.DataFrame(x)))
        elif isinstance(x, dict):
            scalars = {k: v for k, v in x.items() if not isinstance(v, (dict, list))}
            if count_columns(scalars):
                out.append((f"{where} {path}".strip(), pd.DataFrame([scalars])))
            for k, v in x.items():
                if isinstance(v, (dict, list)):
                    walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(x, list):
            for k, v in enumerate(x):
                walk(v, f"{path}[{k}]")

    walk(data, "")
    return out


def _html_parts(html: str, where: str) -> tuple[list[tuple[str, pd.DataFrame]], str]:
    tables = _html_tables(html) if "<table" in html else []
    tables = [(f"{where} {w}".strip(), t) for w, t in tables]
    tables += [(f"{where} {w}".strip(), t) for w, t in _chart_tables(html)]
    return tables, html_text(html)


def _file_parts(
    path: Path, rel: str, threshold: int, count_charts: set[str], page_html: str = ""
) -> tuple[list[tuple[str, pd.DataFrame]], list[tuple[str, str]], list[Finding]]:
    """A published file's tables, its free texts (where, text) and its SVG findings.  A
    notebook's ``text/html`` outputs that its built page (``page_html``) shows verbatim are
    read once, with the page."""
    tables: list[tuple[str, pd.DataFrame]] = []
    texts: list[tuple[str, str]] = []
    found: list[Finding] = []
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            tables.append(("CSV", pd.read_csv(path, dtype=str, keep_default_na=False)))
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
            pass
    elif suffix == ".html":
        t, text = _html_parts(path.read_text(encoding="utf-8", errors="replace"), "")
        tables += t
        texts.append(("page text", text))
    elif suffix == ".svg":
        stem = str(Path(rel).with_suffix(""))
        found += _svg_findings(
            path.read_text(encoding="utf-8", errors="replace"), rel, stem in count_charts, threshold
        )
    elif suffix == ".pdf":
        text = pdf_text(path)
        texts.append(("PDF text", text))
        for w, t in _markdown_tables(text):
            tables.append((f"PDF {w}", t))
        plain = _plain_table(text)
        if plain is not None:
            tables.append(("PDF table", plain))
    elif suffix in (".md", ".txt"):
        text = path.read_text(encoding="utf-8", errors="replace")
        tables += _markdown_tables(text)
        texts.append(("text", text))
    elif suffix == ".ipynb":
        for where, mime, data in _notebook_parts(path):
            if mime == "text/html":
                if page_html and str(data).strip() in page_html:
                    continue
                t, text = _html_parts(str(data), where)
                tables += t
                texts.append((where, text))
            elif mime == "text/markdown":
                tables += [(f"{where} {w}", t) for w, t in _markdown_tables(str(data))]
                texts.append((where, html_text(str(data))))
            elif mime in ("text/plain", "stream"):
                plain = _plain_table(str(data))
                if plain is not None:
                    tables.append((f"{where} text table", plain))
                texts.append((where, str(data)))
            elif mime == "image/svg+xml":
                found += _svg_findings(str(data), f"{rel} {where}", False, threshold)
            elif "json" in mime:
                obj = data
                if isinstance(obj, str):
                    try:
                        obj = json.loads(obj)
                    except json.JSONDecodeError:
                        continue
                tables += _json_tables(obj, where)
    return tables, texts, found
