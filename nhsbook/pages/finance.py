"""What the finance notebook calls: one organisation's finance page, section by section.

:class:`FinancePage` reads the book's finance tables once (:func:`nhsbook.analysis.finance.load`) and
gives each section of ``notebooks/finance.ipynb`` as a :class:`Section`: the list of what the
section shows (markdown, styled tables, CSV links, charts), displayed in order when a notebook
cell ends with it.  A section the seed publishes nothing for is an empty :class:`Section`, and
its name is kept in :attr:`FinancePage.missing` for the closing note (:meth:`missing_note`).
The analysis itself is :mod:`nhsbook.analysis.finance` (and :mod:`nhsbook.charts`); this module only
arranges it into the page.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from IPython.display import HTML, Markdown, display

from nhsbook import charts
from nhsbook.analysis import finance
from nhsbook.core import fmt
from nhsbook.pages.area import esc, install_page_hooks, key_messages_box, publish_csv, report_link
from nhsbook.pages.tables import table


class Section(list):
    """What one section of a page shows, in order; empty when the section is left out.

    A notebook cell ending with a section displays each item as its own output (IPython calls
    :meth:`_ipython_display_`), exactly as a ``display(...)`` call per item would."""

    def _ipython_display_(self) -> None:
        for item in self:
            display(item)


def money_table(frame: pd.DataFrame, pct: Sequence[str] = (), plain: Sequence[str] = ()) -> HTML:
    """A finance table (:func:`nhsbook.pages.tables.table`): every numeric column is money in
    £'000 (:func:`nhsbook.core.fmt.thousands`) headed with its unit (``Budget (£'000)``,
    :func:`nhsbook.core.fmt.header`; a column already naming £ keeps its name), except the
    percentages ``pct`` (to the 2 decimals the seed prints) and the ``plain`` whole numbers
    (list sizes), which have no unit."""
    money = [
        c
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c]) and c not in pct and c not in plain
    ]
    headed = {c: fmt.header(str(c), finance.MONEY_UNIT) for c in money if "£" not in str(c)}
    return table(
        frame.rename(columns=headed),
        look="finance",
        formats={
            **{headed.get(c, c): "money" for c in money},
            **dict.fromkeys(pct, 2),
            **dict.fromkeys(plain, "count"),
        },
    )


#: The introduction of each section, shown above its first table.
POSITION_INTRO = (
    "## Financial position and forecast\n\nThe position at the end of the latest month "
    "reported, as the seed prints it, with the forecast outturn (annual budget − forecast "
    "variance). Corrections made in transcription and differences the seed leaves unresolved "
    "are listed under the table."
)
FORECAST_INTRO = (
    "### Forecast from month N\n\nThree ways to extrapolate the spend to date to the year end: "
    "the **run rate** (spend to date × 12 / month), the **profile** (spend to date × annual "
    "budget / budget to date) and **budget for the rest** (spend to date + the budget not yet "
    "profiled). The organisation's own forecast is shown beside them; it includes the finance "
    "team's knowledge of the months ahead, which no extrapolation has."
)
ALLOCATION_INTRO = (
    "## Allocation and growth 2012-13\n\nPCT allocations for 2012-13 rose by 2.8% plus "
    "re-ablement monies (Table 12); the CCGs' indicative baselines take growth by historic "
    "share (Table 13)."
)
PLAN_INTRO = (
    "## Draft financial plan 2012-13: from growth to the QIPP requirement\n\nTable 14 starts "
    "from the additional growth, takes off each commitment, and shows the QIPP (savings) "
    "requirement that, with the growth, leaves the balance after QIPP. The waterfall rebuilds "
    "the bridge from its parts: `QIPP requirement = balance − (growth + commitments)`."
)
QIPP_INTRO = (
    "## QIPP delivery 2011-12\n\nDerbyshire County PCT's QIPP by scheme and consortium (the "
    "only QIPP table the seed publishes, printed in £m and shown here in £'000). *Delivered* "
    "is the contracted and transacted saving (already achieved); the rest was contracted and "
    "still needed delivering. RAG compares delivered with planned: **Green** fully delivered, "
    "**Amber** at least half, **Red** under half, **Grey** nothing planned for this "
    "organisation. The PCT expected every scheme to deliver by the year end."
)
PRACTICE_INTRO = (
    "## Practice indicative budgets\n\nWhere a commissioning group devolves its budget to "
    "practices (DacCom, Dacorum, 2007/08), each practice's indicative budget is its share by "
    "weighted capitation, `budget = total × list size × need weight / Σ(list size × need "
    "weight)`; spend to date by category is compared with the budget to date (a flat monthly "
    "profile), the year end is forecast by the run rate, and a forecast underspend is the "
    "resource a practice frees for reinvestment."
)

#: Column headings of the practice tables.
CATEGORY_HEADINGS = {
    "category": "Category",
    "annual_budget": "Budget",
    "budget_to_date": "Budget to date",
    "actual_to_date": "Spend to date",
    "variance_to_date": "Variance to date",
    "forecast_outturn": "Forecast outturn (run rate)",
    "forecast_variance": "Forecast variance (run rate)",
    "published": "Published variance to date",
}
PRACTICE_HEADINGS = {
    "practice_code": "Practice",
    "practice_name": "Name",
    "list_size": "List size",
    "annual_budget": "Budget",
    "budget_to_date": "Budget to date",
    "actual_to_date": "Spend to date",
    "variance_to_date": "Variance to date",
    "forecast_outturn": "Forecast outturn",
    "forecast_variance": "Forecast variance",
    "freed_up": "Freed-up resources",
    "budget_per_head_pounds": "Budget per head (£)",
}
QIPP_HEADINGS = {
    "scheme": "Scheme",
    "planned": "Planned",
    "delivered": "Delivered",
    "outstanding": "Still to deliver",
    "delivery_pct": "Delivered %",
    "rag": "RAG",
}


class FinancePage:
    """The finance page of one organisation (``area_code``, a code of
    ``finance/organisations.csv``) of ``book``: its tables are read once, each section is a
    method returning a :class:`Section`, called in the page's order."""

    def __init__(self, area_code: str, book: str = "default") -> None:
        install_page_hooks()
        self.code, self.book = area_code, book
        self.fin = finance.load(book)
        self.org = self.fin.org(area_code)
        #: The organisation's latest financial position (empty when none is published).
        self.pos = finance.position(self.fin, area_code)
        #: Sections left out because the seed publishes nothing for them, in page order.
        self.missing: list[str] = []

    @property
    def name(self) -> str:
        """The organisation's name."""
        return str(self.org["org_name"])

    @property
    def has_position(self) -> bool:
        """True when a financial position is published for the organisation."""
        return not self.pos.empty

    def _none(self, what: str) -> Section:
        self.missing.append(what)
        return Section()

    def _csv(self, table: pd.DataFrame, name: str, label: str):
        return publish_csv(table, self.code, name, self.book, label)

    def header(self) -> Section:
        """The page's opening (:func:`nhsbook.analysis.finance.header_markdown`) and its key messages
        box."""
        return Section(
            [
                Markdown(finance.header_markdown(self.fin, self.code)),
                key_messages_box(self.code, "finance", self.book),
            ]
        )

    def report_link(self) -> Section:
        """The line linking to the organisation's board report (blank markdown when it has
        none)."""
        return Section([Markdown(report_link(self.book, self.code))])

    # --- financial position ---------------------------------------------------------------

    @property
    def month(self) -> int:
        """The month of the published position."""
        return int(self.pos["month"].iloc[0])

    def position(self) -> Section:
        """Financial position and forecast: the position table as printed, its CSV and the
        notes on corrections and unresolved seed differences; left out (and listed as
        missing) when no position is published."""
        pos = self.pos
        if pos.empty:
            return self._none("financial position")
        out = Section([Markdown(POSITION_INTRO)])
        as_at = pos["as_at"].iloc[0]
        out.append(
            Markdown(
                f'**Position at {esc(as_at)}** (month {self.month} of '
                f'{esc(pos["period"].iloc[0])}), {finance.MONEY_UNIT}.'
            )
        )
        out.append(money_table(finance.position_display(pos)))
        out.append(
            self._csv(
                pos.drop(columns=["parent_id"]),
                "financial_position",
                "Download the financial position as CSV",
            )
        )
        notes = finance.corrections(self.fin, self.code)
        for _, n in notes.iterrows():
            out.append(
                Markdown(
                    f'> **{esc(n["table"])}, {esc(n["line"])}, '
                    f'{esc(n["column"])}:** {esc(n["note"])}'
                )
            )
        return out

    def position_charts(self) -> Section:
        """The variance by line and the budget-to-forecast waterfall (none without a
        position)."""
        if self.pos.empty:
            return Section()
        org_name = self.org["org_name"]
        return Section(
            [
                charts.variance_bars(
                    finance.variance_long(self.pos),
                    title="Variance by line",
                    description=f"Variance (budget minus spend) of each budget line of {org_name}, "
                    f"to month {self.month} and forecast for the year end, in "
                    "thousands of pounds; bars to the left are overspends.",
                ),
                charts.waterfall(
                    finance.budget_to_forecast_steps(self.pos),
                    title="From annual budget to forecast outturn",
                    description=f"Waterfall from the total revenue budget of {org_name} to its "
                    "forecast outturn: each line adds its forecast overspend (or "
                    "removes its underspend), in thousands of pounds.",
                ),
            ]
        )

    def forecast_methods(self) -> pd.DataFrame:
        """Total revenue forecast outturn and variance by each method of
        :data:`nhsbook.analysis.finance.FORECAST_METHODS`, and as reported by the organisation."""
        total = self._total()
        rows = []
        for method in finance.FORECAST_METHODS:
            t = finance.forecast_table(self.pos, method)
            t = t[t["row_id"] == "total_revenue"].iloc[0]
            rows.append(
                {
                    "Method": method.replace("_", " "),
                    "Forecast outturn": t["method_outturn"],
                    "Forecast variance": t["method_variance"],
                }
            )
        rows.append(
            {
                "Method": "reported by the organisation",
                "Forecast outturn": total["annual_budget"] - total["forecast_variance"],
                "Forecast variance": total["forecast_variance"],
            }
        )
        return pd.DataFrame(rows)

    def _total(self) -> pd.Series:
        return self.pos[self.pos["row_id"] == "total_revenue"].iloc[0]

    def forecast(self) -> Section:
        """Forecast from month N: the extrapolation methods beside the organisation's own
        forecast, the forecasts by line as CSV and the cumulative spend chart (none without a
        position)."""
        if self.pos.empty:
            return Section()
        pos, month, total = self.pos, self.month, self._total()
        out = Section(
            [
                Markdown(FORECAST_INTRO),
                Markdown(f"Total revenue expenditure, from month {month}:"),
                money_table(self.forecast_methods()),
            ]
        )
        out.append(
            self._csv(
                pd.concat(
                    [
                        finance.forecast_table(pos, m).assign(method=m)
                        for m in finance.FORECAST_METHODS
                    ]
                ),
                "forecasts",
                "Download the forecasts by line as CSV",
            )
        )
        reported = total["annual_budget"] - total["forecast_variance"]
        out.append(
            charts.spend_trajectory(
                finance.trajectory(
                    total["annual_budget"],
                    total["budget_to_date"],
                    total["expenditure_to_date"],
                    month,
                    reported,
                ),
                title="Cumulative spend against budget",
                description=f"Cumulative total revenue budget and spend of {self.org['org_name']} "
                "by month: the budget line joins the published budget to date at "
                f"month {month} and the annual budget; the run-rate forecast continues "
                "the spend to date to the year end; the reported forecast outturn is "
                "the organisation's own.",
            )
        )
        return out

    # --- allocation and growth --------------------------------------------------------------

    def allocation(self) -> Section:
        """Allocation and growth: the section's introduction (when the organisation has
        Table 12 or Table 13) and Table 12, the PCT baseline uplift, rebuilt at 2.80%; the
        uplift is listed as missing when Table 12 does not cover the organisation."""
        fin = self.fin
        up = finance.uplift_for(fin, self.code)
        out = Section()
        if not up.empty or not finance.ccg_baselines_for(fin, self.code).empty:
            out.append(Markdown(ALLOCATION_INTRO))
        if up.empty:
            self._none("PCT baseline uplift (Table 12)")
            return out
        out.append(money_table(up, pct=["Increase %"] if "Increase %" in up.columns else ()))
        out.append(self._csv(up, "baseline_uplift", "Download the baseline uplift as CSV"))
        t = fin["finance_uplift"]
        check = finance.allocation_uplift(
            t[t["row_id"] == "baseline"][["city", "county"]].iloc[0].astype(float), 2.8
        )
        out.append(
            Markdown(
                f'Rebuilt at 2.80%, the uplift gives City '
                f'**{fmt.pounds_k(check["city"])}** and County '
                f'**{fmt.pounds_k(check["county"])}**, as printed.'
            )
        )
        return out

    def share_differences(self) -> list[tuple[str, int, int]]:
        """CCGs whose growth by historic share (largest remainder) differs from the printed
        growth of Table 13: ``(CCG, by share, printed)``."""
        t = self.fin["finance_ccg_baselines"]
        ccgs = t[t["parent_id"] == "total"].dropna(subset=["baseline"])
        share = finance.share_uplift(
            ccgs.set_index("line")["baseline"], t.loc[t["row_id"] == "total", "growth"].iloc[0]
        )
        return [
            (name, int(share[name]), int(g))
            for name, g in zip(ccgs["line"], ccgs["growth"])
            if int(share[name]) != int(g)
        ]

    def ccg_baselines(self) -> Section:
        """Table 13, the CCG indicative baselines (all for the cluster, the CCG's row for a
        CCG), with the rounding differences of growth by historic share; left out (and listed
        as missing) otherwise."""
        cb = finance.ccg_baselines_for(self.fin, self.code)
        if cb.empty:
            return self._none("CCG indicative baseline (Table 13)")
        out = Section(
            [money_table(cb), self._csv(cb, "ccg_baselines", "Download the CCG baselines as CSV")]
        )
        diff = self.share_differences()
        if diff:
            out.append(
                Markdown(
                    "Growth by historic share (largest remainder) differs from the printed growth "
                    "by rounding: "
                    + "; ".join(
                        f"{esc(n)} {fmt.pounds_k(a)} against {fmt.pounds_k(b)} printed"
                        for n, a, b in diff
                    )
                    + " (the seed rounds so that the CCGs add up to £43,569k)."
                )
            )
        return out

    # --- plan and QIPP ------------------------------------------------------------------------

    def plan(self) -> Section:
        """The draft financial plan (Table 14), the QIPP requirement rebuilt from its parts and
        the plan bridge; left out (and listed as missing) for organisations it does not
        cover."""
        plan, col = finance.plan_for(self.fin, self.code)
        if plan.empty:
            return self._none("draft financial plan (Table 14)")
        out = Section(
            [
                Markdown(PLAN_INTRO),
                money_table(plan),
                self._csv(plan, "financial_plan", "Download the draft financial plan as CSV"),
            ]
        )
        t = self.fin["finance_plan"]
        qipp = finance.qipp_requirement(t, col)
        printed = float(t.loc[t["kind"] == "qipp", col].iloc[0])
        out.append(
            Markdown(
                f"QIPP requirement rebuilt from the parts: "
                f"**{fmt.pounds_k(qipp)}**; printed: {fmt.pounds_k(printed)}."
            )
        )
        out.append(
            charts.waterfall(
                finance.plan_bridge(t, col),
                increase_is_good=True,
                title="Plan bridge 2012-13: growth to QIPP requirement",
                description=f"Waterfall of the draft financial plan 2012-13 ({col}): additional "
                "growth, each commitment, the QIPP requirement of "
                f"{finance.money(qipp)} thousand pounds and the balance after QIPP.",
            )
        )
        return out

    def qipp_tracking(self) -> pd.DataFrame:
        """QIPP planned, delivered and still to deliver by scheme, with RAG
        (:func:`nhsbook.analysis.finance.qipp_tracking`); empty for organisations without QIPP."""
        q, col = finance.qipp_for(self.fin, self.code)
        return pd.DataFrame() if q.empty else finance.qipp_tracking(q, col)

    def qipp(self) -> Section:
        """QIPP delivery by scheme with RAG, the totals and the CSV; left out (and listed as
        missing) for organisations the County QIPP table does not cover."""
        track = self.qipp_tracking()
        if track.empty:
            return self._none("QIPP scheme table")
        shown = track.rename(columns=QIPP_HEADINGS)
        schemes = table(
            shown,
            look="finance",
            thousands=False,
            colours={"RAG": "rag"},
            formats={
                "Planned": "money",
                "Delivered": "money",
                "Still to deliver": "money",
                "Delivered %": 0,
            },
        )
        tot = track[["planned", "delivered"]].sum()
        return Section(
            [
                Markdown(QIPP_INTRO),
                schemes,
                Markdown(
                    f'Total planned **{fmt.pounds_k(tot["planned"])}**, delivered '
                    f'**{fmt.pounds_k(tot["delivered"])}** '
                    f'({fmt.percent(100 * tot["delivered"] / tot["planned"])}).'
                ),
                self._csv(track, "qipp_tracking", "Download QIPP tracking as CSV"),
            ]
        )

    # --- practice budgets -----------------------------------------------------------------------

    def practice_categories(self, pp: pd.DataFrame) -> pd.DataFrame:
        """The practices' position summed by category, with the group's own published
        variance to date, under the page's headings."""
        pub = self._published()
        by_cat = (
            pp.groupby("category", sort=False)[
                [
                    "annual_budget",
                    "budget_to_date",
                    "actual_to_date",
                    "variance_to_date",
                    "forecast_outturn",
                    "forecast_variance",
                ]
            ]
            .sum()
            .reset_index()
        )
        published = pub[pub["measure"] == "variance_to_date"].set_index("category")["value"]
        by_cat["published"] = [published.get(c) for c in by_cat["category"]]
        by_cat["category"] = by_cat["category"].map(finance.CATEGORY_NAMES)
        return by_cat.rename(columns=CATEGORY_HEADINGS)

    def _published(self) -> pd.DataFrame:
        pub = self.fin["finance_pbc_published"]
        return pub[pub["org_code"] == self.code]

    def practices(self) -> Section:
        """Practice indicative budgets (synthetic practices): by category against the
        published variances, the group's own forecast against the run rate, each practice's
        budget and forecast, the CSVs, the effect of need weighting and the chart; left out
        (and listed as missing) for organisations without practices."""
        fin, code = self.fin, self.code
        pp = finance.practice_position(fin, code)
        if pp.empty:
            return self._none("practice budget")
        summary = finance.practice_summary(pp)
        month = int(pp["month"].iloc[0])
        pub = self._published()
        by_cat = self.practice_categories(pp)
        out = Section(
            [
                Markdown(PRACTICE_INTRO),
                Markdown(
                    f"**By category, month {month}** (synthetic practices summed; the "
                    "published variances to date are DacCom's own):"
                ),
                money_table(by_cat),
            ]
        )
        fv = pub[(pub["measure"] == "forecast_variance") & (pub["category"] == "all")]["value"]
        if not fv.empty:
            acute = pub[(pub["measure"] == "forecast_variance") & (pub["category"] == "acute")][
                "value"
            ].iloc[0]
            out.append(
                Markdown(
                    f"DacCom's own year-end forecast was a variance of "
                    f"**{fmt.pounds_k(fv.iloc[0])}** (acute {fmt.pounds_k(acute)}); the run rate "
                    f"from month {month} gives "
                    f"{fmt.pounds_k(by_cat['Forecast variance (run rate)'].sum())}, because the "
                    "acute overspend was growing faster than its average so far."
                )
            )
        shown = summary.rename(columns=PRACTICE_HEADINGS)
        out.append(money_table(shown, plain=["List size"]))
        out.append(
            self._csv(
                summary, "practice_budgets", "Download the practice budgets (synthetic) as CSV"
            )
        )
        out.append(
            self._csv(
                pp,
                "practice_budgets_by_category",
                "Download the practice budgets by category (synthetic) as CSV",
            )
        )
        plain = finance.practice_budgets(
            finance.practice_rows(fin, code), summary["annual_budget"].sum(), weighted=False
        )
        moved = abs(summary["annual_budget"].to_numpy() - plain.to_numpy()).max()
        out.append(
            Markdown(
                f"Need weighting moves budgets by up to **{fmt.pounds_k(moved)}** "
                "a practice compared with plain per-capita shares."
            )
        )
        out.append(
            charts.practice_budget_forecast(
                summary,
                title="Practice budget and forecast outturn (synthetic practices)",
                description=f"Annual indicative budget (bar) and run-rate forecast outturn from "
                f"month {month} (tick) of each synthetic practice, in thousands of "
                "pounds; red ticks are forecast overspends.",
            )
        )
        return out

    def missing_note(self) -> Section:
        """The closing sentence listing the sections left out (nothing when none was)."""
        if not self.missing:
            return Section()
        return Section(
            [
                Markdown(
                    f'The seed documents publish no {", ".join(self.missing)} '
                    f'for {esc(self.org["org_name"])}, so this page has no '
                    "section for them."
                )
            ]
        )
