"""What the performance notebook calls: one organisation's performance page, section by
section.

:class:`PerformancePage` reads the book's performance and finance tables once
(:func:`nhsbook.analysis.performance.load`, :func:`nhsbook.analysis.finance.load`: the organisations and their
names) and gives each section of ``notebooks/performance.ipynb`` as a
:class:`nhsbook.pages.finance.Section` (displayed in order when a notebook cell ends with it;
empty when the section has nothing to show).  The organisations a page reports on are derived
from the data (:func:`nhsbook.analysis.performance.page_organisations`): a cluster's page shows its
PCTs.  The analysis is :mod:`nhsbook.analysis.performance`; this module only arranges it into the page.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from IPython.display import HTML, Markdown

from nhsbook import charts
from nhsbook.analysis import finance, performance
from nhsbook.core import fmt
from nhsbook.pages.area import esc, esc_code, install_page_hooks, key_messages_box, publish_csv
from nhsbook.pages.finance import Section
from nhsbook.pages.tables import table

#: The RAG key the page opens with.
RAG_KEY = (
    "RAG: **Green** achieved or met, **Amber** under-achieved or narrowly missed, "
    "**Red** failed or missed, **Grey** not rated or no result; the rating is always "
    "written beside its colour."
)

VITAL_SIGNS_HEADINGS = {
    "tier": "Tier",
    "tier_name": "Tier name",
    "org_code": "PCT",
    "comparable": "Comparable",
    "improved": "Improved",
    "declined": "Declined",
    "unchanged": "Unchanged",
}
SOP_HEADINGS = {
    "table": "Table",
    "ref": "Ref",
    "measure": "Measure",
    "org_name": "PCT",
    "target": "Target",
    "operator": "Met when",
    "latest_result": "Latest result",
    "rag": "RAG",
}


def rag_table(frame: pd.DataFrame, columns: Sequence[str]) -> HTML:
    """A performance table (:func:`nhsbook.pages.tables.table`) whose ``columns`` hold ratings or
    RAG labels, coloured by RAG (the words stay in the cell)."""
    return table(frame, look="finance", thousands=False, colours=dict.fromkeys(columns, "rag"))


class PerformancePage:
    """The performance page of one organisation (``area_code``, a code of
    ``finance/organisations.csv``) of ``book``: the tables are read once, each section is a
    method returning a :class:`~nhsbook.pages.finance.Section`."""

    def __init__(self, area_code: str, book: str = "default") -> None:
        install_page_hooks()
        self.code, self.book = area_code, book
        self.fin = finance.load(book)
        self.perf = performance.load(book)
        self.org = self.fin.org(area_code)
        #: The organisations whose results the page shows (a cluster: its PCTs).
        self.organisations: list[str] = performance.page_organisations(
            self.fin.organisations, self.perf, area_code
        )
        #: Organisation code -> name.
        self.names: dict[str, str] = dict(
            zip(self.fin.organisations["org_code"], self.fin.organisations["org_name"])
        )
        #: Tables 7 and 8: the ratings of every organisation.
        self.rating_rows = self.perf["performance_ratings"]

    @property
    def name(self) -> str:
        """The organisation's name."""
        return str(self.org["org_name"])

    @property
    def covered(self) -> bool:
        """True when the performance tables rate the page's organisations."""
        return bool(set(self.organisations) & set(self.rating_rows["org_code"]))

    def _csv(self, table: pd.DataFrame, name: str, label: str):
        return publish_csv(table, self.code, name, self.book, label)

    def _mine(self, table: pd.DataFrame) -> pd.DataFrame:
        return table[table["org_code"].isin(self.organisations)]

    def _name(self, code: str) -> str:
        return self.names.get(code, code)

    def header(self) -> Section:
        """The page's opening (organisation and the RAG key), its key messages box and, for
        an organisation the tables do not cover, a sentence saying so."""
        org = self.org
        out = Section(
            [
                Markdown(
                    f'**Organisation:** {esc(org["org_name"])} ({esc_code(self.code)}, '
                    f'{esc(org["org_type"])}). ' + RAG_KEY
                ),
                key_messages_box(self.code, "performance", self.book),
            ]
        )
        if not self.covered:
            out.append(
                Markdown(
                    f'> The seed documents publish no performance results for '
                    f'{esc(org["org_name"])}: the performance tables are published for Derby City '
                    'PCT and Derbyshire County PCT.'
                )
            )
        return out

    def health_check(self) -> Section:
        """The Annual Health Check ratings and their CSV (nothing when not covered or none
        are published)."""
        hc = self.perf["performance_health_check"]
        if not self.covered or hc.empty:
            return Section()
        shown = hc.drop(columns=["org_code", "seed_file", "seed_line", "applies_to"]).rename(
            columns=lambda c: c.replace("_", " ").capitalize()
        )
        return Section(
            [
                rag_table(shown, []),
                self._csv(hc, "health_check", "Download the Health Check ratings as CSV"),
            ]
        )

    def ratings_wide(self, table: str) -> pd.DataFrame:
        """One of Tables 7 and 8 for the page's organisations
        (:func:`nhsbook.analysis.performance.ratings_table`), columns named ``<year> <organisation>``."""
        wide = performance.ratings_table(self.rating_rows, table, self.organisations)
        if wide.empty:
            return wide
        return wide.rename(
            columns=lambda c: (
                c if c == "indicator" else f"{c.split()[0]} {self._name(c.split()[1])}"
            )
        )

    def rating_counts(self) -> pd.DataFrame:
        """The ratings counted by table, year and PCT (PCT by name)."""
        counts = performance.rating_counts(self._mine(self.rating_rows))
        counts["org_code"] = counts["org_code"].map(self.names)
        return counts.rename(columns={"org_code": "PCT"})

    def ratings(self) -> Section:
        """Existing commitments and national priorities: each table with RAG and its CSV, then
        the ratings counted (when covered)."""
        r, out = self.rating_rows, Section()
        for key, title in performance.TABLE_NAMES.items():
            wide = self.ratings_wide(key)
            if wide.empty:
                continue
            out.append(Markdown(f"### {esc(title)}"))
            out.append(
                rag_table(
                    wide.rename(columns={"indicator": "Indicator"}),
                    [c for c in wide.columns if c != "indicator"],
                )
            )
            rows = self._mine(r[r["table"] == key])
            out.append(
                self._csv(
                    rows.assign(rag=lambda d: d["rating"].map(performance.RATING_RAG)),
                    f"ratings_{key}",
                    f"Download the {title.lower()} as CSV",
                )
            )
        if self.covered:
            out.append(
                Markdown(
                    "**Ratings counted** (achieved, under-achieved, failed, not "
                    "applicable, satisfactory):"
                )
            )
            out.append(rag_table(self.rating_counts(), []))
        return out

    def change(self) -> Section:
        """Year-on-year change by tier: the Vital Signs chart, table and CSV, and the same
        count computed from Tables 7 and 8 for 2007/08 to 2008/09 (nothing without Vital
        Signs counts)."""
        vs = self._mine(self.perf["performance_vital_signs"])
        if vs.empty:
            return Section()
        long = performance.tier_counts_long(
            vs.assign(tier_name="Tier " + vs["tier"].astype(str) + ": " + vs["tier_name"])
        )
        long["org_name"] = long["org_code"].map(self.names)
        out = Section(
            [
                charts.change_bars(
                    long,
                    title="Vital Signs: year-on-year change, 2009/10 to 2010/11",
                    description="Number of comparable indicators that improved, stayed the same or "
                    "declined between 2009/10 and 2010/11, by Vital Signs tier and PCT.",
                )
            ]
        )
        shown = vs[
            ["tier", "tier_name", "org_code", "comparable", "improved", "declined", "unchanged"]
        ].assign(org_code=lambda d: d["org_code"].map(self.names))
        out.append(rag_table(shown.rename(columns=VITAL_SIGNS_HEADINGS), []))
        out.append(self._csv(vs, "vital_signs", "Download the Vital Signs counts as CSV"))
        ch = performance.year_on_year(self._mine(self.rating_rows), "2007/08", "2008/09")
        cc = performance.change_counts(ch)
        cc["table"] = cc["table"].map(performance.TABLE_NAMES)
        cc["org_code"] = cc["org_code"].map(self.names)
        out.append(Markdown("**Computed from Tables 7 and 8, 2007/08 to 2008/09:**"))
        out.append(rag_table(cc.rename(columns={"table": "Tier", "org_code": "PCT"}), []))
        out.append(self._csv(ch, "ratings_change", "Download the rating changes as CSV"))
        return out

    def sop(self) -> pd.DataFrame:
        """The SOP targets of the page's organisations (:func:`nhsbook.analysis.performance.sop_table`)
        with each organisation's name in ``org_name``; empty when none are published."""
        frames = [
            performance.sop_table(self.perf, o).assign(org_name=self._name(o))
            for o in self.organisations
        ]
        frames = [f for f in frames if not f.empty]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def targets(self) -> Section:
        """Targets for 2011/12: the SOP targets with their latest result and RAG (one sentence
        when no result is published), their CSV and, where monthly results exist, each count
        target against its cumulative trajectory."""
        sop = self.sop()
        if sop.empty:
            return Section(
                [Markdown(f'> No SOP targets are published for {esc(self.org["org_name"])}.')]
            )
        shown = sop[list(SOP_HEADINGS)].rename(columns=SOP_HEADINGS)
        out = Section()
        if sop["latest_result"].isna().all():  # a table of "no result" rows says nothing
            out.append(
                Markdown(
                    f"No 2011/12 results are published for these {len(sop)} "
                    "targets; their targets are in the download."
                )
            )
        else:
            shown["Latest result"] = shown["Latest result"].map(
                lambda v: "no result published" if v != v else fmt.rate(v)
            )
            out.append(rag_table(shown, ["RAG"]))
        out.append(
            self._csv(
                sop.drop(columns=["seed_file"]), "sop_targets", "Download the SOP targets as CSV"
            )
        )
        actuals = self.perf.actuals
        if actuals is None:
            return out
        for (o, ref, measure), g in self._mine(actuals).groupby(["org_code", "ref", "measure"]):
            t = sop[(sop["org_code"] == o) & (sop["ref"] == ref) & (sop["measure"] == measure)]
            if t.empty or t["unit"].iloc[0] != "":
                continue
            traj = performance.against_trajectory(
                g, float(t["target_value"].iloc[0]), t["polarity"].iloc[0]
            )
            out.append(
                Markdown(
                    f"**{esc(ref)} {esc(measure)}, {esc(self._name(o))}** against "
                    "its cumulative trajectory:"
                )
            )
            out.append(rag_table(traj, ["rag"]))
        return out
