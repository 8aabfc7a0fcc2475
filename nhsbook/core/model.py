"""The nhsbook data model: the tables every layer reads and writes.

Four tables carry everything a profile needs (documented in the book's Methods chapter):

* **indicator values** (:data:`VALUE_COLUMNS`): one row per indicator x area x period x sex x age
  (x category for inequality breakdowns), with value, 95% and 99.8% limits, count, denominator
  and value note.  Field names follow the Fingertips export, in snake case.
* **indicator metadata** (:data:`METADATA_COLUMNS`): id, name, domain, profile, unit and
  multiplier, polarity, method, period, source.
* **areas** (:data:`AREA_COLUMNS`): code, name, type, parent and comparator, so that the
  hierarchy England -> cluster/region -> CCG -> locality -> practice (and LSOA -> locality) is one
  table.
* **population** (:data:`POPULATION_COLUMNS`): by area, sex, 5-year age band and year, with
  estimates and projections told apart by ``kind``.

Age-specific counts for methods that need them (directly standardised rates) live in a fifth,
long table (:data:`AGE_COUNT_COLUMNS`).  This module holds names and types only: no I/O and no
statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

# --- vocabularies -------------------------------------------------------------------------

#: Area types from the top of the hierarchy down.
AREA_TYPES: tuple[str, ...] = (
    "england",
    "cluster",
    "region",
    "county",
    "utla",
    "stp",
    "ccg",
    "locality",
    "pcn",
    "practice",
    "district",
    "ward",
    "msoa",
    "lsoa",
)

#: Polarity as the national profiles use it.
POLARITIES: tuple[str, ...] = ("high_is_good", "low_is_good", "no_judgement")

#: How an indicator's value is calculated (the name of the nhsbook.stats method used).
METHODS: tuple[str, ...] = (
    "proportion",  # Wilson score interval
    "crude_rate",  # Byar's / exact Poisson
    "dsr",  # directly standardised rate, Dobson limits
    "isr",  # indirectly standardised rate
    "life_expectancy",  # Chiang II abridged life table
    "mean",  # Student's t
    "score",  # population-weighted mean of a published score (e.g. IMD), no limits
    "ratio",  # ratio of two counts x multiplier (e.g. excess winter deaths index)
)

#: Methods whose value follows from a count and a denominator that can be summed up the
#: hierarchy.
COUNT_METHODS: frozenset[str] = frozenset({"proportion", "crude_rate", "dsr", "isr", "ratio"})

#: Methods for which the count can never exceed the denominator.
BOUNDED_METHODS: frozenset[str] = frozenset({"proportion"})

PROFILES: tuple[str, ...] = ("adult", "child")
SEXES: tuple[str, ...] = ("Persons", "Male", "Female")

#: The 19 five-year bands of the 2013 European Standard Population, used everywhere for
#: population and age-specific counts.
AGE_BANDS: tuple[str, ...] = (
    "0-4",
    "5-9",
    "10-14",
    "15-19",
    "20-24",
    "25-29",
    "30-34",
    "35-39",
    "40-44",
    "45-49",
    "50-54",
    "55-59",
    "60-64",
    "65-69",
    "70-74",
    "75-79",
    "80-84",
    "85-89",
    "90+",
)

# --- table columns --------------------------------------------------------------------------

VALUE_COLUMNS: dict[str, str] = {
    "indicator_id": "str",
    "area_code": "str",
    "area_type": "str",
    "period": "str",
    "sex": "str",
    "age": "str",
    "category_type": "str",
    "category": "str",
    "value": "float",
    "lower_95": "float",
    "upper_95": "float",
    "lower_998": "float",
    "upper_998": "float",
    "count": "float",
    "denominator": "float",
    "value_note": "str",
}
VALUE_KEY: tuple[str, ...] = (
    "indicator_id",
    "area_code",
    "period",
    "sex",
    "age",
    "category_type",
    "category",
)

METADATA_COLUMNS: dict[str, str] = {
    "indicator_id": "str",
    "name": "str",
    "domain": "str",
    "profile": "str",
    "unit": "str",
    "multiplier": "float",
    "polarity": "str",
    "method": "str",
    "period": "str",
    "sex": "str",
    "age": "str",
    "source": "str",
}

AREA_COLUMNS: dict[str, str] = {
    "area_code": "str",
    "area_name": "str",
    "area_type": "str",
    "parent_code": "str",
    "comparator_code": "str",
}

POPULATION_COLUMNS: dict[str, str] = {
    "area_code": "str",
    "year": "int",
    "sex": "str",
    "age_band": "str",
    "population": "float",
    "kind": "str",
}

AGE_COUNT_COLUMNS: dict[str, str] = {
    "indicator_id": "str",
    "area_code": "str",
    "period": "str",
    "age_band": "str",
    "count": "float",
    "denominator": "float",
}

#: Significance labels, as Fingertips words them.
SIGNIFICANCE_LABELS: tuple[str, ...] = (
    "Better",
    "Similar",
    "Worse",
    "Higher",
    "Lower",
    "Best",
    "Worst",
    "Not compared",
)

#: Marker shown in place of suppressed figures (counts 1-4 and everything derived from them).
SUPPRESSED = "Supp."
#: Area types that practices are rolled up into, from the bottom up.
ROLL_UP_TYPES: tuple[str, ...] = ("locality", "pcn", "ccg")


def empty_frame(columns: dict[str, str]) -> pd.DataFrame:
    """An empty DataFrame with the model's columns and dtypes."""
    return coerce(pd.DataFrame({c: [] for c in columns}), columns)


def coerce(df: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Return ``df`` restricted to ``columns`` in order, with the model's dtypes.

    Missing optional text columns are filled with "" and missing numeric columns with NaN.
    Text columns become pandas' string dtype; numbers float64 (counts too, so missing is NaN).
    """
    out = pd.DataFrame(index=df.index)
    for name, kind in columns.items():
        if name in df.columns:
            col = df[name]
        elif kind == "str":
            col = pd.Series("", index=df.index)
        else:
            col = pd.Series(float("nan"), index=df.index)
        if kind == "str":
            out[name] = col.astype("string").fillna("").astype(str)
        elif kind == "int":
            out[name] = pd.to_numeric(col).astype("int64")
        else:
            out[name] = pd.to_numeric(col).astype("float64")
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class Tables:
    """The model's tables for one book, as loaded from its data sources."""

    metadata: pd.DataFrame
    areas: pd.DataFrame
    values: pd.DataFrame
    age_counts: pd.DataFrame
    population: pd.DataFrame
    published: pd.DataFrame


def ancestor_of_type(areas: pd.DataFrame, area_type: str) -> pd.Series:
    """For each area, the code of its nearest ancestor (or itself) of ``area_type`` ("" if none)."""
    parent = dict(zip(areas["area_code"], areas["parent_code"]))
    types = dict(zip(areas["area_code"], areas["area_type"]))
    result = []
    for code in areas["area_code"]:
        seen: set[str] = set()
        c = code
        while c and c not in seen and types.get(c) != area_type:
            seen.add(c)
            c = parent.get(c, "")
        result.append(c if types.get(c) == area_type else "")
    return pd.Series(result, index=areas.index, dtype=str)


# --- column roles of published tables -------------------------------------------------------

#: The role of every column a published table (CSV download, HTML table, chart data) can
#: carry, with every header under which the book publishes it: the model's field name, the
#: readable headers of the profile tables and downloads (``indicators.PROFILE_COLUMNS``,
#: ``pages.AreaPage.second_comparison``), the Fingertips export headers, and the short field
#: names charts embed to save bytes (``variation.FUNNEL_FIELDS``: ``i``, ``a``, ``c``, ``d``,
#: ``v``, ``l95`` …; ``usermeta.csv_columns`` renames them back to the field names in the
#: chart's CSV).  Headers match whole (case and spacing ignored, see :func:`column_role`),
#: never as substrings: "Registered population" or "Practices" are not counts of events.
#:
#: Roles: ``count`` (a count of people or events: 1 to 4 must never be published or be
#: derivable), ``denominator`` (population or expected count), ``value`` and its limits at
#: 95% and 99.8%, ``indicator_id`` / ``indicator`` (id or name), ``area_code`` /
#: ``area_name``, ``period``, ``quintile`` (a deprivation-quintile group) and ``note`` (the
#: value note that says why a figure is missing).
COLUMN_ROLES: dict[str, tuple[str, ...]] = {
    "count": (
        "count",
        "Count",
        "c",
        "count_text",
        "observed",
        "Observed",
        "numerator",
        "Numerator",
        "Number",
        "events",
        "Events",
        "deaths",
        "Deaths",
    ),
    "denominator": ("denominator", "Denominator", "d", "expected", "Expected"),
    "value": ("value", "Value", "v", "value_text"),
    "lower_95": ("lower_95", "Lower 95% CI", "Lower CI 95.0 limit", "l95"),
    "upper_95": ("upper_95", "Upper 95% CI", "Upper CI 95.0 limit", "u95"),
    "lower_998": ("lower_998", "Lower 99.8% CI", "Lower CI 99.8 limit", "l998"),
    "upper_998": ("upper_998", "Upper 99.8% CI", "Upper CI 99.8 limit", "u998"),
    "indicator_id": ("indicator_id", "Indicator ID", "i"),
    "indicator": (
        "indicator",
        "Indicator",
        "Indicator Name",
        # the SPOT table names each programme's outcome measure
        "Outcome indicator",
    ),
    "area_code": ("area_code", "Area code", "Area Code", "a", "practice_code", "Practice code"),
    "area_name": (
        "area_name",
        "Area name",
        "Area Name",
        "Area",
        "Practice",
        # the overview rug names each area column of a row in ``column``
        "column",
    ),
    "period": ("period", "Period", "Time period"),
    "quintile": ("quintile", "Quintile"),
    "note": ("value_note", "Value note", "Note"),
}

#: Roles that hold counts (what disclosure control protects).
COUNT_ROLES: frozenset[str] = frozenset({"count"})

_ROLE_OF = {
    " ".join(alias.casefold().split()): role
    for role, aliases in COLUMN_ROLES.items()
    for alias in aliases
}


def column_role(header: object) -> str | None:
    """The role (a key of :data:`COLUMN_ROLES`) of a published column header, or None.

    The header matches an alias whole, ignoring case and runs of spaces; a header with a
    parenthesised suffix (``"Count (2011/12)"``, ``"denominator (expected)"``) has the role
    of the part before it.
    """
    text = " ".join(str(header).casefold().split())
    if text in _ROLE_OF:
        return _ROLE_OF[text]
    base = text.split(" (", 1)[0].strip()
    return _ROLE_OF.get(base) if base != text else None


def count_columns(columns) -> list:
    """The columns (of an iterable of headers) whose role is a count."""
    return [c for c in columns if column_role(c) in COUNT_ROLES]


def disclosive_cells(table: pd.DataFrame, below: int = 5) -> list[tuple[int, str, object]]:
    """Cells of count columns (by their role in the data model,
    :func:`nhsbook.core.model.count_columns`) holding 1 to ``below - 1`` (1 to 4; 1 to 7 under
    the ``nhs_digital`` rule set)."""
    hits = []
    for col in count_columns(table.columns):
        nums = pd.to_numeric(table[col], errors="coerce")
        for row in table.index[(nums >= 1) & (nums < below)]:
            hits.append((row, str(col), table.at[row, col]))
    return hits
