"""Importer for programme-budgeting spend and SPOT-style outcome CSVs (Commissioning for Value).

Reads real files into the tables :mod:`nhsbook.analysis.spot` works on, and reads the embedded default
(``data/default/spot/``), which is written in the same long layout.  Every error names the
file, the 1-based line (the header is line 1), the column, what was expected and what was found;
a file that cannot be read exactly is refused, never guessed at.

Formats
=======

All files are UTF-8 CSV (a byte-order mark is allowed) with a header row.  Header names are
matched case-insensitively, ignoring spaces, hyphens and underscores, and the aliases listed
under each table are accepted (e.g. ``Area Code`` for ``area_code``).  Numbers may carry
thousands separators (``1,234.5``); empty cells, ``*``, ``Supp.``, ``inf`` or text in a number
column are refused.

Programmes (``programmes.csv``: the programme budgeting categories)
    ``programme_code`` (``1``-``23``, sub-categories such as ``17b``), ``programme_name``,
    ``short_name`` (chart label; defaults to the name), ``parent_code`` (empty for the 23
    categories; the category of a sub-category), ``source``.

Peer group (``peer_group.csv``)
    ``area_code``, ``area_name``, ``peer_group`` (e.g. the ONS cluster "Manufacturing Towns",
    or NHS England's "Similar 10"), optional ``synthetic`` (true/false) and ``source``.

Spend, long layout (``spend.csv``; the default's layout)
    One row per area, year and programme: ``area_code``, ``year`` (financial year, e.g.
    ``2010/11``), ``programme_code``, ``spend_gbp`` (£; alias ``spend``, or ``spend_000`` /
    ``spend_gbp_000s`` in £ thousands), ``weighted_population`` (the weighted population spend
    per head is computed on), optional ``spend_per_head`` (checked against spend ÷ weighted
    population, to within 0.5p plus the rounding of spend), ``synthetic``, ``source``.

Spend, wide layout (the Department of Health programme budgeting spreadsheets)
    One row per area: ``area_code`` (alias ``Area Code``, ``Org Code``, ``PCT Code``,
    ``CCG Code``), ``year`` (or the ``year=`` argument), ``weighted_population`` (alias
    ``Weighted Population``), then one column per programme whose header *starts with its
    code*, optionally after the word "Programme": ``2 Cancers and tumours``,
    ``Programme 02 Cancers & Tumours``, ``17b Renal problems``.  Spend is in £ unless the
    programme headers say ``£000``/``£000s``/``£k`` (or ``thousands=True``), when it is
    multiplied by 1,000.  Columns that do not start with a programme code are ignored unless
    they start with a number that is not a known programme, which is an error.

Outcomes (``outcomes.csv``: SPOT-style outcome values)
    One row per area, indicator and period: ``area_code`` (alias ``Area Code``),
    ``indicator_id`` (alias ``Indicator ID``), ``period`` (alias ``Time period``), ``value``
    (alias ``Value``), optional ``synthetic``, ``source``.  A Fingertips export has these
    columns, so one can be read directly once its indicators are listed in the outcome
    indicators file.

Outcome indicators (``outcome_indicators.csv``)
    ``indicator_id``, ``indicator_name``, ``programme_code``, ``polarity`` (``high_is_good``
    or ``low_is_good``: an outcome must say which way is better), ``unit``, ``period``,
    ``headline`` (true for the one indicator per programme plotted on the quadrant chart),
    optional ``profile_indicator_id`` and ``source``.

Reference: Department of Health, *Programme budgeting* (2003-04 to 2010-11 data; 23
ICD-10-based programmes); YHPHO/PHE, *Spend and Outcome Tool (SPOT)* guidance.
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path
from typing import Iterable

import pandas as pd

#: Columns of each table as :mod:`nhsbook.analysis.spot` uses them (name -> kind).
PROGRAMME_COLUMNS = {
    "programme_code": "str",
    "programme_name": "str",
    "short_name": "str",
    "parent_code": "str",
    "source": "str",
}
PEER_COLUMNS = {
    "area_code": "str",
    "area_name": "str",
    "peer_group": "str",
    "synthetic": "bool",
    "source": "str",
}
SPEND_COLUMNS = {
    "area_code": "str",
    "year": "str",
    "programme_code": "str",
    "spend_gbp": "float",
    "weighted_population": "float",
    "spend_per_head": "float",
    "synthetic": "bool",
    "source": "str",
}
OUTCOME_INDICATOR_COLUMNS = {
    "indicator_id": "str",
    "indicator_name": "str",
    "programme_code": "str",
    "polarity": "str",
    "unit": "str",
    "period": "str",
    "headline": "bool",
    "profile_indicator_id": "str",
    "source": "str",
}
OUTCOME_COLUMNS = {
    "area_code": "str",
    "indicator_id": "str",
    "period": "str",
    "value": "float",
    "synthetic": "bool",
    "source": "str",
}

#: Outcome polarities: an outcome must have a better direction.
OUTCOME_POLARITIES = ("high_is_good", "low_is_good")

_ALIASES = {
    "areacode": "area_code",
    "orgcode": "area_code",
    "pctcode": "area_code",
    "ccgcode": "area_code",
    "organisationcode": "area_code",
    "code": "area_code",
    "areaname": "area_name",
    "orgname": "area_name",
    "name": "area_name",
    "financialyear": "year",
    "year": "year",
    "programmecode": "programme_code",
    "programme": "programme_code",
    "programmename": "programme_name",
    "shortname": "short_name",
    "parentcode": "parent_code",
    "spendgbp": "spend_gbp",
    "spend": "spend_gbp",
    "expenditure": "spend_gbp",
    "spend000": "spend_000",
    "spendgbp000s": "spend_000",
    "spend000s": "spend_000",
    "expenditure000s": "spend_000",
    "weightedpopulation": "weighted_population",
    "weightedpop": "weighted_population",
    "spendperhead": "spend_per_head",
    "indicatorid": "indicator_id",
    "indicatorname": "indicator_name",
    "timeperiod": "period",
    "period": "period",
    "value": "value",
    "peergroup": "peer_group",
    "cluster": "peer_group",
    "comparatorgroup": "peer_group",
    "synthetic": "synthetic",
    "source": "source",
    "polarity": "polarity",
    "unit": "unit",
    "headline": "headline",
    "profileindicatorid": "profile_indicator_id",
}
_TRUE, _FALSE = {"true", "yes", "y", "1"}, {"false", "no", "n", "0", ""}
_NUMBER = re.compile(
    r"-?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?"
    r"|-?\.[0-9]+"
)
_PROGRAMME_HEADER = re.compile(r"^\s*(?:programme\s*)?0*([0-9]{1,2}[a-z]?)\b(.*)$", re.I)
_THOUSANDS = re.compile(r"£\s*(?:000|k\b)", re.I)


class ProgrammeBudgetError(ValueError):
    """A file that cannot be imported: names the file, line, column, expectation and finding."""


def _key(name: str) -> str:
    return re.sub(r"[\s_\-()£/]+", "", name.strip().lower())


def _where(file: str, line: int | None, column: str | None) -> str:
    text = file
    if line is not None:
        text += f", line {line}"
    if column:
        text += f", column {column}"
    return text


def _fail(file: str, line: int | None, column: str | None, message: str) -> ProgrammeBudgetError:
    return ProgrammeBudgetError(f"{_where(file, line, column)}: {message}")


def read_rows(path: Path | str) -> tuple[list[str], list[tuple[int, list[str]]], str]:
    """The header and ``(line, cells)`` rows of a UTF-8 CSV, and the file's display name."""
    path = Path(path)
    file = path.name
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise _fail(str(path), None, None, "file not found") from None
    except UnicodeDecodeError as exc:
        raise _fail(
            file,
            None,
            None,
            f"expected UTF-8 text, found byte "
            f"{exc.object[exc.start]:#04x} at byte {exc.start} (re-save the file as "
            "CSV UTF-8)",
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise _fail(
                file, start, None, f"expected valid CSV, found broken quoting ({exc})"
            ) from None
        if not record or all(not c.strip() for c in record):
            continue
        if header is None:
            header = [c.strip() for c in record]
            continue
        if len(record) != len(header):
            raise _fail(
                file,
                start,
                None,
                f"expected {len(header)} fields like the header, "
                f"found {len(record)} (an unquoted comma?)",
            )
        rows.append((start, [c.strip() for c in record]))
    if header is None:
        raise _fail(file, None, None, "expected a header row, found an empty file")
    return header, rows, file


def _canonical(header: list[str], file: str) -> dict[str, int]:
    """Canonical column name -> position, refusing two columns with the same meaning."""
    out: dict[str, int] = {}
    for i, name in enumerate(header):
        canon = _ALIASES.get(_key(name))
        if canon is None:
            continue
        if canon in out:
            raise _fail(
                file,
                1,
                name,
                f"expected one column meaning {canon}, found {header[out[canon]]!r} and {name!r}",
            )
        out[canon] = i
    return out


def _require(cols: dict[str, int], needed: Iterable[str], header: list[str], file: str) -> None:
    missing = [c for c in needed if c not in cols]
    if missing:
        raise _fail(
            file,
            1,
            ", ".join(missing),
            f"expected the column(s) {', '.join(missing)} in the header, found {', '.join(header)}",
        )


def parse_number(
    text: str, file: str, line: int, column: str, *, minimum: float | None = None
) -> float:
    """A number cell (thousands commas allowed); anything else is an error naming the cell."""
    t = text.strip()
    if not _NUMBER.fullmatch(t):
        found = "an empty cell" if not t else repr(t)
        raise _fail(file, line, column, f"expected a number, found {found}")
    value = float(t.replace(",", ""))
    if not math.isfinite(value):
        raise _fail(file, line, column, f"expected a finite number, found {t!r}")
    if minimum is not None and value < minimum:
        raise _fail(file, line, column, f"expected a number >= {minimum:g}, found {t!r}")
    return value


def _flag(text: str, file: str, line: int, column: str) -> bool:
    t = text.strip().lower()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    raise _fail(file, line, column, f"expected true or false, found {text!r}")


def _text(text: str, file: str, line: int, column: str, required: bool = True) -> str:
    if required and not text.strip():
        raise _fail(file, line, column, "expected a value, found an empty cell")
    return text.strip()


def _frame(rows: list[dict], columns: dict[str, str]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=list(columns))
    for name, kind in columns.items():
        if kind == "str":
            out[name] = out[name].fillna("").astype(str)
        elif kind == "float":
            out[name] = pd.to_numeric(out[name]).astype("float64")
        elif kind == "bool":
            out[name] = out[name].fillna(False).astype(bool)
    return out


def _unique(frame: pd.DataFrame, key: list[str], lines: list[int], file: str) -> None:
    dup = frame.duplicated(key, keep="first").to_numpy()
    if dup.any():
        i = int(dup.argmax())
        first = int(frame.duplicated(key, keep=False).to_numpy().argmax())
        vals = ", ".join(f"{k} {frame.iloc[i][k]}" for k in key)
        raise _fail(
            file,
            lines[i],
            ", ".join(key),
            f"expected one row per {', '.join(key)}, "
            f"found {vals} again (first on line {lines[first]})",
        )


# --- readers ---------------------------------------------------------------------------------


def read_programmes(path: Path | str) -> pd.DataFrame:
    """The programme budgeting categories (:data:`PROGRAMME_COLUMNS`)."""
    header, rows, file = read_rows(path)
    cols = _canonical(header, file)
    _require(cols, ("programme_code", "programme_name"), header, file)
    out, lines = [], []
    for line, cells in rows:
        get = lambda c: cells[cols[c]] if c in cols else ""  # noqa: E731
        code = _text(get("programme_code"), file, line, "programme_code")
        if not re.fullmatch(r"[0-9]{1,2}[a-z]?", code):
            raise _fail(
                file,
                line,
                "programme_code",
                f"expected a programme code such as 2 or 17b, found {code!r}",
            )
        name = _text(get("programme_name"), file, line, "programme_name")
        out.append(
            {
                "programme_code": code,
                "programme_name": name,
                "short_name": get("short_name") or name,
                "parent_code": get("parent_code"),
                "source": get("source"),
            }
        )
        lines.append(line)
    frame = _frame(out, PROGRAMME_COLUMNS)
    _unique(frame, ["programme_code"], lines, file)
    known = set(frame["programme_code"])
    for line, parent in zip(lines, frame["parent_code"]):
        if parent and parent not in known:
            raise _fail(
                file,
                line,
                "parent_code",
                f"expected a programme code listed in the file, found {parent!r}",
            )
    return frame


def read_peer_group(path: Path | str) -> pd.DataFrame:
    """Areas and the peer group each belongs to (:data:`PEER_COLUMNS`)."""
    header, rows, file = read_rows(path)
    cols = _canonical(header, file)
    _require(cols, ("area_code", "peer_group"), header, file)
    out, lines = [], []
    for line, cells in rows:
        get = lambda c: cells[cols[c]] if c in cols else ""  # noqa: E731
        out.append(
            {
                "area_code": _text(get("area_code"), file, line, "area_code"),
                "area_name": get("area_name") or get("area_code"),
                "peer_group": _text(get("peer_group"), file, line, "peer_group"),
                "synthetic": _flag(get("synthetic"), file, line, "synthetic"),
                "source": get("source"),
            }
        )
        lines.append(line)
    frame = _frame(out, PEER_COLUMNS)
    _unique(frame, ["area_code"], lines, file)
    return frame


def _programme_columns(
    header: list[str], known: set[str], file: str
) -> list[tuple[int, str, bool]]:
    """Wide layout: (position, programme code, in £ thousands) of each programme column."""
    found = []
    for i, name in enumerate(header):
        m = _PROGRAMME_HEADER.match(name)
        if not m:
            continue
        code = m.group(1).lower()
        if code not in known:
            raise _fail(
                file, 1, name, f"expected a programme code from the programme list, found {code!r}"
            )
        found.append((i, code, bool(_THOUSANDS.search(name))))
    return found


def read_spend(
    path: Path | str,
    programmes: pd.DataFrame,
    *,
    year: str | None = None,
    thousands: bool | None = None,
    synthetic: bool = False,
) -> pd.DataFrame:
    """Programme-budgeting spend in the long or the wide layout (see the module docstring),
    as :data:`SPEND_COLUMNS` with ``spend_per_head = spend_gbp / weighted_population``.

    ``programmes`` is :func:`read_programmes` output (codes are checked against it);
    ``year`` fills or overrides a missing year column; ``thousands`` forces spend in £000s
    (default: from the column name or header); ``synthetic`` labels rows without a
    ``synthetic`` column.
    """
    header, rows, file = read_rows(path)
    cols = _canonical(header, file)
    known = set(programmes["programme_code"])
    long = "programme_code" in cols
    _require(cols, ("area_code", "weighted_population") + (() if year else ("year",)), header, file)
    out, lines = [], []
    if long:
        if "spend_gbp" not in cols and "spend_000" not in cols:
            raise _fail(
                file,
                1,
                "spend_gbp",
                "expected a spend column (spend_gbp in £, or "
                f"spend_000 in £ thousands), found {', '.join(header)}",
            )
        col = "spend_gbp" if "spend_gbp" in cols else "spend_000"
        scale = 1000.0 if (col == "spend_000" or thousands) else 1.0
        for line, cells in rows:
            get = lambda c: cells[cols[c]] if c in cols else ""  # noqa: E731
            code = _text(get("programme_code"), file, line, "programme_code").lower()
            code = code.lstrip("0") or code
            if code not in known:
                raise _fail(
                    file,
                    line,
                    "programme_code",
                    f"expected a code from the programme list, found {get('programme_code')!r}",
                )
            row = _spend_row(get, file, line, code, year, synthetic, cols)
            row["spend_gbp"] = (
                parse_number(get(col), file, line, header[cols[col]], minimum=0) * scale
            )
            if "spend_per_head" in cols:
                row["spend_per_head"] = parse_number(
                    get("spend_per_head"), file, line, "spend_per_head", minimum=0
                )
            out.append(row)
            lines.append(line)
    else:
        progs = _programme_columns(header, known, file)
        if not progs:
            raise _fail(
                file,
                1,
                None,
                "expected a programme_code column (long layout) or "
                "programme columns named by their code, e.g. '2 Cancers and tumours' "
                f"(wide layout), found {', '.join(header)}",
            )
        for line, cells in rows:
            get = lambda c: cells[cols[c]] if c in cols else ""  # noqa: E731
            for i, code, in_thousands in progs:
                row = _spend_row(get, file, line, code, year, synthetic, cols)
                scale = 1000.0 if (in_thousands if thousands is None else thousands) else 1.0
                row["spend_gbp"] = parse_number(cells[i], file, line, header[i], minimum=0) * scale
                out.append(row)
                lines.append(line)
    frame = _frame(out, SPEND_COLUMNS)
    _unique(frame, ["area_code", "year", "programme_code"], lines, file)
    computed = frame["spend_gbp"] / frame["weighted_population"]
    if "spend_per_head" in cols and long:
        # spend rounded to £1,000 moves spend per head by up to 500 / population
        tol = 0.005 + 500.0 / frame["weighted_population"] + 1e-9
        bad = (frame["spend_per_head"] - computed).abs() > tol
        if bad.any():
            i = int(bad.to_numpy().argmax())
            raise _fail(
                file,
                lines[i],
                "spend_per_head",
                f"expected spend_gbp / "
                f"weighted_population = {computed.iloc[i]:,.2f}, found "
                f"{frame['spend_per_head'].iloc[i]:,.2f}",
            )
    frame["spend_per_head"] = computed
    return frame


def _spend_row(
    get, file: str, line: int, code: str, year: str | None, synthetic: bool, cols: dict[str, int]
) -> dict:
    pop = parse_number(get("weighted_population"), file, line, "weighted_population")
    if pop <= 0:
        raise _fail(
            file,
            line,
            "weighted_population",
            f"expected a population above 0, found {get('weighted_population')!r}",
        )
    return {
        "area_code": _text(get("area_code"), file, line, "area_code"),
        "year": year or _text(get("year"), file, line, "year"),
        "programme_code": code,
        "weighted_population": pop,
        "synthetic": _flag(get("synthetic"), file, line, "synthetic")
        if "synthetic" in cols
        else synthetic,
        "source": get("source"),
    }


def read_outcome_indicators(path: Path | str, programmes: pd.DataFrame) -> pd.DataFrame:
    """Outcome indicators mapped to programmes, with polarity (:data:`OUTCOME_INDICATOR_COLUMNS`);
    at most one headline indicator per programme."""
    header, rows, file = read_rows(path)
    cols = _canonical(header, file)
    _require(cols, ("indicator_id", "indicator_name", "programme_code", "polarity"), header, file)
    known = set(programmes["programme_code"])
    out, lines = [], []
    for line, cells in rows:
        get = lambda c: cells[cols[c]] if c in cols else ""  # noqa: E731
        code = _text(get("programme_code"), file, line, "programme_code")
        if code not in known:
            raise _fail(
                file,
                line,
                "programme_code",
                f"expected a code from the programme list, found {code!r}",
            )
        pol = _text(get("polarity"), file, line, "polarity")
        if pol not in OUTCOME_POLARITIES:
            raise _fail(
                file,
                line,
                "polarity",
                f"expected one of "
                f"{', '.join(OUTCOME_POLARITIES)} (an outcome must have a better "
                f"direction), found {pol!r}",
            )
        out.append(
            {
                "indicator_id": _text(get("indicator_id"), file, line, "indicator_id"),
                "indicator_name": _text(get("indicator_name"), file, line, "indicator_name"),
                "programme_code": code,
                "polarity": pol,
                "unit": get("unit"),
                "period": get("period"),
                "headline": _flag(get("headline"), file, line, "headline"),
                "profile_indicator_id": get("profile_indicator_id"),
                "source": get("source"),
            }
        )
        lines.append(line)
    frame = _frame(out, OUTCOME_INDICATOR_COLUMNS)
    _unique(frame, ["indicator_id"], lines, file)
    heads = frame[frame["headline"]]
    dup = heads.duplicated("programme_code").to_numpy()
    if dup.any():
        i = heads.index[dup.argmax()]
        raise _fail(
            file,
            lines[i],
            "headline",
            f"expected at most one headline indicator per "
            f"programme, found a second for programme {frame.at[i, 'programme_code']}",
        )
    return frame


def read_outcomes(
    path: Path | str, indicators: pd.DataFrame | None = None, *, synthetic: bool = False
) -> pd.DataFrame:
    """SPOT-style outcome values (:data:`OUTCOME_COLUMNS`); with ``indicators``
    (:func:`read_outcome_indicators` output) unknown indicator ids are refused."""
    header, rows, file = read_rows(path)
    cols = _canonical(header, file)
    _require(cols, ("area_code", "indicator_id", "period", "value"), header, file)
    known = None if indicators is None else set(indicators["indicator_id"])
    out, lines = [], []
    for line, cells in rows:
        get = lambda c: cells[cols[c]] if c in cols else ""  # noqa: E731
        ind = _text(get("indicator_id"), file, line, "indicator_id")
        if known is not None and ind not in known:
            raise _fail(
                file,
                line,
                "indicator_id",
                f"expected an indicator listed in the outcome indicators, found {ind!r}",
            )
        out.append(
            {
                "area_code": _text(get("area_code"), file, line, "area_code"),
                "indicator_id": ind,
                "period": _text(get("period"), file, line, "period"),
                "value": parse_number(get("value"), file, line, header[cols["value"]]),
                "synthetic": _flag(get("synthetic"), file, line, "synthetic")
                if "synthetic" in cols
                else synthetic,
                "source": get("source"),
            }
        )
        lines.append(line)
    frame = _frame(out, OUTCOME_COLUMNS)
    _unique(frame, ["area_code", "indicator_id", "period"], lines, file)
    return frame
