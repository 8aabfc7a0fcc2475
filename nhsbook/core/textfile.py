"""Reading a published file as text, with its true line numbers: the core every importer and
the validation gate use (:func:`read_table`), the failure a file can fail with
(:class:`Failure`) and the one number parser (:func:`to_number`: English thousands commas
only, never a decimal comma).  It imports nothing of nhsbook.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

#: The index name of every validated frame (its values are file line numbers).
LINE = "__line__"
#: Most offending rows listed per failure.
MAX_LINES = 10
#: Input files larger than this are refused by their size, unread (a 1 GB CSV is a mistake:
#: an export of the wrong table, or a file concatenated with itself).
MAX_FILE_BYTES = 256 * 2**20


@dataclass
class Failure:
    """One broken rule in one file: where, what, and how to fix it."""

    file: str  #: path relative to the repository / data root
    columns: tuple[str, ...]  #: column(s) to fix ("" for the whole file)
    rule: str  #: the rule in plain words
    lines: list[int]  #: 1-based file lines of up to 10 offending rows
    values: list[dict[str, Any]]  #: those rows' offending values, column -> cell text
    count: int  #: offending rows in total
    hint: str  #: one-line fix
    dataset: str = ""  #: dataset (suite) name
    expectation: str = ""  #: GX expectation type, or "read" for unreadable input
    context: list[dict[str, Any]] = field(default_factory=list)  #: key cells of those rows

    def where(self) -> str:
        cols = ", ".join(self.columns)
        text = self.file
        if self.lines:
            hidden = self.count - len(self.lines)
            more = f" (+{hidden} more)" if hidden > 0 else ""
            label = "line" if len(self.lines) == 1 else "lines"
            text += f", {label} {', '.join(map(str, self.lines))}{more}"
        if cols:
            text += f", column{'s' if len(self.columns) > 1 else ''} {cols}"
        return text


def read_table(
    path: Path, name: str = "", file: str | None = None, *, preamble: int = 0, layout: str = "csv"
) -> tuple[pd.DataFrame | None, list[str], list[Failure]]:
    """Read a CSV as text with its file line numbers as the index.

    Returns ``(frame, header, problems)``: the frame holds every cell as a string (empty cells
    as None) and is None when the file cannot be read at all; ``problems`` are the reasons.

    ``preamble``: lines before the header (a Nomis download has 5: blank, title, copyright,
    date, blank); they are skipped and the header must be on line ``preamble + 1``.
    ``layout="geojson"``: a GeoJSON FeatureCollection read as one row per feature (its
    ``properties``, plus ``geometry_type``), indexed by the line on which the feature starts
    (:func:`geojson_table`).  A suite chooses both in ``meta.nhsbook`` (``preamble``,
    ``layout``).
    """
    path = Path(path)
    file = file or path.as_posix()

    def fail(
        rule: str,
        hint: str,
        lines: Sequence[int] = (),
        values: Sequence[dict] = (),
        count: int | None = None,
        columns: tuple[str, ...] = (),
    ) -> Failure:
        return Failure(
            file=file,
            columns=columns,
            rule=rule,
            lines=list(lines)[:MAX_LINES],
            values=list(values)[:MAX_LINES],
            count=len(lines) if count is None else count,
            hint=hint,
            dataset=name,
            expectation="read",
        )

    if not path.is_file():
        return (
            None,
            [],
            [
                fail(
                    "the file must exist",
                    f"the file {file} was not found: restore it, or check the data "
                    "folder (synthetic files are written by `nhsbook synth`)",
                    count=1,
                )
            ],
        )
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        return (
            None,
            [],
            [
                fail(
                    f"the file must be at most {MAX_FILE_BYTES / 2**20:,.0f} MiB "
                    f"(its size is {size / 2**20:,.1f} MiB)",
                    "check that this is the right export: split it by area or "
                    "year, or raise nhsbook.core.textfile.MAX_FILE_BYTES if it really is",
                    count=1,
                )
            ],
        )
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                raw = fh.read()
        elif path.suffix == ".zip":  # a publisher's zip of one CSV (NHS England GP files)
            raw = _zip_member(path)
        else:
            raw = path.read_bytes()
    except (OSError, EOFError, zipfile.BadZipFile, ValueError) as exc:
        return (
            None,
            [],
            [fail("the file must be readable", f"could not read the file ({exc})", count=1)],
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return (
            None,
            [],
            [
                fail(
                    "the file must be UTF-8 text",
                    "re-save the file as UTF-8 (in Excel: CSV UTF-8)",
                    [line],
                    [{"bytes": raw[exc.start : exc.start + 4].hex(" ")}],
                )
            ],
        )
    if not text.strip():
        return (
            None,
            [],
            [
                fail(
                    "the file must start with a header row naming its columns",
                    "the file is empty: restore it from version control or regenerate it",
                    [1],
                )
            ],
        )
    if layout == "geojson":
        try:
            frame = geojson_table(text)
        except ValueError as exc:
            return (
                None,
                [],
                [
                    fail(
                        "the file must be a GeoJSON FeatureCollection",
                        f"could not read the features ({exc})",
                        count=1,
                    )
                ],
            )
        return frame, list(frame.columns), []

    reader = csv.reader(io.StringIO(text, newline=""))
    for _ in range(preamble):  # a publisher's preamble (e.g. Nomis: title, copyright, date)
        try:
            next(reader)
        except (StopIteration, csv.Error):
            break
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    ragged: list[tuple[int, int]] = []
    problems: list[Failure] = []
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(
                fail(
                    "the file must be valid CSV",
                    f"fix the quoting from this line on ({exc})",
                    [start],
                )
            )
            break
        if not record:
            continue  # blank line
        if header is None:
            header = record
            continue
        if len(record) != len(header):
            ragged.append((start, len(record)))
            record = (record + [""] * len(header))[: len(header)]
        rows.append(record)
        lines.append(start)
    header = header or []
    if ragged:
        problems.append(
            fail(
                f"every row must have {len(header)} fields, like the header",
                "a field probably contains an unquoted comma (quote it) or a field is missing",
                [r[0] for r in ragged],
                [{"fields": str(r[1])} for r in ragged],
                count=len(ragged),
            )
        )
    seen: dict[str, int] = {}
    names = []
    for col in header:
        seen[col] = seen.get(col, 0) + 1
        names.append(col if seen[col] == 1 else f"{col} ({seen[col]})")
    dupes = [c for c, k in seen.items() if k > 1 or not c.strip()]
    if dupes:
        problems.append(
            fail(
                "column names in the header must be unique and not empty",
                "rename or remove the repeated or unnamed columns in the header",
                [1],
                [{"header": ", ".join(header)}],
                columns=tuple(dupes),
            )
        )
    cells = [[v if v != "" else None for v in r] for r in rows]
    frame = pd.DataFrame(
        cells, columns=names, dtype=object, index=pd.Index(lines, name=LINE, dtype="int64")
    )
    return frame, names, problems


def geojson_table(text: str) -> pd.DataFrame:
    """The features of a GeoJSON FeatureCollection as text cells: one row per feature with its
    ``properties`` and ``geometry_type`` (None when the geometry is missing), indexed by the
    file line on which the feature starts (so a failure names the line of the bad feature).

    Raises ValueError when the text is not a FeatureCollection."""
    decoder = json.JSONDecoder()
    start = re.search(r'"features"\s*:\s*\[', text)
    if start is None:
        raise ValueError('no "features" array')
    pos, rows, lines = start.end(), [], []
    line, seen = 1 + text.count("\n", 0, pos), pos
    while True:
        m = re.compile(r"[\s,]*").match(text, pos)
        pos = m.end()
        if pos >= len(text):
            raise ValueError("the features array is not closed")
        if text[pos] == "]":
            break
        line += text.count("\n", seen, pos)
        seen = pos
        feature, pos = decoder.raw_decode(text, pos)
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise ValueError(f"line {line}: expected a Feature object")
        props = feature.get("properties") or {}
        geom = feature.get("geometry") or {}
        rows.append(
            {
                **{str(k): None if v is None else str(v) for k, v in props.items()},
                "geometry_type": geom.get("type") if isinstance(geom, dict) else None,
            }
        )
        lines.append(line)
    frame = pd.DataFrame(rows, dtype=object, index=pd.Index(lines, name=LINE, dtype="int64"))
    return frame.where(frame.notna(), None)


def _zip_member(path: Path) -> bytes:
    """The bytes of the single CSV inside a zip (ValueError when it holds none or several)."""
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        if len(names) != 1:
            raise ValueError(f"{path.name} must hold exactly one CSV file, holds {names}")
        return zf.read(names[0])


_PARSABLE = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
#: English thousands separators: the only commas a number may carry (never a decimal comma).
_THOUSANDS = re.compile(r"-?[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?")


def to_number(column: pd.Series) -> pd.Series:
    """Parse text cells as numbers (surrounding spaces and English thousands commas ignored);
    cells that are not plain decimal numbers (text, "inf", "nan", a decimal comma "70,7", ...)
    become NaN: the suites' format rules report those, so range rules see only real numbers
    (a decimal comma is never reparsed: "70,7" is not 707)."""

    def parse(v: Any) -> float:
        if v is None or (isinstance(v, float) and pd.isna(v)):
            return float("nan")
        text = str(v).strip()
        if "," in text:
            if not _THOUSANDS.fullmatch(text):
                return float("nan")
            text = text.replace(",", "")
        return float(text) if _PARSABLE.fullmatch(text) else float("nan")

    return pd.Series([parse(v) for v in column], index=column.index, dtype="float64")


def unreadable(
    frames: Mapping[str, pd.DataFrame | None], *specs: tuple[str, tuple[str, ...]]
) -> str:
    """Why a reconciliation cannot run ("" when it can): the first of the named frames that
    could not be read or lacks one of the named columns."""
    for name, cols in specs:
        f = frames.get(name)
        if f is None:
            return f"not run: {name} could not be read"
        missing = [c for c in cols if c not in f.columns]
        if missing:
            return f"not run: {name} has no column {', '.join(missing)}"
    return ""
