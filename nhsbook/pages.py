"""What a notebook page calls: the precomputed tables for one area, and their rendering.

Notebooks hold parameters, calls into this module and narrative; everything they show comes
from the tables :mod:`nhsbook.build` computed once for all areas (``build/<book>/*.parquet``).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd

from . import indicators
from .config import BookConfig, load_book
from .store import load_computed

#: Fill colours for significance, as the national spine charts use them (conventions.md).
SIGNIFICANCE_COLOURS: dict[str, str] = {
    "Better": "#92D050", "Similar": "#FFC000", "Worse": "#C00000", "Not compared": "#C9C9C9",
    "Higher": "#BED2FF", "Lower": "#5555E6", "Best": "#00B092", "Worst": "#821733",
}
#: Text colour that stays readable on each fill.
_TEXT_ON = {"Worse": "#FFFFFF", "Lower": "#FFFFFF", "Worst": "#FFFFFF", "Best": "#FFFFFF"}


@dataclass
class AreaPage:
    """One area's slice of a book's computed tables."""

    book: BookConfig
    area: pd.Series
    values: pd.DataFrame
    metadata: pd.DataFrame
    areas: pd.DataFrame

    @classmethod
    def load(cls, area_code: str, book: str = "default") -> "AreaPage":
        cfg = load_book(book)
        computed = load_computed(cfg)
        areas = computed["areas"]
        hit = areas[areas["area_code"] == area_code]
        if hit.empty:
            raise KeyError(f"area {area_code!r} is not in book {cfg.name!r}; areas with pages: "
                           f"{sorted(areas.loc[areas['area_type'].isin(cfg.page_area_types), 'area_code'])}")
        return cls(cfg, hit.iloc[0], computed["values"], computed["metadata"], areas)

    @property
    def name(self) -> str:
        return str(self.area["area_name"])

    @property
    def comparator_name(self) -> str:
        code = self.area["comparator_code"]
        hit = self.areas.loc[self.areas["area_code"] == code, "area_name"]
        return str(hit.iloc[0]) if not hit.empty else "no comparator"

    def profile(self, profile: str) -> pd.DataFrame:
        """The area's adult or child profile rows (suppressed for publication)."""
        return indicators.profile_table(self.values, self.metadata, self.area["area_code"],
                                        profile)

    def header_markdown(self) -> str:
        """The page's opening: area, comparator, periods, sources and the synthetic notice."""
        lines = [
            f"**Area:** {esc(self.name)} (`{esc(self.area['area_code'])}`, "
            f"{esc(self.area['area_type'])}).  "
            f"**Compared with:** {esc(self.comparator_name)}.",
            "",
        ]
        if self.book.synthetic:
            note = " ".join(self.book.synthetic_note.split())
            lines += [f"> **Synthetic data.** {note}", ""]
        periods = ", ".join(sorted(self.metadata["period"].unique()))
        lines += [f"**Period:** {esc(periods)}. **Sources:** see each indicator's source in "
                  "the downloadable table and the Data sources chapter."]
        return "\n".join(lines)

    def csv_href(self) -> str:
        """Site-relative link from this area's page to its profile CSV."""
        return f"../../data/{self.area['area_code']}/profile.csv"


#: Column names that hold counts of people or events: published CSVs must not show 1 to 4.
COUNT_COLUMNS = ("count", "number", "numerator", "observed", "events", "deaths", "patients")


def disclosive_cells(table: pd.DataFrame) -> list[tuple[int, str, object]]:
    """Cells of count columns (by name, see :data:`COUNT_COLUMNS`) holding 1 to 4."""
    hits = []
    for col in table.columns:
        if not any(word in str(col).lower() for word in COUNT_COLUMNS):
            continue
        nums = pd.to_numeric(table[col], errors="coerce")
        for row in table.index[(nums >= 1) & (nums < 5)]:
            hits.append((row, str(col), table.at[row, col]))
    return hits


def publish_csv(table: pd.DataFrame, area_code: str, name: str, book: str = "default",
                label: str | None = None) -> "IPython.display.HTML":
    """Write ``table`` as ``data/<area_code>/<name>.csv`` of the site and return the link to
    show on the page (pages live at ``areas/<code>/<notebook>``, so the link is relative).

    Disclosure control: raises ``ValueError`` naming the cells if a count column holds a
    value from 1 to 4 (suppress with :func:`nhsbook.indicators.display_table` or
    :func:`nhsbook.stats.suppress` first).
    """
    from IPython.display import HTML

    hits = disclosive_cells(table)
    if hits:
        shown = "; ".join(f"row {r}, column {c!r} = {v!r}" for r, c, v in hits[:5])
        raise ValueError(f"{name}.csv for {area_code}: counts from 1 to 4 must be suppressed "
                         f"before publishing ({len(hits)} cells: {shown})")
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"CSV name {name!r}: use letters, digits, - and _ only")
    cfg = load_book(book)
    folder = cfg.book_dir / "_extra" / "data" / area_code
    folder.mkdir(parents=True, exist_ok=True)
    table.to_csv(folder / f"{name}.csv", index=False)
    text = esc(label or f"Download {name.replace('_', ' ')} as CSV")
    return HTML(f'<p class="nhsbook-download"><a href="../../data/{esc(area_code)}/'
                f'{name}.csv" download>{text}</a></p>')


_MARKDOWN_SPECIALS = str.maketrans({c: "\\" + c for c in "*_`[]#|\\"})


def esc(text: object) -> str:
    """Escape text for Markdown and HTML so that names can never inject markup."""
    return html.escape(str(text).translate(_MARKDOWN_SPECIALS), quote=True)


def style_profile(rows: pd.DataFrame) -> "pd.io.formats.style.Styler":
    """An HTML table of a profile with significance colours and suppressed cells as Supp."""
    # the value notes are long: they stay in the CSV download, not in the on-page table
    table = indicators.display_table(rows).drop(columns=["Value note"])
    numeric = ["Value", "Lower 95% CI", "Upper 95% CI", "Comparator", "Worst practice",
               "25th percentile", "75th percentile", "Best practice"]

    def formatter(digits: int):
        def fmt(v: object) -> str:
            if isinstance(v, str):
                return v
            if v is None or pd.isna(v):
                return ""
            return f"{float(v):,.{digits}f}"
        return fmt

    def colour(v: object) -> str:
        fill = SIGNIFICANCE_COLOURS.get(str(v))
        if not fill:
            return ""
        return f"background-color: {fill}; color: {_TEXT_ON.get(str(v), '#000000')}"

    styler = table.style.hide(axis="index")
    styler = styler.format(formatter(1), subset=numeric).format(formatter(0), subset=["Count"])
    styler = styler.format(escape="html", subset=["Domain", "Indicator", "Unit", "Period"])
    styler = styler.map(colour, subset=["Significance"])
    styler = styler.set_table_attributes('class="nhsbook-profile"')
    return styler
