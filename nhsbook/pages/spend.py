"""What the spend-and-outcome notebook calls (``notebooks/gp_spend.ipynb``): one sub-ICB
location's or ICB's SPOT page of general practice against its similar 10.

:class:`SpendPage` reads the book's computed tables once (:func:`nhsbook.pipeline.store.load_computed`:
``gp_spend``, ``peers``, ``areas``) and gives each part of the page: the key messages and the
header, the scatter of each outcome, the table of the 11 areas, the method, the CSV download
and the sources.  The figures are :mod:`nhsbook.analysis.gp_spend`'s (computed once by the pipeline);
this module only arranges them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from IPython.display import HTML, Markdown

from nhsbook import charts
from nhsbook.analysis import gp_spend
from nhsbook.config.book import load_book
from nhsbook.core import fmt
from nhsbook.pages.area import (
    AreaPage,
    esc,
    esc_code,
    install_page_hooks,
    key_messages_html,
    publish_csv,
)
from nhsbook.pages.finance import Section
from nhsbook.pages.tables import table
from nhsbook.pipeline.store import load_computed

INTRO = (
    "Spend on general practice and an outcome it can influence, for this area and the ten "
    "areas of England most like it (its *similar 10*), in the manner of the Spend and "
    "Outcome Tool (SPOT): each measure as a z-score against the group, the outcome turned so "
    "that **up is better**. High spend with a worse outcome is where commissioners look first; "
    "a z-score beyond ±2 says *investigate*, beyond ±1 *worth exploring*. Neither axis says "
    "why: list size, deprivation beyond what the weights capture, dispensing and premises "
    "all move payments."
)


class SpendPage:
    """The spend-and-outcome page of ``area_code`` (a sub-ICB location or ICB) in ``book``."""

    def __init__(self, area_code: str, book: str = "default") -> None:
        install_page_hooks()
        self.code, self.book = area_code, book
        self.cfg = load_book(book)
        computed = load_computed(self.cfg)
        self.area_page = AreaPage.from_tables(self.cfg, computed, area_code)
        self.table: pd.DataFrame = computed["gp_spend"]
        self.peers: pd.DataFrame = computed["peers"]
        self.rows = gp_spend.area_rows(self.table, area_code)

    @property
    def name(self) -> str:
        return self.area_page.name

    @property
    def has_data(self) -> bool:
        """True when the book computed the area's spend and outcomes (current-data books)."""
        return not self.rows.empty

    @property
    def family(self) -> str:
        return str(self.rows["family"].iloc[0]) if self.has_data else ""

    # --- the opening ------------------------------------------------------------------------

    def key_messages(self) -> list[str]:
        """The sentences of the key messages box (plain text)."""
        return gp_spend.key_messages(self.table, self.code, self.name)

    def header(self) -> Section:
        """The key messages box first, then the introduction and the page header (area,
        vintage); a book without the data says so instead."""
        if not self.has_data:
            return Section(
                [
                    Markdown(
                        f"{esc(self.name)} has no spend-and-outcome comparison in this book: it is "
                        "computed for sub-ICB locations and ICBs of the current open-data books, from "
                        "NHS England's payments to general practice."
                    )
                ]
            )
        head = self.area_page.header_markdown(
            periods=False,
            comparator=(
                f"its similar 10 (the ten most similar {gp_spend.LABELS[self.family][1]} of "
                "England; the z-scores are against the eleven)"
            ),
            datasets=[
                f"NHS Payments to General Practice {gp_spend.SPEND_YEAR}",
                *(f"{o.source}" for o in gp_spend.OUTCOMES),
                "similar 10 of the Similar areas page",
            ],
        )
        return Section(
            [HTML(key_messages_html(self.key_messages())), Markdown(INTRO), Markdown(head)]
        )

    # --- each outcome -----------------------------------------------------------------------

    @property
    def outcomes(self) -> list[gp_spend.Outcome]:
        return list(gp_spend.OUTCOMES) if self.has_data else []

    def group(self, indicator_id: str = gp_spend.HEADLINE) -> pd.DataFrame:
        return gp_spend.group_table(self.table, self.peers, self.code, indicator_id)

    def outcome_section(self, outcome: gp_spend.Outcome) -> Section:
        """One outcome: its heading and sentence, the scatter and the table of the 11 areas."""
        group = self.group(outcome.indicator_id)
        own = group.iloc[0]
        plural = gp_spend.LABELS[self.family][1]
        words = (
            f"## {esc(outcome.name)}, {esc(outcome.period)}\n\n"
            f"Across: spend per weighted patient, {gp_spend.SPEND_YEAR}. Up: "
            f"{esc(outcome.short)} ({esc(outcome.unit)}, {esc(outcome.period)}); low is "
            "good, so the axis runs from the highest value at the bottom to the lowest at "
            f"the top: **up is better**. {esc(self.name)} is the black diamond; its "
            f"similar 10 {esc(plural)} are numbered by similarity (1 = most similar)."
        )
        if bool(own["suppressed"]) or not np.isfinite(own["value"]):
            return Section(
                [
                    Markdown(
                        words + "\n\nThe outcome is not published for this area "
                        "(disclosure control)."
                    )
                ]
            )
        data = gp_spend.chart_data(group)
        chart = charts.spend_outcome_scatter(
            data,
            area_name=self.name,
            spend_title="Spend per weighted patient, 2022-23 (£)\nright = higher spend",
            outcome_title=f"{outcome.short} ({outcome.unit})\nup = better (lower)",
            low_is_good=own["polarity"] == "low_is_good",
        )
        return Section([Markdown(words), chart, self.outcome_table(group, outcome)])

    def outcome_table(self, group: pd.DataFrame, outcome: gp_spend.Outcome) -> HTML:
        """The 11 areas as the page's table (:func:`nhsbook.pages.tables.table`): £ to 2 decimals,
        the outcome and its limits to 1, z-scores to 2 with their sign, practices whole."""
        shown = gp_spend.display_table(group, outcome.unit)
        formats: dict = {c: 2 for c in shown.columns if c.endswith("(£)")}
        formats.update({c: 1 for c in shown.columns if c.startswith("Value") or "95% CI" in c})
        formats.update(
            {"Spend z": "{:+.2f}", "Outcome z (up = better)": "{:+.2f}", "Practices": "count"}
        )
        return table(shown, formats=formats)

    # --- method, download, sources ----------------------------------------------------------

    def method_markdown(self) -> str:
        """How the figures are made, with this area's practices left out."""
        own = self.rows.iloc[0]
        dropped, paid = int(own["dropped_practices"]), float(own["dropped_payments"])
        share = own["england_dropped_payments"] / own["england_payments"]
        per_area = (
            f"For {esc(self.name)}, {dropped} practice(s) paid in 2022-23 under its "
            f"sub-ICB code(s) have no July 2026 code (payments "
            f"{fmt.pounds_m(paid, 1) if paid else '£0'}) and are left out."
            if dropped
            else f"Every practice paid under {esc(self.name)}'s 2022-23 "
            "sub-ICB code(s) is in the July 2026 map."
        )
        return "\n".join(
            [
                "## Method",
                "",
                f"**Spend.** NHS England, *NHS Payments to General Practice, England "
                f"{gp_spend.SPEND_YEAR}*: the line *{gp_spend.PAYMENT_LINE}*, the numerator of "
                "NHS England's own average payments per registered and per weighted patient "
                "(gross: the deductions for pensions, levies and prescription charge income are "
                "not netted; the covid and PCN lines are not included). Summed over the practices "
                "the July 2026 GP registrations map places in the area and divided by the sum of "
                "their weighted (Carr-Hill) or registered patients (last known figures of the "
                "year). The chart uses spend per weighted patient.",
                "",
                f"**Practices left out.** Of the {fmt.count(own['england_practices'])} practices "
                f"in the payments file, {fmt.count(own['england_dropped_practices'])} have no "
                f"code in the July 2026 map (closed or merged since; "
                f"{fmt.pounds_m(own['england_dropped_payments'], 1)}, "
                f"{fmt.percent(100 * share, 1)} of England's "
                f"{fmt.pounds_m(own['england_payments'], 1)}; "
                f"{fmt.count(own['england_dropped_zero_list'])} of them had no patients at the "
                "year's end): their payments and lists are left out, as the book leaves closed "
                "practices out everywhere. "
                f"{per_area} Practices are placed where the July 2026 map has them, so "
                "NHS Frimley's former D4U1Y (E38000252) is counted in its successors (Thames "
                "Valley's U2G6B, E38000268, and neighbours) and ICBs are the 36 of July 2026.",
                "",
                "**Outcomes.** A&E attendances of children aged 0–4 (Fingertips 93930) per 1,000 "
                "registered children aged 0–4, **2021/22**: the export has practice rows for "
                "2021/22 only (its 2022/23 figures are England's alone), so the outcome is a year "
                "before the spend. Σ practice attendances / Σ practice denominators × 1,000, with "
                "Byar's 95% confidence limits (the method that reproduces the export's England "
                "limits; attendances can exceed children, so it is a rate). Low is good: the "
                "export calls practices below England's value *Better* and above it *Worse*. "
                "Smoking prevalence (QOF, Fingertips 91547), **2022/23**, the year of the spend: "
                "Σ smokers / Σ patients aged 15+ × 100, Wilson limits, low is good.",
                "",
                "**z-scores.** z = (x − mean) / SD over the group of **the area and its similar "
                "10** (11 areas; SD the sample standard deviation, n − 1), as SPOT computes them "
                "against its peer group; the outcome z is turned (−z, low is good) so that up is "
                "better. Quadrant: spend z ≥ 0 higher spend, outcome z ≥ 0 better outcome. "
                "Beyond ±2: investigate; ±1 to ±2: worth exploring. The similar 10 are the areas "
                "nearest by deprivation, age structure, rurality and size (Similar areas page).",
                "",
                "**Disclosure.** Only whole sub-ICB locations and ICBs are shown; no practice "
                "figure is published, and the book's rule (counts 1–4 suppressed) is applied to "
                "every outcome count.",
            ]
        )

    def csv(self) -> HTML:
        """The download: both outcomes' 11-area tables with payments, lists, counts and
        z-scores."""
        return publish_csv(
            gp_spend.csv_table(self.table, self.peers, self.code),
            self.code,
            "gp_spend",
            self.book,
            label="Download the spend, outcomes and z-scores of the 11 areas as CSV",
        )

    def sources_markdown(self) -> str:
        return "\n".join(
            [
                "## Sources",
                "",
                f"- NHS England, *NHS Payments to General Practice, England "
                f"{gp_spend.SPEND_YEAR}* (registry key `nhs_payments_gp_2022_23`).",
                "- OHID Fingertips 93930, *A&E attendances (0 to 4 years)*, GP practices "
                "(`fingertips_93930_ae_0_4_gp_pcn`).",
                "- OHID Fingertips 91547, *Smoking prevalence in adults (15+), current smokers "
                "(QOF)* (`fingertips_91547_smoking_qof`).",
                "- NHS England, *Patients Registered at a GP Practice*, July 2026 practice map "
                "(`gp_reg_practice_map_jul2026`); the similar 10 from the Similar areas page.",
                "",
                "Contains public sector information licensed under the Open Government Licence "
                "v3.0. See the Data sources chapter.",
                "",
                f"Area code: {esc_code(self.code)}.",
            ]
        )
