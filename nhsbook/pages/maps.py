"""What the map pages call: one area's deprivation maps and tables, ready to display.

Two facades, in the style of :class:`nhsbook.pages.area.AreaPage` (issue 21, thin notebooks):

* :class:`MapPage` (``notebooks/maps.ipynb``): a CCG, a locality or any English local authority
  district on 2011 LSOAs (:func:`nhsbook.pipeline.geo.resolve`): IMD 2019 deciles by LSOA, age structure,
  the population-weighted deprivation of the areas within, the profile indicators by practice
  and the wider area;
* :class:`Deprivation2025Page` (``notebooks/deprivation_2025.ipynb``): a sub-ICB location or
  ICB of a current-data book on 2021 LSOAs (:mod:`nhsbook.pipeline.lsoa21`): IMD 2025 by LSOA, by
  district and the practices' scores.

Each loads what its page needs once; each section method returns the section's outputs in the
order the page shows them (``display(*page.section())``), an empty list when the section has
nothing to show.  The analysis itself stays in :mod:`nhsbook.pipeline.geo`, :mod:`nhsbook.analysis.deprivation`
and :mod:`nhsbook.pipeline.lsoa21`.
"""

from __future__ import annotations

import pandas as pd
from IPython.display import Markdown

from nhsbook.analysis import deprivation
from nhsbook.charts import SharedShapes, choropleth, map_grid
from nhsbook.charts.maps import national_map
from nhsbook.config.book import load_book
from nhsbook.pages.area import (
    AreaPage,
    esc,
    install_page_hooks,
    key_messages_box,
    publish_csv,
    report_link,
)
from nhsbook.pages.tables import table
from nhsbook.pipeline import geo, lsoa21, national
from nhsbook.pipeline.geo import wrap_title
from nhsbook.pipeline.store import load_computed

__all__ = ["MapPage", "Deprivation2025Page"]


class MapPage:
    """The maps page of one area of a book, or of any English local authority district.

    Built from ``(area_code, book)``: the area resolved to its LSOAs and sub-areas
    (:func:`nhsbook.pipeline.geo.resolve`) and its LSOAs by national IMD 2019 decile
    (:func:`nhsbook.pipeline.geo.lsoa_map_table`: the key messages and the first map read them).
    The other tables are computed on first use and kept."""

    #: The LSOA decile profile's columns as the page heads them.
    DECILE_COLUMNS = {
        "imd2019_decile": "IMD 2019 national decile",
        "lsoas": "LSOAs",
        "population": "Population (mid-2015)",
        "pct_population": "% of population",
    }
    #: The columns of a table of the areas within, as the page heads them (those present).
    PART_COLUMNS = {
        "area_name": "Area",
        "area_code": "Code",
        "n_lsoas": "LSOAs",
        "population": "Population (mid-2015)",
        "imd2015_score": "IMD 2015 score (pop.-weighted)",
        "imd2010_score": "IMD 2010 score (pop.-weighted)",
        "pct_most_deprived_20": "% in England's most deprived 20%",
        "lsoas_in_decile_1": "LSOAs in most deprived 10%",
        "rank": "Rank",
    }
    #: Columns of those tables shown as whole numbers.
    PART_WHOLE = ("LSOAs", "Population (mid-2015)", "LSOAs in most deprived 10%", "Rank")
    PART_TOOLTIP = [
        ("area_name", "Area", ""),
        ("area_code", "Code", ""),
        ("imd2015_score", "IMD 2015 score (pop.-weighted)", ".1f"),
        ("pct_most_deprived_20", "% in most deprived 20% (IMD 2019)", ".1f"),
        ("rank", "Rank (1 = most deprived)", ""),
    ]

    def __init__(self, area_code: str, book: str = "default"):
        install_page_hooks()
        self.area_code = area_code
        self.book = book
        #: The area (:class:`nhsbook.pipeline.geo.MapArea`).
        self.area = geo.resolve(area_code, book)
        #: The area's LSOAs by national IMD 2019 decile and their map classes.
        self.lsoa_table, self.lsoa_classes = geo.lsoa_map_table(self.area)
        self._age: tuple | None = None
        self._parts: dict[str, tuple[pd.DataFrame, deprivation.MapClasses]] = {}

    @classmethod
    def load(cls, area_code: str, book: str = "default") -> "MapPage":
        """The maps page of ``area_code`` in ``book``."""
        return cls(area_code, book)

    @property
    def name(self) -> str:
        """The area's name."""
        return self.area.name

    # ----------------------------------------------------------------------------- opening

    def header(self) -> Markdown:
        """The page's opening: area, what it is made of, sources, the synthetic notice
        (:func:`nhsbook.pipeline.geo.header_markdown`)."""
        return Markdown(geo.header_markdown(self.area))

    def key_messages_box(self):
        """The "Key messages" box (:func:`nhsbook.pages.area.key_messages_box`), given the page's
        LSOA table and the area's name."""
        return key_messages_box(
            self.area_code, "maps", self.book, lsoa_table=self.lsoa_table, area_name=self.area.name
        )

    def report_link(self) -> Markdown:
        """The line linking to the area's PDF board report (empty when it has none)."""
        return Markdown(report_link(self.book, self.area_code))

    # ----------------------------------------------------------------------------- sections

    def decile_profile(self) -> pd.DataFrame:
        """The area's LSOAs and people in each national IMD 2019 decile
        (:func:`nhsbook.analysis.deprivation.decile_profile`), headed as the page shows them."""
        return deprivation.decile_profile(self.lsoa_table).rename(columns=self.DECILE_COLUMNS)

    def lsoa_deprivation(self) -> list:
        """ "Deprivation by LSOA": the map of national deciles (where the LSOA boundaries
        exist; a sentence otherwise), the decile profile and its CSV download."""
        area = self.area
        out: list = []
        inner = next(iter(area.parts), None)
        if area.has_lsoa_boundaries:
            outline = area.part_shapes(inner) if inner else None
            out.append(
                choropleth(
                    self.lsoa_table,
                    area.lsoa_shapes(),
                    classes=self.lsoa_classes,
                    outline=outline,
                    title=f"IMD 2019 national decile by LSOA: {area.name}",
                    legend_title="IMD 2019 national decile",
                    tooltip=[
                        ("area_name", "LSOA", ""),
                        ("area_code", "Code", ""),
                        ("imd2019_decile", "National decile", ""),
                        ("imd2019_rank", "National rank (1 = most deprived)", ","),
                        ("imd2015_score", "IMD 2015 score", ".1f"),
                    ],
                )
            )
        else:
            out.append(
                Markdown(
                    f"LSOA boundaries for {esc(area.name)} are not in the data: the registry's LSOA "
                    "boundary files cover Derbyshire, Dacorum and King's Lynn and West Norfolk only. "
                    "Its LSOAs by national decile:"
                )
            )
        out.append(
            table(
                self.decile_profile(),
                look="plain",
                thousands=False,
                formats={"% of population": 1, "Population (mid-2015)": "count", "LSOAs": "count"},
            )
        )
        download = self.lsoa_table[
            [
                "area_code",
                "area_name",
                "imd2019_rank",
                "imd2019_decile",
                "imd2015_score",
                "population",
            ]
        ]
        out.append(
            publish_csv(
                download.rename(columns={"area_code": "lsoa11_code", "area_name": "lsoa11_name"}),
                self.area_code,
                "deprivation_lsoa",
                self.book,
                label="Download the LSOA deprivation table as CSV",
            )
        )
        return out

    def age_table(self) -> tuple[pd.DataFrame, deprivation.MapClasses] | None:
        """The area's LSOAs with their ONS mid-2019 age structure and classes
        (:func:`nhsbook.pipeline.geo.lsoa_age_table`); None when the population is not available
        (:attr:`age_error` says why)."""
        if self._age is None:
            try:
                self._age = (geo.lsoa_age_table(self.area), None)
            except (KeyError, geo.sources.MissingSource) as exc:
                self._age = (None, exc)
        return self._age[0]

    @property
    def age_error(self) -> Exception | None:
        """Why the LSOA age structure is not available (None when it is)."""
        self.age_table()
        return self._age[1]

    def age_structure(self) -> list:
        """ "Age structure by LSOA": the map of the share aged 65 and over (where the LSOA
        boundaries exist), the area's totals (:func:`nhsbook.pipeline.geo.lsoa_age_totals`) and the
        CSV download; a sentence saying why when the ONS population is not available."""
        found = self.age_table()
        if found is None:
            return [
                Markdown(
                    f"The ONS mid-2019 LSOA population is not available to this build: "
                    f"{esc(self.age_error)}"
                )
            ]
        age_table, age_classes = found
        area = self.area
        out: list = []
        if area.has_lsoa_boundaries:
            out.append(
                choropleth(
                    age_table,
                    area.lsoa_shapes(),
                    classes=age_classes,
                    outline=area.outline(),
                    title=f"% aged 65 and over by LSOA: {area.name} (ONS mid-2019)",
                    legend_title="% aged 65 and over",
                    tooltip=[
                        ("area_name", "LSOA", ""),
                        ("area_code", "Code", ""),
                        ("population", "Residents", ","),
                        ("pct_under_15", "% aged under 15", ".1f"),
                        ("pct_65_plus", "% aged 65+", ".1f"),
                        ("pct_75_plus", "% aged 75+", ".1f"),
                    ],
                )
            )
        out.append(table(geo.lsoa_age_totals(age_table), look="plain", thousands=False))
        out.append(
            publish_csv(
                age_table[
                    [
                        "area_code",
                        "area_name",
                        "population",
                        "pct_under_15",
                        "pct_65_plus",
                        "pct_75_plus",
                    ]
                ].rename(columns={"area_code": "lsoa11_code", "area_name": "lsoa11_name"}),
                self.area_code,
                "age_structure_lsoa",
                self.book,
                label="Download the LSOA age structure as CSV",
            )
        )
        return out

    def part_table(self, kind: str) -> tuple[pd.DataFrame, deprivation.MapClasses]:
        """The deprivation of the area's sub-areas of ``kind`` and their classes
        (:func:`nhsbook.pipeline.geo.part_map_table`: population-weighted scores, rank)."""
        if kind not in self._parts:
            self._parts[kind] = geo.part_map_table(self.area, kind)
        return self._parts[kind]

    @property
    def part_tables(self) -> dict[str, pd.DataFrame]:
        """The table of each kind of sub-area (:meth:`part_table`), in the page's order."""
        return {kind: self.part_table(kind)[0] for kind in self.area.parts}

    def part_display(self, kind: str) -> pd.DataFrame:
        """The table of the sub-areas of ``kind`` as the page shows it: its columns
        (:attr:`PART_COLUMNS`, those present) headed for readers."""
        table = self.part_table(kind)[0]
        return table[[c for c in self.PART_COLUMNS if c in table.columns]].rename(
            columns=self.PART_COLUMNS
        )

    def areas_within(self) -> list:
        """ "Deprivation of the areas within": for each kind of sub-area, a heading, the
        synthetic notice (practice catchments), the map (where the LSOA boundaries exist)
        and the table; nothing for an area without sub-areas."""
        area = self.area
        out: list = []
        for kind in area.parts:
            parts, classes = self.part_table(kind)
            label = geo.PART_LABELS.get(kind, kind)
            out.append(Markdown(f"### By {esc(label)}"))
            if kind in area.synthetic_parts:
                out.append(
                    Markdown(
                        "*Synthetic:* the catchments are a seeded assignment of real LSOAs to the "
                        "book's synthetic practices; the deprivation of each LSOA is real."
                    )
                )
            if area.has_lsoa_boundaries:
                others = [k for k in area.parts if k != kind]
                outline = (
                    area.part_shapes(others[0]) if others and kind == "practice" else area.outline()
                )
                out.append(
                    choropleth(
                        parts,
                        area.part_shapes(kind),
                        classes=classes,
                        outline=outline,
                        title=f"Population-weighted IMD 2015 score by {label}",
                        legend_title="IMD 2015 score (national LSOA quintiles)",
                        tooltip=self.PART_TOOLTIP,
                    )
                )
            shown = self.part_display(kind)
            whole = [c for c in self.PART_WHOLE if c in shown.columns]
            out.append(table(shown, look="plain", formats=dict.fromkeys(whole, "count")))
        return out

    def indicator_maps(self) -> list:
        """Every profile indicator by practice (:func:`nhsbook.pipeline.geo.indicator_map_tables`),
        ``(metadata row, table, classes)`` each; empty when the area has no practices."""
        if "practice" not in self.area.parts:
            return []
        return geo.indicator_map_tables(self.area, load_computed(load_book(self.book)))

    def profile_indicators(self) -> list:
        """ "Profile indicators": the grid of maps by practice catchment and how many were
        drawn; otherwise a sentence saying why the area's indicators are not mapped."""
        area = self.area
        if "practice" in area.parts:
            maps = self.indicator_maps()
            coarse = 2.5 * geo.default_tolerance(area.lsoa_shapes())
            shapes = SharedShapes("practice_catchments", area.part_shapes("practice", coarse))
            charts = [
                choropleth(
                    t.drop(columns="area_name"),
                    shapes,
                    classes=c,
                    width=210,
                    height=180,
                    title=alt_title,
                    legend_title=meta["unit"],
                    polarity=meta["polarity"],
                    tooltip=[
                        ("geo.name", "Practice", ""),
                        ("area_code", "Code", ""),
                        ("value", f"Value ({meta['unit']})", ",.1f"),
                        ("rank", "Rank (1 = highest)", ""),
                    ],
                )
                for meta, t, c in maps
                for alt_title in [
                    geo.wrap_title(f"{meta['indicator_id']} {meta['name']} ({meta['period']})")
                ]
            ]
            return [
                map_grid(charts, [shapes], columns=3),
                Markdown(
                    f"{len(maps)} indicators mapped by practice (synthetic practices "
                    "of the default book)."
                ),
            ]
        if area.in_book:
            return [
                Markdown(
                    "The practices of this book have no catchment boundaries (a practice's patients "
                    "live across overlapping areas and the open data give no catchments), so its "
                    "indicators are not mapped; see the practice variation pages for how the "
                    f"practices of {esc(area.name)} compare."
                )
            ]
        return [
            Markdown(
                f"{esc(area.name)} is not part of the book's indicator hierarchy: the "
                "profile indicators are computed for the book's areas only, so this "
                "page maps deprivation only."
            )
        ]

    def wider_area(self) -> list:
        """ "The wider area": the districts around the area (:func:`nhsbook.pipeline.geo.wider_view`)
        by population-weighted IMD 2015 score, the area outlined."""
        area = self.area
        codes, scope = geo.wider_view(area)
        shapes = geo.district_shapes(codes)
        if area.has_lsoa_boundaries:
            outline = area.outline(geo.default_tolerance(shapes))
        else:
            outline = shapes[shapes["code"].isin(area.lad13_codes)]
        districts, classes = geo.district_map_table(codes)
        return [
            choropleth(
                districts,
                shapes,
                classes=classes,
                outline=outline,
                title=f"Population-weighted IMD 2015 score: {scope}",
                legend_title="IMD 2015 score (national LSOA quintiles)",
                tooltip=[
                    ("area_name", "District", ""),
                    ("area_code", "Code (2013)", ""),
                    ("imd2015_score", "IMD 2015 score (pop.-weighted)", ".1f"),
                    ("pct_most_deprived_20", "% in most deprived 20% (IMD 2019)", ".1f"),
                    ("rank", "Rank in England (1 = most deprived)", ""),
                ],
            )
        ]

    def check_line(self) -> str:
        """The page's check line (``NBVAL_CHECK_OUTPUT``): area kind, LSOAs, sub-areas."""
        return " ".join(
            [
                str(self.area.kind),
                str(len(self.lsoa_table)),
                "LSOAs;",
                ", ".join(f"{len(t)} {k}" for k, t in self.part_tables.items()),
            ]
        )


class Deprivation2025Page:
    """The IMD 2025 page of a sub-ICB location or ICB of a current-data book
    (``notebooks/deprivation_2025.ipynb``, e.g. book ``derbyshire-icb-2025``).

    Built from ``(area_code, book)``: the area's page of the book's computed tables
    (:class:`nhsbook.pages.area.AreaPage`), its 2021 LSOAs (:func:`nhsbook.pipeline.lsoa21.area_lsoas`)
    and their IMD 2025 score, rank and decile (:func:`nhsbook.pipeline.lsoa21.imd_table`)."""

    #: Fingertips indicator of the practices' IMD 2025 score.
    PRACTICE_SCORE = "94240"

    def __init__(self, area_code: str, book: str = "default"):
        self.area_code = area_code
        self.book = book
        #: The area's page of the book's computed tables.
        self.page = AreaPage.load(area_code, book)
        lsoas = lsoa21.area_lsoas(area_code, self.page.book, self.page.areas)
        #: The area's LSOAs (2021) with their IMD 2025 figures, and their map classes.
        self.table, self.classes = lsoa21.imd_table(lsoas, self.page.book)

    @classmethod
    def load(cls, area_code: str, book: str = "default") -> "Deprivation2025Page":
        """The IMD 2025 page of ``area_code`` in ``book``."""
        return cls(area_code, book)

    @property
    def name(self) -> str:
        """The area's name."""
        return self.page.name

    def header(self) -> Markdown:
        """The page's opening (:meth:`nhsbook.pages.area.AreaPage.header_markdown`)."""
        return Markdown(self.page.header_markdown())

    def key_messages_box(self):
        """The "Key messages" box of a maps page (:meth:`AreaPage.key_messages_box`)."""
        return self.page.key_messages_box("maps")

    def lsoa_count(self) -> Markdown:
        """How many 2021 LSOAs the area has, and by which lookup."""
        return Markdown(
            f"**{len(self.table):,} LSOAs (2021)** of {esc(self.name)}, by the ONS "
            "LSOA (2021) to sub-ICB location to ICB lookup (April 2024)."
        )

    def decile_profile(self) -> pd.DataFrame:
        """The area's LSOAs and residents by national IMD 2025 decile
        (:func:`nhsbook.pipeline.lsoa21.decile_profile`)."""
        return lsoa21.decile_profile(self.table)

    def weighted_summary(self) -> dict[str, float]:
        """The area's population-weighted IMD 2025 figures
        (:func:`nhsbook.pipeline.lsoa21.weighted_summary`)."""
        return lsoa21.weighted_summary(self.table)

    def lsoa_deprivation(self) -> list:
        """ "Deprivation by LSOA": the map of national deciles (where the 2021 boundaries
        exist; a sentence otherwise), the decile profile, the population-weighted figures
        and the CSV download."""
        lsoas = self.table
        out: list = []
        if lsoa21.has_boundaries(lsoas):
            shapes = lsoa21.lsoa_shapes(lsoas)
            out.append(
                choropleth(
                    lsoas,
                    shapes,
                    classes=self.classes,
                    outline=lsoa21.district_outline(shapes),
                    title=f"IMD 2025 national decile by LSOA (2021): {self.name}",
                    legend_title="IMD 2025 national decile",
                    tooltip=[
                        ("area_name", "LSOA", ""),
                        ("area_code", "Code", ""),
                        ("lad24_name", "District", ""),
                        ("imd_decile", "National decile", ""),
                        ("imd_rank", "National rank (1 = most deprived)", ","),
                        ("imd_score", "IMD 2025 score", ".1f"),
                    ],
                )
            )
        else:
            out.append(
                Markdown(
                    f"LSOA (2021) boundaries for {esc(self.name)} are not in the data: the "
                    "registry's 2021 LSOA boundary file covers Derby and Derbyshire only. Its LSOAs "
                    "by national decile:"
                )
            )
        out.append(
            table(
                self.decile_profile(),
                look="plain",
                thousands=False,
                formats={
                    "% of the area's LSOAs": 1,
                    "% of residents": 1,
                    "Residents (Census 2021)": "count",
                },
            )
        )
        w = self.weighted_summary()
        out.append(
            Markdown(
                f"**Population-weighted** (Census 2021 usual residents of each LSOA, "
                f"{w['residents']:,.0f} in all): IMD 2025 score **{w['score']:.1f}**; "
                f"**{w['pct_d1']:.1f}%** of residents live in England's most deprived 10% of LSOAs "
                f"and {w['pct_d12']:.1f}% in the most deprived 20%. Method: the score is "
                "Σ score × residents / Σ residents over the area's LSOAs, MHCLG's population-weighted "
                "average with Census 2021 residents (21 March 2021) in place of the IoD2025 mid-2022 "
                "denominators, which are not in the data; the same arithmetic ranks every sub-ICB "
                "location and ICB on the National maps page."
            )
        )
        out.append(
            publish_csv(
                lsoas[
                    [
                        "area_code",
                        "area_name",
                        "lad24_name",
                        "imd_score",
                        "imd_rank",
                        "imd_decile",
                        "population",
                    ]
                ].rename(columns={"area_code": "lsoa21_code", "area_name": "lsoa21_name"}),
                self.area_code,
                "deprivation_lsoa21",
                self.book,
                label="Download the LSOA IMD 2025 table as CSV",
            )
        )
        return out

    def by_district(self) -> list:
        """ "By district": the table of :func:`nhsbook.pipeline.lsoa21.district_summary`, or a sentence
        when the boundary file does not name the area's districts."""
        districts = lsoa21.district_summary(self.table)
        if districts.empty:
            return [
                Markdown(
                    "The district of each LSOA comes from the boundary file, which does "
                    "not cover this area."
                )
            ]
        return [
            table(
                districts,
                look="plain",
                thousands=False,
                formats={"Residents (Census 2021)": "count"},
            )
        ]

    def practice_scores(self) -> pd.DataFrame:
        """The IMD 2025 scores of the area's practices (:func:`nhsbook.pipeline.lsoa21.practice_scores`),
        most deprived first."""
        return lsoa21.practice_scores(
            self.page.values, self.page.areas, self.area_code, self.PRACTICE_SCORE
        )

    def own_score(self) -> float | None:
        """The area's own IMD 2025 score (the list-weighted mean of its practices'), None
        when the book has none for it."""
        return lsoa21.area_score(self.page.values, self.area_code, self.PRACTICE_SCORE)

    def practices(self) -> list:
        """ "Practices": the area's own score (where the book has one) and its practices'
        scores, most deprived first."""
        scores = self.practice_scores()
        own = self.own_score()
        out: list = []
        if own is not None:
            out.append(
                Markdown(
                    f"**{esc(self.name)}: {own:.1f}** (list-weighted mean of "
                    f"{len(scores)} practices)."
                )
            )
        out.append(
            table(
                scores[["Practice", "Code", "IMD 2025 score"]],
                look="plain",
                thousands=False,
                formats={"IMD 2025 score": 1},
            )
        )
        return out

    def check_line(self) -> str:
        """The page's check line (``NBVAL_CHECK_OUTPUT``): LSOAs, LSOAs in deciles, practices."""
        return " ".join(
            [
                str(len(self.table)),
                "LSOAs;",
                str(int(self.decile_profile()["LSOAs"].sum())),
                "in deciles;",
                str(len(self.practice_scores())),
                "practices",
            ]
        )


# --- national maps (nhsbook.pipeline.national computes, this draws) -----------------------------


def national_sections(page) -> dict:
    """The national maps of the page's area, one per indicator: ``rows`` (the summary
    table), ``chart`` (one :func:`nhsbook.charts.maps.map_grid` of
    :func:`nhsbook.charts.maps.national_map`, the geometry embedded once for every map),
    ``sentences`` (markdown, per indicator: value, rank, England; names escaped) and
    ``notes`` (areas with a value but no boundary, or a boundary but no value)."""
    rows, level, label, plural = national.summary(page)
    nat = national.table(page.book)
    geo = national.shapes(page.book, level, nat)
    shared = SharedShapes(f"national_{level}", geo, props=("name",))
    codes = set(geo["code"])
    meta = national.metadata(page.metadata).set_index("indicator_id")
    code = str(page.area["area_code"])
    own_shape = geo[geo["code"] == code][["code", "geometry"]]
    charts, sentences, notes = [], [], []
    for ind in rows["indicator_id"]:
        m = meta.loc[ind]
        draw, classes, undrawn = national.map_table(nat, ind, level, codes)
        own = nat[
            (nat["indicator_id"] == ind) & (nat["level"] == level) & (nat["area_code"] == code)
        ].iloc[0]
        sentence = national.rank_sentence(own, plural, str(m["unit"]), str(m["polarity"]))
        unit = "%" if m["unit"] == "%" else str(m["unit"])
        legend = [
            f"{unit}: quintiles of {int(own['n_ranked'])} {plural}",
            national.POLARITY_WORDS.get(m["polarity"], m["polarity"]),
        ]
        tips = [
            ("geo.name", label.capitalize(), ""),
            ("area_code", "Code", ""),
            ("value", f"Value ({unit})", ".1f"),
            ("rank_text", "Rank (1 = highest)", ""),
        ]
        if draw["lower"].notna().any():
            tips += [("significance", "Compared with England", "")]
        plain = sentence.replace("**", "")
        charts.append(
            national_map(
                draw,
                shared,
                classes=classes,
                outline=own_shape,
                title=f"{m['name']}, {own['period']}",
                legend_title=legend,
                tooltip=tips,
                subtitle=wrap_title(f"{page.name}: {plain}", 62, 4),
                description=f"{page.name}: {plain}",
            )
        )
        sentences.append(f"- **{esc(m['name'])}** ({esc(own['period'])}): {sentence}")
        for _, r in undrawn.iterrows():
            notes.append(
                f"{esc(r['area_name'])} ({esc(r['area_code'])}) has no boundary in "
                "the April 2023 file (it was created in April 2026) and is not "
                "drawn; its values and ranks are in the CSV below."
            )
    for c, why in national.SPLIT_2026.items():
        if c in codes:
            notes.append(f"Grey: {esc(c)}, {esc(why)}; it has no July 2026 value.")
    return {
        "rows": rows,
        "chart": map_grid(charts, shapes=[shared], columns=1),
        "sentences": sentences,
        "notes": list(dict.fromkeys(notes)),
        "level": level,
        "label": label,
        "plural": plural,
    }
