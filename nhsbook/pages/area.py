"""What a notebook page calls: the precomputed tables for one area, and their rendering.

Notebooks hold parameters, calls into this module and narrative; everything they show comes
from the tables :mod:`nhsbook.build.book` computed once for all areas (``build/<book>/*.parquet``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from nhsbook import charts
from nhsbook.analysis import disclosure, indicators, peers, spine, spot, variation, views
from nhsbook.analysis import population as pop
from nhsbook.analysis.variation import practices_below
from nhsbook.analysis.views import (
    TREND_BASIS,  # noqa: F401  (re-exported: the trend tables' "Based on" wording)
    compare_with,
    trend_summary,
    trends,
)
from nhsbook.charts import compare_bars, funnel
from nhsbook.charts import spine as spine_chart
from nhsbook.config.book import BookConfig, has_report, load_book, report_href
from nhsbook.core import escape
from nhsbook.core import page_inputs
from nhsbook.core.model import (
    ancestor_of_type,
    disclosive_cells,  # noqa: F401  (re-exported: pages and tests use it here)
)
from nhsbook.core.safepath import check_name
from nhsbook.io.fingertips_book import category_table, significance_table, worse_and_worsening
from nhsbook.io.opendata_icb import QOF_BRIDGE_NOTE
from nhsbook.pages import definitions, messages
from nhsbook.pages.messages import correlation_sentence
from nhsbook.pages.renderer import enable_renderer
from nhsbook.pages.tables import table
from nhsbook.pipeline import priorities
from nhsbook.pipeline.store import load_computed

if TYPE_CHECKING:  # names of annotations only
    import altair as alt
    import IPython.display

    from nhsbook.analysis.spot import LocalityPack


def install_page_hooks() -> None:
    """What a page needs in the process that draws it, installed by the page facades
    (:meth:`AreaPage.load`, :class:`~nhsbook.pages.finance.FinancePage`, …) and by the
    build's engine before every page (:func:`nhsbook.build.engine.prepare_page`), never on import:

    * the chart renderer of a build (:func:`nhsbook.pages.renderer.enable_renderer`; Altair's own
      display outside a build);
    * the record of what a page reads (:func:`nhsbook.core.page_inputs.install`: does nothing unless the
      build names a deps file; an audit hook, which cannot be removed, so once per process);
    * every pandas Styler a notebook displays shows its text cells and labels as literal
      text, each indicator name linked to its entry on the Definitions page
      (:func:`nhsbook.pages.definitions.install_display_hook`).

    Idempotent."""
    enable_renderer()
    page_inputs.install()
    definitions.install_display_hook()


#: The profile table's columns shown to one decimal (:meth:`AreaPage.profile_html`).
PROFILE_DECIMALS = (
    "Value",
    "Lower 95% CI",
    "Upper 95% CI",
    "Comparator",
    "Worst practice",
    "25th percentile",
    "75th percentile",
    "Best practice",
)


@dataclass
class AreaPage:
    """One area's slice of a book's computed tables."""

    book: BookConfig
    area: pd.Series
    values: pd.DataFrame
    metadata: pd.DataFrame
    areas: pd.DataFrame
    population: pd.DataFrame | None = None
    population_reference: pd.DataFrame | None = None
    #: Deprivation-quintile aggregates of the book's inequality pages, as published
    #: (:func:`nhsbook.analysis.disclosure.quintile_table`).
    quintiles: pd.DataFrame | None = None
    #: Similar-area peers (:mod:`nhsbook.analysis.peers`): every area's variables, its ten nearest
    #: and the similar-10 values of the book's sub-ICB locations and ICB.
    peer_variables: pd.DataFrame | None = None
    peers: pd.DataFrame | None = None
    peer_values: pd.DataFrame | None = None

    #: The book's computed tables (and finance, performance, SPOT) for the key messages
    #: (:func:`nhsbook.pages.messages.load_tables`); loaded on first use.
    tables: dict | None = None
    #: :meth:`practice_points`, computed once for the page and its key messages.
    _points: tuple | None = field(default=None, repr=False)

    @classmethod
    def load(cls, area_code: str, book: str = "default") -> "AreaPage":
        """The page of ``area_code`` in ``book``, for a notebook: installs the page hooks
        (:func:`install_page_hooks`), then loads the book's computed tables (computing them
        first if they are missing or stale)."""
        install_page_hooks()
        cfg = load_book(book)
        computed = load_computed(cfg)
        page = cls.from_tables(cfg, computed, area_code)
        page.tables = dict(computed, book=cfg)  # the key messages read the same tables
        return page

    @classmethod
    def from_tables(cls, cfg: BookConfig, computed: dict, area_code: str) -> "AreaPage":
        """The page of ``area_code`` from a book's computed tables
        (:func:`nhsbook.pipeline.store.load_computed`)."""
        areas = computed["areas"]
        hit = areas[areas["area_code"] == area_code]
        if hit.empty:
            raise KeyError(
                f"area {area_code!r} is not in book {cfg.name!r}; areas with pages: "
                f"{sorted(areas.loc[areas['area_type'].isin(cfg.page_area_types), 'area_code'])}"
            )
        # a page sees published figures only: the cells the pipeline suppressed (primary
        # and secondary, nhsbook.analysis.disclosure) have no count, value or limits here
        quintiles = computed.get("quintiles")
        definitions.use(computed["metadata"])  # tables and charts link to the definitions
        return cls(
            cfg,
            hit.iloc[0],
            disclosure.apply(computed["values"]),
            computed["metadata"],
            areas,
            computed["population"],
            computed["population_reference"],
            disclosure.apply(quintiles) if quintiles is not None else None,
            computed.get("peer_variables"),
            computed.get("peers"),
            computed.get("peer_values"),
            tables=computed if "book" in computed else None,
        )

    @property
    def name(self) -> str:
        return str(self.area["area_name"])

    @property
    def comparator_name(self) -> str:
        code = self.area["comparator_code"]
        hit = self.areas.loc[self.areas["area_code"] == code, "area_name"]
        return str(hit.iloc[0]) if not hit.empty else "no comparator"

    #: Titles of the profiles the seed documents name; others are titled by their key.
    PROFILE_TITLES = {
        "adult": "Adult profile",
        "child": "Child profile",
        "qof": "QOF recorded prevalence",
        "deprivation": "Deprivation",
    }

    def profiles(self, with_values: bool = False) -> list[str]:
        """The book's profiles (``metadata.profile``): adult and child first, then others
        in the order the metadata lists them; with ``with_values`` only those with a value
        for this area (a county has no Health Index of its own: its districts have)."""
        found = list(dict.fromkeys(self.metadata["profile"]))
        if with_values:
            mine = self.values.loc[
                (self.values["area_code"] == self.code) & self.values["value"].notna(),
                "indicator_id",
            ]
            have = set(self.metadata.loc[self.metadata["indicator_id"].isin(mine), "profile"])
            found = [p for p in found if p in have]
        return sorted(
            found,
            key=lambda p: list(self.PROFILE_TITLES).index(p) if p in self.PROFILE_TITLES else 99,
        )

    def profile_title(self, profile: str) -> str:
        return self.PROFILE_TITLES.get(profile, f"{profile.replace('_', ' ').capitalize()} profile")

    def profile(self, profile: str) -> pd.DataFrame:
        """The area's adult or child profile rows (suppressed for publication)."""
        return indicators.profile_table(self.values, self.metadata, self.area["area_code"], profile)

    def header_markdown(
        self, periods: bool = True, datasets: list[str] | None = None, comparator: str | None = None
    ) -> str:
        """The page's opening: area, comparator, the periods of the indicators (unless
        ``periods`` is False: a page that draws no indicator), the vintage of each other
        dataset the page draws (``datasets``, one phrase each), sources and the synthetic
        notice.  ``comparator``: the page's own comparator when it is not the area's (the
        population page's)."""
        lines = [
            f"**Area:** {esc(self.name)} ({esc_code(self.area['area_code'])}, "
            f"{esc(self.book.type_labels.get(self.area_type, self.area_type))}).  "
            f"**Compared with:** {esc(comparator or self.comparator_name)}.",
            "",
        ]
        if self.book.synthetic:
            note = " ".join(self.book.synthetic_note.split())
            lines += [f"> **Synthetic data.** {note}", ""]
        if periods:
            period = ", ".join(sorted(self.metadata["period"].unique()))
            lines += [
                f"**Period:** {esc(period)}. **Sources:** see each indicator's source "
                "in the downloadable table and the Data sources chapter."
            ]
        if datasets:
            lines += ["", "**Data:** " + "; ".join(esc(d) for d in datasets) + "."]
        if self.book.vintage:
            lines += ["", f"**Data vintage:** {esc(self.book.vintage)}."]
        link = report_link(self.book, self.code, self.area_type)
        if link:
            lines += ["", link]
        return "\n".join(lines)

    def evidence_markdown(self) -> str:
        """ "Where the evidence points": the area's ranked candidate priorities and quick
        wins (:mod:`nhsbook.pipeline.priorities`, computed once in the pipeline), the section the
        area's web chapter opens with."""
        table = (self.tables or {}).get("priorities")
        if table is None:
            table = load_computed(self.book)["priorities"]
        return priorities.markdown(table, self.code)

    def population_vintages(self) -> list[str]:
        """The population page's datasets and their years, in words (for
        :meth:`header_markdown`): the area's population, its comparator's, the projection."""
        out = []
        year = self.population_year()
        if year:
            out.append(f"population of {self.name} {year}")
        if not self.missing_population():
            ref = self.pyramid_data()
            ref = ref[ref["role"] == "comparator"]
            if len(ref):
                out.append(f"comparator population {ref['name'].iloc[0]}")
        proj, proj_area = self.projection()
        if not proj.empty:
            out.append(
                f"projection of {proj_area} {int(proj['year'].min())}-{int(proj['year'].max())}"
            )
        return out

    def population_comparator(self) -> str:
        """The name of the population the pyramid is drawn against ("" if none)."""
        if self.missing_population():
            return ""
        ref = self.pyramid_data()
        ref = ref[ref["role"] == "comparator"]
        return str(ref["name"].iloc[0]) if len(ref) else ""

    def key_messages(self, page: str, **computed) -> list[str]:
        """The page's key messages (:func:`nhsbook.pages.messages.key_messages`), plain text."""
        if self.tables is None:
            self.tables = messages.load_tables(self.book, extras=())
        need = [e for e in messages.EXTRAS.get(page, ()) if e not in self.tables]
        self.tables.update(messages.load_extras(self.book, need))
        if page == "variation" and "points" not in computed:  # the page's own, computed once
            computed = {**computed, "points": self.practice_points()[0]}
        if (
            page in ("population", "peers", "national") and "area_page" not in computed
        ):  # the page's own
            computed = {**computed, "area_page": self}
        return messages.key_messages(self.tables, self.code, page, **computed)

    def key_messages_box(self, *pages: str, **computed) -> "IPython.display.HTML":
        """The "Key messages" box a page opens with (:func:`key_messages_html`): the
        messages of each page type named, in order (a locality pack: its profile and its
        practices' variation)."""
        from IPython.display import HTML

        return HTML(key_messages_html([m for p in pages for m in self.key_messages(p, **computed)]))

    @property
    def code(self) -> str:
        return str(self.area["area_code"])

    @property
    def area_type(self) -> str:
        return str(self.area["area_type"])

    def children(self, area_type: str | None = None) -> pd.DataFrame:
        """Areas directly below this one (optionally of one type), in name order."""
        kids = self.areas[self.areas["parent_code"].fillna("") == self.code]
        if area_type:
            kids = kids[kids["area_type"] == area_type]
        return kids.sort_values("area_name")

    def spine_chart(self, profile: str, palette: str = "standard"):
        """The profile's spine chart; a CCG's localities (or primary care networks) are drawn
        as diamonds."""
        kids = self.children()
        markers = kids.loc[kids["area_type"].isin(["locality", "pcn"]), "area_code"].tolist()
        comparison = self.peer_comparison_rows()
        peer = (
            comparison.assign(
                area_name=self.peer_name(),
                value=comparison["peer_value"],
                lower_95=comparison["peer_lower_95"],
                upper_95=comparison["peer_upper_95"],
            )
            if not comparison.empty
            else None
        )
        data = spine.spine_data(
            self.values, self.metadata, self.areas, self.code, profile, markers=markers, peer=peer
        )
        return spine_chart(data, palette=palette)

    # --- similar-area peers (nhsbook.analysis.peers) ---------------------------------------------

    def has_peers(self) -> bool:
        """True when the book computed similar-10 peers for this area."""
        return self.peers is not None and not self.my_peers().empty

    def my_peers(self) -> pd.DataFrame:
        """This area's ten peers of its family, most similar first (a unitary authority is
        both a district and an upper tier: the family of its type decides)."""
        p = self.peers
        return p[(p["area_code"] == self.code) & (p["family"] == self.peer_family())].sort_values(
            "rank"
        )

    def peer_name(self) -> str:
        return f"Similar 10 of {self.name}"

    def peer_method(self) -> str:
        """The method sentence every page showing the peers states."""
        return peers.METHOD

    def peer_family(self) -> str:
        """The peer family of this area's type (:data:`nhsbook.analysis.peers.AREA_FAMILIES`)."""
        return peers.AREA_FAMILIES.get(self.area_type, "")

    def peer_variables_text(self) -> str:
        """The variables and the distance, as the peers page states them (markdown written
        by nhsbook, no data in it)."""
        return peers.variables_text(self.peer_family())

    def peer_value_text(self) -> str:
        """How the similar-10 value is made for this area's family (no data in it)."""
        return peers.value_text(self.peer_family())

    def peer_list_markdown(self) -> str:
        """The ten peers, most similar first, with their distances (names escaped)."""
        if not self.has_peers():
            return ""
        mine = self.my_peers()
        return "; ".join(f"{esc(n)} ({d:.2f})" for n, d in zip(mine["peer_name"], mine["distance"]))

    def peer_comparison_rows(self) -> pd.DataFrame:
        """The area's latest published rows with the similar-10 value, limits and
        significance (:func:`nhsbook.analysis.peers.compare_with_peers`); empty without peers.  A
        peer-group value whose count is 1 to 4 is never shown."""
        if self.peer_values is None or self.peer_values.empty or not self.has_peers():
            return pd.DataFrame()
        below = disclosure.rule(self.book.disclosure).suppress_below
        pv = self.peer_values
        small = pv["count"].between(1, below - 1)
        pv = pv.assign(**{c: pv[c].where(~small) for c in ("value", "lower_95", "upper_95")})
        return peers.compare_with_peers(self.values, pv, self.metadata, self.code)

    def peer_comparison(self) -> pd.DataFrame:
        """The table beside the spine: each indicator against England (or the area's
        comparator), its parent and its similar 10, by the same 95% rule."""
        rows = self.peer_comparison_rows()
        if rows.empty:
            return rows
        parent = str(self.area["parent_code"] or "")
        out = pd.DataFrame(
            {
                "Indicator": rows["name"],
                "Period": rows["period"],
                "Value": rows["value"],
                "Lower 95% CI": rows["lower_95"],
                "Upper 95% CI": rows["upper_95"],
                self.comparator_name: rows["comparator_value"],
                f"Compared with {self.comparator_name}": rows["significance"],
            }
        )
        if (
            parent
            and parent != self.area["comparator_code"]
            and (self.values["area_code"] == parent).any()
        ):
            par = rows[["indicator_id", "period"]].merge(
                compare_with(self.values, self.metadata, self.code, parent),
                on=["indicator_id", "period"],
                how="left",
            )
            out[self._name(parent)] = par["second_value"].to_numpy()
            out[f"Compared with {self._name(parent)}"] = par["second_significance"].to_numpy()
        out["Similar 10"] = rows["peer_value"]
        out["Similar 10 lower 95% CI"] = rows["peer_lower_95"]
        out["Similar 10 upper 95% CI"] = rows["peer_upper_95"]
        out["Compared with similar 10"] = rows["peer_significance"]
        out.loc[rows["suppressed"].to_numpy(), ["Value", "Lower 95% CI", "Upper 95% CI"]] = float(
            "nan"
        )
        # a similar-10 mean of published values has no limits of its own: no empty columns
        return out.drop(
            columns=[
                c
                for c in ("Similar 10 lower 95% CI", "Similar 10 upper 95% CI")
                if out[c].isna().all()
            ]
        )

    def peer_download(self) -> pd.DataFrame:
        """The area's and its peers' variables, z-scores and their family's means and SDs
        (so that each distance can be recomputed), for the peers page's CSV."""
        var = self.peer_variables[self.peer_variables["family"] == self.peer_family()]
        codes = [self.code] + self.my_peers()["peer_code"].tolist()
        var = var.set_index("area_code").reindex(codes).reset_index()
        cols = (
            ["area_code", "area_name"]
            + [c for c in var.columns if c.startswith(("z_", "mean_", "sd_"))]
            + [v for v, _, _ in peers.VARIABLES]
        )
        return var[cols].round(6)

    def peers_table(self) -> pd.DataFrame:
        """The area and its ten peers with their distance and variables."""
        return peers.peers_table(self.peer_variables, self.my_peers(), self.code)

    def trends(self) -> pd.DataFrame:
        """Indicators with several periods for this area (:func:`nhsbook.analysis.views.trends`)."""
        return trends(self.values, self.metadata, self.code)

    def worse_and_worsening(self, trends: pd.DataFrame | None = None) -> pd.DataFrame:
        """Indicators significantly worse than England (or, in books without an England
        comparison, than the comparator) *and* getting worse by their recent trend
        (:func:`nhsbook.io.fingertips_book.worse_and_worsening`)."""
        return worse_and_worsening(
            self.values, self.metadata, self.code, self.trends() if trends is None else trends
        )

    def significance_table(self) -> pd.DataFrame:
        """The area against its comparator and England at 95% and 99.8%, as Fingertips
        compares (Fingertips books; empty otherwise)."""
        return significance_table(self.values, self.metadata, self.code, self.comparator_name)

    def category_table(self) -> pd.DataFrame:
        """The area's inequality breakdowns from ``Category Type`` / ``Category`` rows."""
        return category_table(self.values, self.metadata, self.code)

    # --- population -------------------------------------------------------------------

    def ccg_code(self) -> str:
        """The CCG this area is or belongs to ("" if none)."""
        if self.area_type == "ccg":
            return self.code
        anc = dict(zip(self.areas["area_code"], ancestor_of_type(self.areas, "ccg")))
        return str(anc.get(self.code, "") or "")

    def _name(self, code: str) -> str:
        hit = self.areas.loc[self.areas["area_code"] == code, "area_name"]
        return str(hit.iloc[0]) if not hit.empty else code

    def missing_population(self) -> str:
        """Why the area has no population to draw ("" when it has one): the book's own note
        for the area (e.g. the mirror's LSOA estimates do not cover it) or a generic one."""
        try:
            pop.area_population(self.population, self.areas, self.code)
            return ""
        except KeyError:
            note = self.area.get("population_note", "")
            note = "" if pd.isna(note) else str(note)
            return note or f"The book has no population for {self.name} or its practices."

    def population_year(self) -> str:
        """The year of the area's population (its own rows or its practices'), "" if none."""
        pop = self.population
        if pop is None or pop.empty:
            return ""
        own = pop[pop["area_code"] == self.code]
        if own.empty:
            own = pop[pop["area_code"].isin(practices_below(self.areas, self.code))]
        return "" if own.empty else str(int(own["year"].max()))

    def pyramid_data(self) -> pd.DataFrame:
        """The area's age-sex shares against its comparator: every area against the book's
        ``population_comparator: area_code`` when it names one (an area of the population
        table, e.g. England); else a CCG against the book's comparator population (when
        available), a locality or practice against its CCG."""
        own = pop.area_population(self.population, self.areas, self.code)
        ref, ref_name = None, ""
        fixed = str(self.book.population_comparator.get("area_code") or "")
        if fixed and fixed != self.code:
            # a book whose population table holds its comparator (e.g. England's registered
            # patients): every area is drawn against it
            ref = pop.area_population(self.population, self.areas, fixed)
            ref_name = str(self.book.population_comparator.get("name") or self._name(fixed))
        elif self.area_type == "ccg":
            if self.population_reference is not None and not self.population_reference.empty:
                ref = self.population_reference
                ref_name = str(ref["name"].iloc[0])
        elif self.ccg_code():
            ref = pop.area_population(self.population, self.areas, self.ccg_code())
            ref_name = self._name(self.ccg_code())
        return pop.pyramid_data(own, self.name, ref, ref_name)

    def structure_table(self) -> pd.DataFrame:
        """Population, % under 15, % 65+, % 75+ and the old-age dependency ratio of the area
        and its pyramid comparator."""
        data = self.pyramid_data()
        labels = {
            "total": "Population",
            "under_15_pct": "% aged under 15",
            "over_65_pct": "% aged 65 and over",
            "over_75_pct": "% aged 75 and over",
            "old_age_dependency_ratio": "Old-age dependency ratio (65+ per 100 aged 15-64)",
        }
        cols = {}
        for role in ("area", "comparator"):
            sub = data[data["role"] == role]
            if sub.empty:
                continue
            measures = pop.structure(sub)
            cols[str(sub["name"].iloc[0])] = [measures[k] for k in labels]
        return pd.DataFrame(cols, index=list(labels.values())).rename_axis("Measure")

    def projection(self) -> tuple[pd.DataFrame, str]:
        """The projection table of the area's CCG (projections are published for CCGs) and
        the CCG's name; empty when the book has none."""
        path = self.book.data / "population_projection.csv"
        ccg = self.ccg_code()
        if not path.is_file() or not ccg:
            return pd.DataFrame(), ""
        table = pop.projection_table(pd.read_csv(path, dtype={"area_code": str}), ccg)
        return table, self._name(ccg)

    # --- practice variation -------------------------------------------------------------

    def practice_points(self) -> tuple[pd.DataFrame, str]:
        """Funnel points of the practices this page compares (see
        :func:`nhsbook.analysis.variation.peer_group`) and the target area's code."""
        if self._points is None:
            target, practices = variation.peer_group(self.areas, self.code)
            self._points = (
                variation.practice_points(
                    self.values, self.metadata, self.areas, practices, target
                ),
                target,
            )
        return self._points

    def funnel_chart(self, points: pd.DataFrame):
        """Funnel plots of ``points``; a practice's own page highlights the practice."""
        limits = variation.funnel_limits(points, self.metadata)
        practices, inds = variation.funnel_labels(points)
        highlight = self.code if self.area_type == "practice" else ""
        return funnel(variation.funnel_frame(points, limits), practices, inds, highlight=highlight)

    def compare_chart(self, palette: str = "standard"):
        """Compare-areas bars: a CCG's localities, a locality's practices, or the practices
        of a practice's locality (the practice outlined)."""
        if self.area_type == "practice":
            parent = str(self.area["parent_code"])
            codes = self.areas.loc[self.areas["parent_code"] == parent, "area_code"]
        else:
            kids = self.children()
            codes = kids["area_code"]
        data = variation.compare_areas(
            self.values, self.metadata, self.areas, codes, highlight=self.code
        )
        if self.has_peers():
            # a sub-ICB location or ICB with peers: the area itself (outlined) and its
            # similar 10 (a grey bar, not compared) beside its children, as data
            own = variation.compare_areas(
                self.values, self.metadata, self.areas, [self.code], highlight=self.code
            )
            rows = self.peer_comparison_rows()
            rows = rows[rows["peer_value"].notna()]
            meta = self.metadata.set_index("indicator_id")
            peer = pd.DataFrame(
                {
                    "indicator_id": rows["indicator_id"],
                    "indicator": rows["name"],
                    "unit": rows["indicator_id"].map(meta["unit"]),
                    "area_code": "similar10",
                    "area_name": self.peer_name(),
                    "value": rows["peer_value"].round(2),
                    "lower_95": rows["peer_lower_95"].round(2),
                    "upper_95": rows["peer_upper_95"].round(2),
                    "comparator_value": rows["comparator_value"].round(2),
                    "significance": "Not compared",
                    "highlight": False,
                }
            )
            peer = peer[peer["indicator_id"].isin(set(own["indicator_id"]))]
            data = pd.concat([own, peer, data[data["area_code"] != self.code]], ignore_index=True)
        return compare_bars(data, palette=palette) if not data.empty else None

    def csv_href(self) -> str:
        """Site-relative link from this area's page to its profile CSV."""
        return f"../../data/{self.area['area_code']}/profile.csv"

    def second_comparison(self, comparator_code: str = "E92000001") -> pd.DataFrame:
        """The area's indicators against its own comparator *and* a second one (default
        England): a practice or PCN of a real-data book is compared with its CCG in the
        computed tables and with England here, by the same 95% rule
        (:func:`nhsbook.analysis.views.compare_with`); empty when the book has no values for
        ``comparator_code`` or the area is, or is already compared with, that comparator."""
        if (
            comparator_code in (self.code, self.area["comparator_code"])
            or not (self.values["area_code"] == comparator_code).any()
        ):
            return pd.DataFrame()
        rows = compare_with(self.values, self.metadata, self.code, comparator_code)
        out = rows.rename(
            columns={
                "name": "Indicator",
                "period": "Period",
                "value": "Value",
                "lower_95": "Lower 95% CI",
                "upper_95": "Upper 95% CI",
                "comparator_value": self.comparator_name,
                "significance": f"Compared with {self.comparator_name}",
                "second_value": self._name(comparator_code),
                "second_significance": f"Compared with {self._name(comparator_code)}",
            }
        )
        out.loc[out["suppressed"], ["Value", "Lower 95% CI", "Upper 95% CI"]] = float("nan")
        return out.drop(columns=["indicator_id", "suppressed"])

    # --- what the thin notebooks call (issue 21) -----------------------------------------

    def profile_tables(self) -> dict[str, pd.DataFrame]:
        """Each profile with a value for this area (:meth:`profiles` with ``with_values``),
        in page order, with its rows (:meth:`profile`)."""
        return {p: self.profile(p) for p in self.profiles(with_values=True)}

    def profile_html(self, rows: pd.DataFrame) -> "IPython.display.HTML":
        """A profile's rows (:meth:`profile`) as the page's table (:func:`nhsbook.pages.tables.
        table`): significance colours, suppressed figures as Supp., values to one decimal
        and counts whole."""
        # the value notes are long: they stay in the CSV download, not in the on-page table
        shown = indicators.display_table(rows).drop(columns=["Value note"])
        return table(
            shown,
            formats={**dict.fromkeys(PROFILE_DECIMALS, 1), "Count": 0},
            colours={"Significance": "significance"},
        )

    #: The one table helper (:func:`nhsbook.pages.tables.table`), for a notebook's own tables.
    table = staticmethod(table)

    def correlations(self, scatter: pd.DataFrame) -> pd.DataFrame:
        """Every indicator's correlation with the deprivation score across the practices of
        :meth:`scatter_data`, strongest first (:func:`nhsbook.analysis.views.correlation_table`)."""
        return views.correlation_table(scatter)

    def trend_summary(self, trends: pd.DataFrame | None = None) -> pd.DataFrame:
        """The Trends section's table of :meth:`trends` (or of ``trends`` when given): one
        row per indicator with ``Indicator``, ``Recent trend`` and ``Based on``
        (:func:`nhsbook.analysis.views.trend_summary`)."""
        return trend_summary(self.trends() if trends is None else trends)

    def qof_bridge_note(self, trends: pd.DataFrame | None = None) -> str:
        """The note on the QOF series' 2020/21 break (:data:`nhsbook.io.opendata_icb.
        QOF_BRIDGE_NOTE`, escaped as markdown) when the trends hold a QOF indicator with a
        2020/21 period; ``""`` otherwise."""
        trends = self.trends() if trends is None else trends
        if trends.empty or not (
            trends["indicator_id"].str.startswith("QOF_").any()
            and (trends["period"] == "2020/21").any()
        ):
            return ""
        return esc(QOF_BRIDGE_NOTE)

    # practice variation

    def practice_outliers(self) -> pd.DataFrame:
        """The practices outside the 99.8% funnel limits (:func:`nhsbook.analysis.variation.outliers`
        of :meth:`practice_points`); on a practice's page, that practice's only."""
        out = variation.outliers(self.practice_points()[0])
        if self.area_type == "practice":
            out = out[out["Practice code"] == self.code]
        return out

    def outlier_summary(
        self, out: pd.DataFrame, by: tuple[str, ...] = ("Locality", "Practice")
    ) -> pd.DataFrame:
        """How many outliers of ``out`` (:meth:`practice_outliers`, or a locality pack's)
        each practice has, better and worse (:func:`nhsbook.analysis.variation.outlier_counts`)."""
        return variation.outlier_counts(out, by)

    def funnel_points(self) -> pd.DataFrame:
        """The points the funnel plots draw: all of :meth:`practice_points`; on a practice's
        page only the indicators on which the practice lies outside the 95% limits."""
        points = self.practice_points()[0]
        if self.area_type != "practice":
            return points
        mine = points[(points["area_code"] == self.code) & (points["funnel"] != "Not significant")][
            "indicator_id"
        ]
        return points[points["indicator_id"].isin(mine)]

    def suppressed_practice_values(self) -> int:
        """How many practice values of :meth:`practice_points` are suppressed for disclosure
        control (and left out of the funnel plots)."""
        points = self.practice_points()[0]
        return points.drop_duplicates("indicator_id")["n_suppressed"].sum()

    # locality pack

    def locality_pack(self) -> "LocalityPack":
        """The locality's Commissioning for Value pack (:func:`nhsbook.analysis.spot.locality_pack`)."""
        return spot.locality_pack(self.values, self.metadata, self.areas, self.code)

    def ccg_differences(self, pack: "LocalityPack") -> tuple[str, pd.DataFrame]:
        """The pack's "CCG against its comparator and England" section: its sentence
        (markdown, names escaped) and the indicators on which the CCG differs significantly
        from England, or, when the book has no England values, from its own comparator."""
        ccg_name = self.comparator_name
        col = [c for c in pack.rows.columns if c.startswith("CCG vs ") and c != "CCG vs England"][0]
        if pack.england:
            diff = pack.rows[pack.rows["CCG vs England"].isin(spot.WORSE + spot.BETTER)]
            text = f"{esc(ccg_name)} differs significantly from England on {len(diff)} indicators:"
            cols = [
                "Domain",
                "Indicator",
                "CCG value",
                "England value",
                "CCG vs England",
                "Locality vs CCG",
            ]
        else:
            diff = pack.rows[pack.rows[col].isin(spot.WORSE + spot.BETTER)]
            text = (
                "England values are not in this book's data, so the CCG is shown against "
                f"its own comparator, {esc(pack.ccg_comparator or 'none')}: "
                f"{esc(ccg_name)} differs significantly on {len(diff)} indicators. "
                "Where the locality is worse than a CCG that is itself worse than its "
                "comparator, the gap to the wider average is larger still."
            )
            cols = ["Domain", "Indicator", "CCG value", col, "Locality value", "Locality vs CCG"]
        return text, spot.pack_table(diff)[cols]

    # inequalities

    def deprivation_indicator(self) -> str | None:
        """The book's area deprivation indicator (:func:`nhsbook.analysis.views.deprivation_indicator`),
        None when it has none."""
        return views.deprivation_indicator(self.metadata)

    def inequality(self) -> tuple[str | None, pd.DataFrame | None, pd.DataFrame | None]:
        """(deprivation indicator, bars, summary) of the inequalities page
        (:func:`nhsbook.analysis.views.inequality_data` with the book's computed quintiles); bars and
        summary are None when the book has no deprivation indicator."""
        dep = self.deprivation_indicator()
        if dep is None:
            return None, None, None
        bars, summary = views.inequality_data(
            self.values, self.metadata, self.areas, self.code, dep, quintiles=self.quintiles
        )
        return dep, bars, summary

    def deprivation_markdown(self, dep: str) -> str:
        """The sentence naming the deprivation indicator ``dep`` and its period (escaped),
        with a note when the book's practices are synthetic."""
        meta = self.metadata.set_index("indicator_id")
        note = (
            " These are practice-level deprivation scores of **synthetic** practices, so "
            "the gradients illustrate the method only."
            if self.book.synthetic
            else ""
        )
        return (
            f"Deprivation: *{esc(meta.loc[dep, 'name'])}* ({esc(meta.loc[dep, 'period'])}) "
            "of each practice (registered population). Other pages may draw other "
            f"editions of the Index of Multiple Deprivation; each names its edition.{note}"
        )

    def quintile_members(self, dep: str) -> pd.DataFrame:
        """How many of the area's practices fall in each deprivation quintile of its
        comparison group (by indicator ``dep``), their registered population and score range
        (:func:`nhsbook.analysis.views.quintile_members`)."""
        _, group, own = views.peer_practices(self.areas, self.code)
        quint = views.practice_quintiles(self.values, self.areas, group, dep)
        return views.quintile_members(quint, own)

    def inequality_indices(self, summary: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(table, shown) of the slope and relative indices of inequality of ``summary``
        (:func:`nhsbook.analysis.views.inequality_indices`): the CSV's numbers and their text."""
        return views.inequality_indices(summary, self.metadata)

    def sex_age_table(self) -> pd.DataFrame:
        """The area's indicators given for more than one sex or age
        (:func:`nhsbook.analysis.views.sex_age_table`)."""
        return views.sex_age_table(self.values, self.metadata, self.code)

    def single_sex_indicators(self) -> pd.DataFrame:
        """The book's indicators defined for one sex only
        (:func:`nhsbook.analysis.views.single_sex_indicators`)."""
        return views.single_sex_indicators(self.metadata)

    # overview

    def rug_caption(self) -> str:
        """The sentence above the overview (:func:`nhsbook.analysis.views.rug_caption`); the area must
        have areas below it with values."""
        return views.rug_caption(self.areas, self.code, self.values)

    def rug(self, profile: str) -> pd.DataFrame:
        """The overview (tartan rug) data of one profile (:func:`nhsbook.analysis.views.rug_data`)."""
        return views.rug_data(self.values, self.metadata, self.areas, self.code, profile)

    def rugs(self) -> dict[str, pd.DataFrame]:
        """The overview of every profile (:meth:`rug`), in :meth:`profiles` order; ``{}`` when
        no areas lie below this one."""
        if self.children().empty:
            return {}
        return {p: self.rug(p) for p in self.profiles()}

    def compare_areas(self) -> pd.DataFrame:
        """The overview's compare-areas bars: the latest values of the areas
        :func:`nhsbook.analysis.views.compare_codes` names, this area highlighted
        (:func:`nhsbook.analysis.variation.compare_areas`)."""
        codes = views.compare_codes(self.areas, self.code)
        return variation.compare_areas(
            views.latest(self.values), self.metadata, self.areas, codes, highlight=self.code
        )

    def scatter_data(self) -> pd.DataFrame | None:
        """The compare-indicators scatter of the practices against the book's deprivation
        indicator (:func:`nhsbook.analysis.views.scatter_data`); None when the book has none."""
        dep = self.deprivation_indicator()
        return (
            views.scatter_data(self.values, self.metadata, self.areas, self.code, dep)
            if dep
            else None
        )

    def scatter_chart(self, data: pd.DataFrame) -> "alt.LayerChart":
        """The compare-indicators chart of :meth:`scatter_data`, its description ending with
        the correlation headline, said only when statistically supported, with its n and p
        (:func:`nhsbook.pages.messages.correlation_sentence`)."""
        x_name = str(data["x_indicator"].iloc[0]) if len(data) else ""
        return charts.scatter(
            data, headline=correlation_sentence(views.correlation_table(data), x_name)
        )

    def box_data(self) -> pd.DataFrame:
        """Each indicator's distribution across the comparison group's practices
        (:func:`nhsbook.analysis.views.box_data`)."""
        return views.box_data(self.values, self.metadata, self.areas, self.code)


#: Words of count-like field names (kept for tests that check a chart embeds no count-like
#: field at all); disclosure control finds count columns by their role in the data model
#: (:data:`nhsbook.core.model.COLUMN_ROLES`).
COUNT_COLUMNS = ("count", "number", "numerator", "observed", "events", "deaths", "patients")


def publish_csv(
    table: pd.DataFrame, area_code: str, name: str, book: str = "default", label: str | None = None
) -> "IPython.display.HTML":
    """Write ``table`` as ``data/<area_code>/<name>.csv`` of the site and return the link to
    show on the page (pages live at ``areas/<code>/<notebook>``, so the link is relative).

    Disclosure control: raises ``ValueError`` naming the cells if a count column holds a
    value from 1 to 4.  Tables must be built from published rows
    (:func:`nhsbook.analysis.disclosure.apply`, which every view of :mod:`nhsbook.analysis.views`,
    :mod:`nhsbook.analysis.variation` and :class:`AreaPage` uses): the pipeline's suppression
    (primary and secondary) is then already applied; this check is the last guard.
    """
    from IPython.display import HTML

    cfg = load_book(book)
    below = disclosure.rule(cfg.disclosure).suppress_below
    hits = disclosive_cells(table, below)
    if hits:
        shown = "; ".join(f"row {r}, column {c!r} = {v!r}" for r, c, v in hits[:5])
        raise ValueError(
            f"{name}.csv for {area_code}: counts from 1 to {below - 1} must be "
            f"suppressed before publishing ({len(hits)} cells: {shown})"
        )
    check_name(name, "CSV name")
    check_name(area_code, f"area code of {name}.csv")
    folder = cfg.book_dir / "_extra" / "data" / area_code
    folder.mkdir(parents=True, exist_ok=True)
    escape.csv_frame(table).to_csv(folder / f"{name}.csv", index=False)
    text = escape.html(label or f"Download {name.replace('_', ' ')} as CSV")
    return HTML(
        f'<p class="nhsbook-download"><a href="../../data/{escape.html(area_code)}/'
        f'{name}.csv" download>{text}</a></p>'
    )


def report_link(
    book: "BookConfig | str", area_code: str, area_type: str | None = None, to_root: str = "../../"
) -> str:
    """The line linking a page of an area to the area's PDF board report
    (:mod:`nhsbook.build.report`), as raw HTML in markdown; ``""`` when the area has none (the book
    says ``reports: false``, or the area is not of a type with pages).  ``area_type`` is
    looked up in the book's computed areas when not given."""
    cfg = load_book(book) if isinstance(book, str) else book
    if area_type is None:
        areas = load_computed(cfg)["areas"]
        hit = areas.loc[areas["area_code"] == area_code, "area_type"]
        area_type = str(hit.iloc[0]) if not hit.empty else ""
    if not has_report(cfg, area_type):
        return ""
    return (
        f'**Board report:** <a href="{escape.html(report_href(area_code, to_root))}">'
        "this area as an A4 PDF report</a> (key messages, where the evidence points, "
        "profile, population, practice variation and sources)."
    )


def key_messages_html(sentences: list[str]) -> str:
    """The "Key messages" box: an admonition (the theme's ``admonition`` styling) listing
    the sentences, each escaped as HTML; ``""`` when there is nothing to say."""
    if not sentences:
        return ""
    items = "".join(f"<li>{escape.html(s)}</li>" for s in sentences)
    return (
        '<div class="admonition note nhsbook-key-messages" role="note">'
        '<p class="admonition-title">Key messages</p>'
        f"<ul>{items}</ul></div>"
    )


def key_messages_box(
    area_code: str, page: str, book: str = "default", **computed
) -> "IPython.display.HTML":
    """The "Key messages" box of a page whose area is an organisation rather than an area of
    the hierarchy (finance, performance) or a place (maps):
    :func:`nhsbook.pages.messages.key_messages` for ``area_code`` in ``book``, given what the page
    has computed (``computed``, e.g. the maps page's ``lsoa_table``)."""
    from IPython.display import HTML

    tables = messages.load_tables(book, extras=messages.EXTRAS.get(page, ()))
    return HTML(key_messages_html(messages.key_messages(tables, area_code, page, **computed)))


def esc(text: object) -> str:
    """Text as literal MyST markdown, so that names can never inject markup (an alias of
    :func:`nhsbook.core.escape.markdown`; for HTML output use :func:`nhsbook.core.escape.html`)."""
    return escape.markdown(text)


def esc_code(text: object, table: bool = False) -> str:
    """Text as a literal inline code span, backticks included
    (:func:`nhsbook.core.escape.markdown_code`)."""
    return escape.markdown_code(text, table)
