"""PDF board reports: an A4 report per area, typeset with typst and built with the site.

Commissioners take their evidence to boards as papers.  Every area of the hierarchy that has
pages in a book (the book's ``pages`` by area type) gets ``reports/<area code>.pdf`` in the
published site, linked from every page of the area and from the landing page.

What a report shows (in this order; a book's ``reports: sections`` picks among them)
    ``messages``    title, area, comparator, period, publication date and the key messages
                    (:func:`nhsbook.pages.messages.key_messages` of the profile);
    ``evidence``    where the evidence points (:mod:`nhsbook.pipeline.priorities`, computed once in
                    the pipeline), each item with its figures and a link to its page;
    ``spine``       each profile's spine chart and its table (the profile CSV the build
                    publishes: number, value, 95% limits, comparator, significance, spread);
    ``population``  the age-sex pyramid and headline population figures;
    ``variation``   practices outside the 99.8% funnel limits (the page's outlier table);
    ``spot``        for a CCG or ICB, the SPOT quadrant and the top opportunities;
    ``finance``     the finance headline and plan bridge when the book has finance for the
                    area (its own organisation in ``finance/organisations.csv``);
    ``sources``     definitions, sources, licences and attribution.

No second computation: a report draws only what the build already made — the computed
tables, the priorities, the CSVs the pages published under ``_extra/data/<area>/`` and the
charts' vector SVGs, drawn from the specs the pages kept under ``_extra/charts/<area>/`` (found
by their data's columns; :func:`chart_svg`).  Every
text from data is escaped with :func:`nhsbook.core.escape.pdf_text`.  Tables are text; the
running footer carries the area, the publication date (the day the book's tables were
computed) and "Synthetic data" in a synthetic book, with "Page n of N".

Typesetting: the ``typst`` package (the typst compiler in a wheel: no LaTeX, no system
library), with its bundled fonts only (``ignore_system_fonts``), which it embeds (subset).
Ligatures and hyphenation are off so that the PDF's text extracts as written.

Incremental: a report is rebuilt only when its typst source, a chart it includes or the
compiler version changed (``build/state/reports-<book>.json``).  The disclosure scan
(:func:`nhsbook.build.publish.scan`) reads every report's text like a page.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from nhsbook.build import incremental as inc
from nhsbook.config import book as config
from nhsbook.config import sources
from nhsbook.core import safepath
from nhsbook.core.escape import pdf_text as t
from nhsbook.core.fmt import number
from nhsbook.pages.renderer import SPEC_SUFFIX

#: The sections a report can carry, in report order (a book's ``reports: sections`` picks):
#: the book schema's list (:data:`nhsbook.config.book.SECTIONS`).
SECTIONS = config.SECTIONS
#: Area types whose report carries the SPOT section (when the book has SPOT data for them).
SPOT_TYPES = ("ccg", "stp")
#: Rows of the outlier summary (practices with the most outliers first).
OUTLIER_ROWS = 20
#: Rows of the SPOT opportunities table.
SPOT_ROWS = 5
#: Where reports are written (copied into the site as ``reports/``).
FOLDER = config.REPORTS_FOLDER
has_report, href = config.has_report, config.report_href  # the book's reports (config)


class ReportError(RuntimeError):
    """A report could not be made; the message names the area and why."""


# --- which areas ---------------------------------------------------------------------------


def report_codes(cfg, areas: pd.DataFrame) -> list[str]:
    """Codes of the areas that get a report: the book's areas with pages by area type, in
    table-of-contents order; none when the book says ``reports: false``."""
    if not cfg.reports:
        return []
    from nhsbook.build.plan import plan_pages  # lazy: keeps numpy,scipy off this module's import

    return list(dict.fromkeys(p.area_code for p in plan_pages(cfg, areas) if p.area_type))


# --- reading what the build made ---------------------------------------------------------


def _csv(path: Path) -> pd.DataFrame:
    """A published CSV (cell texts; the formula guard's leading apostrophe removed)."""
    if not path.is_file():
        return pd.DataFrame()
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in table.columns:  # only the columns with a guarded cell (most have none)
        if table[col].str.startswith("'").any():
            table[col] = table[col].map(
                lambda v: v[1:] if v.startswith("'") and v[1:2] in "=+-@\t\r" else v
            )
    return table


#: Folder of ``book/_extra`` holding the SVGs the reports draw (by content; not published).
SVG_CACHE = "_svg"


def chart_svg(spec_path: Path, extra: Path) -> Path:
    """The SVG of the chart whose Vega-Lite spec is ``spec_path`` (written by the site's
    renderer, :mod:`nhsbook.pages.renderer`), drawn by vl-convert the first time and kept under
    ``extra/_svg/<sha256 of the spec>.svg``: the same chart is never drawn twice, in one build
    or the next.  The spec's texts are already literal (:func:`nhsbook.core.escape.vega_spec`)."""
    import hashlib

    import vl_convert as vlc

    text = spec_path.read_text(encoding="utf-8")
    out = extra / SVG_CACHE / f"{hashlib.sha256(text.encode('utf-8')).hexdigest()}.svg"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(vlc.vegalite_to_svg(json.loads(text)), encoding="utf-8")
        tmp.replace(out)
    return out


def find_chart(extra: Path, code: str, notebook: str, columns: set[str]) -> list[Path]:
    """The SVGs (:func:`chart_svg`) of ``notebook``'s charts for the area whose data (the CSV
    beside each chart's spec) hold ``columns``, in page order."""
    folder = extra / "charts" / code
    found = []
    specs = [
        (int(p.name[: -len(SPEC_SUFFIX)].rsplit("-", 1)[1]), p)
        for p in folder.glob(f"{notebook}-*{SPEC_SUFFIX}")
    ]
    for _, spec in sorted(specs):
        data = spec.with_name(spec.name[: -len(SPEC_SUFFIX)] + ".csv")
        if not data.is_file():
            continue
        with open(data, encoding="utf-8", newline="") as fh:
            header = set(next(csv.reader(fh), []))
        if columns <= header:
            found.append(chart_svg(spec, extra))
    return found


def _num(v: object, digits: int = 1) -> str:
    """A figure of a published CSV as the pages show it ("" for blank, text kept)."""
    if isinstance(v, str) and v.strip() in ("", "Supp."):
        return v.strip()
    try:
        return number(float(v), digits)
    except (TypeError, ValueError):
        return str(v)


# --- typst building blocks ----------------------------------------------------------------


def _string(s: str) -> str:
    """A typst string literal."""
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _table(
    header: list[str], rows: list[list[str]], widths: str, align: str = "left", size: str = "7.5pt"
) -> str:
    """A typst table of text cells (``header`` repeated on every page it spans)."""
    cells = ", ".join(f"[*{t(h)}*]" for h in header)
    body = ",\n".join(", ".join(f"[{t(c)}]" for c in r) for r in rows)
    return (
        f"#text(size: {size})[#table(columns: {widths}, align: {align}, "
        f"stroke: 0.4pt + luma(180), inset: 3pt,\n"
        f"table.header({cells}),\n{body})]\n"
    )


def _image(path: Path, extra: Path, width: str = "100%") -> str:
    return f"#image({_string('/' + path.relative_to(extra).as_posix())}, width: {width})\n"


def _bullets(sentences: list[str]) -> str:
    return "".join(f"- {t(s)}\n" for s in sentences)


@dataclass
class Context:
    """What one report draws from: the book, the area and the build's outputs."""

    cfg: object
    area: pd.Series
    areas: pd.DataFrame
    metadata: pd.DataFrame
    priorities: pd.DataFrame
    tables: dict
    extra: Path
    published: dt.date
    images: list[Path] = field(default_factory=list)
    #: Shared between the reports of one build: the published values, funnel points by
    #: peer group and the registry's sources.
    cache: dict = field(default_factory=dict)

    @property
    def code(self) -> str:
        return str(self.area["area_code"])

    @property
    def name(self) -> str:
        return str(self.area["area_name"])

    def area_name(self, code: str) -> str:
        hit = self.areas.loc[self.areas["area_code"] == code, "area_name"]
        return str(hit.iloc[0]) if not hit.empty else str(code)

    def messages(self, page: str) -> list[str]:
        """The key messages of ``page`` for the area (:mod:`nhsbook.pages.messages`)."""
        from nhsbook.pages import messages  # lazy: keeps numpy,scipy off this module's import

        extra = {}
        if page == "variation":
            # lazy: keeps numpy,scipy off this module's import
            from nhsbook.analysis import variation

            target, practices = variation.peer_group(self.areas, self.code)
            if practices:
                extra["points"] = self.points(target, practices)
        if page == "population":
            extra["area_page"] = self.page()
        return messages.key_messages(self.tables, self.code, page, **extra)

    def page(self):
        """The area's page (:class:`nhsbook.pages.area.AreaPage`) from the build's tables."""
        # lazy: keeps altair,numpy,scipy,shapely off this module's import
        from nhsbook.pages.area import AreaPage

        return AreaPage.from_tables(self.tables["book"], self.tables, self.code)

    def published_values(self) -> pd.DataFrame:
        """The values as published (:func:`nhsbook.analysis.disclosure.apply`), once per build."""
        if "values" not in self.cache:
            # lazy: keeps numpy,scipy off this module's import
            from nhsbook.analysis import disclosure

            self.cache["values"] = disclosure.apply(self.tables["values"])
        return self.cache["values"]

    def points(self, target: str, practices: list[str]) -> pd.DataFrame:
        """:func:`nhsbook.analysis.variation.practice_points` of ``practices`` against ``target``.

        The funnel points are computed once per target, for all the target's practices
        (a CCG and its practices compare them all); a locality's practices, a subset against
        the same target, are those points' rows: each point's position depends only on its
        own count, denominator and the target, and the order is kept.  Only the count of
        suppressed practices (``n_suppressed``) is of the subset, and counted again."""
        from nhsbook.analysis import variation  # lazy: keeps numpy,scipy off this module's import

        key = ("points", target, tuple(practices))
        if key in self.cache:
            return self.cache[key]
        try:
            everyone = variation.practices_below(self.areas, target)
        except KeyError:
            everyone = []
        if set(practices) < set(everyone):
            full = self.points(target, everyone)
            mine = full[full["area_code"].isin(practices)].reset_index(drop=True)
            mine["n_suppressed"] = (
                mine["indicator_id"].map(self._n_suppressed(practices)).fillna(0).astype(int)
            )
            self.cache[key] = mine
        else:
            self.cache[key] = variation.practice_points(
                self.published_values(), self.metadata, self.areas, practices, target
            )
        return self.cache[key]

    def _n_suppressed(self, practices: list[str]) -> pd.Series:
        """Suppressed funnel rows of ``practices`` by indicator, as
        :func:`nhsbook.analysis.variation.practice_points` counts them (the latest period)."""
        from nhsbook.analysis import variation  # lazy: keeps numpy,scipy off this module's import

        # lazy: keeps numpy,scipy off this module's import
        from nhsbook.analysis.disclosure import is_suppressed

        values = self.published_values()
        meta = self.metadata.set_index("indicator_id")
        funnel_ids = meta.index[meta["method"].isin(variation.FUNNEL_KINDS)]
        if "period" in values.columns:
            last = values.groupby("indicator_id")["period"].transform("max")
            values = values[values["period"] == last]
        rows = values[values["area_code"].isin(practices) & values["indicator_id"].isin(funnel_ids)]
        return is_suppressed(rows).groupby(rows["indicator_id"]).sum()

    def image(self, path: Path, width: str = "100%") -> str:
        self.images.append(path)
        return _image(path, self.extra, width)

    def page_link(self, page: str) -> str:
        """A link from the report (``reports/``) to a page of the site (``areas/…``)."""
        return f"../{page}.html"


# --- sections --------------------------------------------------------------------------------


def _head(ctx: Context) -> str:
    cfg, a = ctx.cfg, ctx.area
    kind = cfg.type_labels.get(a["area_type"], a["area_type"])
    periods = ", ".join(sorted(ctx.metadata["period"].astype(str).unique()))
    lines = [
        f"#text(size: 9pt, fill: luma(90))[{t(cfg.title)}]\n\n",
        f"#text(size: 20pt, weight: \"bold\")[{t(ctx.name)}]\n\n",
        f"#text(size: 11pt)[Board report: {t(kind)} {t(ctx.code)}]\n\n",
        f"*Compared with:* {t(ctx.area_name(str(a['comparator_code'])))} \\\n",
        f"*Period:* {t(periods)} \\\n",
        f"*Published:* {t(_date(ctx.published))}"
        + (f" \\\n*Data vintage:* {t(cfg.vintage)}" if cfg.vintage else "")
        + "\n",
    ]
    if cfg.synthetic:
        lines.append(
            f"#block(fill: luma(235), inset: 6pt, radius: 2pt, width: 100%)"
            f"[*Synthetic data.* {t(_plain(cfg.synthetic_note))}]\n"
        )
    return "".join(lines)


def _messages(ctx: Context) -> str:
    from nhsbook.pages import messages  # lazy: keeps numpy,scipy off this module's import

    out = ["= Key messages\n"]
    head = messages.headline(ctx.tables, ctx.code)
    if head:
        out.append(f"*{t(head)}*\n\n")
    said = ctx.messages("profile")
    out.append(_bullets(said) if said else "The profile has no key message for this area.\n")
    return "".join(out)


def _evidence(ctx: Context) -> str:
    from nhsbook.pipeline import priorities  # lazy: keeps numpy,scipy off this module's import

    rows = priorities.for_area(ctx.priorities, ctx.code)
    out = [
        "= Where the evidence points\n",
        f"Candidate priorities (at most {priorities.MAX_PRIORITIES}) and quick wins from "
        "this book's own evidence, ranked by the rule on the definitions page.\n\n",
    ]
    if rows.empty:
        return "".join(out) + t(priorities.NOTHING) + "\n"
    for _, r in rows.iterrows():
        link = (
            f" #link({_string(ctx.page_link(r['page']))})[(page: {t(r['page'])})]"
            if r["page"]
            else ""
        )
        out.append(
            f"+ *{t(str(r['group']).capitalize())}: {t(r['title'])}.* {t(r['evidence'])}.{link}\n"
        )
    return "".join(out)


SPINE_COLUMNS = {"x_worst", "count_text", "value_text"}


def _spine(ctx: Context) -> str:
    profile = _csv(ctx.extra / "data" / ctx.code / "profile.csv")
    if profile.empty:
        return ""
    charts = find_chart(ctx.extra, ctx.code, "jsna_profile", SPINE_COLUMNS)
    # lazy: keeps altair,numpy,scipy,shapely off this module's import
    from nhsbook.pages.area import AreaPage

    out = []
    for i, prof in enumerate(dict.fromkeys(profile["Profile"])):
        title = AreaPage.PROFILE_TITLES.get(prof, f"{prof.replace('_', ' ').capitalize()} profile")
        out.append(f"#pagebreak(weak: true)\n= {t(title)}\n")
        if i < len(charts):
            out.append(ctx.image(charts[i]))
        rows = profile[profile["Profile"] == prof]
        body = [
            [
                r["Indicator"],
                r["Period"],
                _num(r["Count"], 0),
                _num(r["Value"]),
                _num(r["Lower 95% CI"]),
                _num(r["Upper 95% CI"]),
                _num(r["Comparator"]),
                r["Significance"],
                _num(r["Worst practice"]),
                _num(r["Best practice"]),
            ]
            for r in rows.to_dict("records")
        ]
        out.append(
            _table(
                [
                    "Indicator",
                    "Period",
                    "Number",
                    "Value",
                    "Lower 95%",
                    "Upper 95%",
                    "Comparator",
                    "Compared",
                    "Worst practice",
                    "Best practice",
                ],
                body,
                "(3fr, auto, auto, auto, auto, auto, auto, auto, auto, auto)",
                align="(left, left, right, right, right, right, right, left, right, right)",
                size="7pt",
            )
        )
    return "".join(out)


def _population(ctx: Context) -> str:
    from nhsbook.analysis import population  # lazy: keeps numpy off this module's import

    pyramid = _csv(ctx.extra / "data" / ctx.code / "population_structure.csv")
    out = ["#pagebreak(weak: true)\n= Population\n"]
    said = ctx.messages("population")
    if said:
        out.append(_bullets(said))
    if pyramid.empty:  # the population page published no age-sex structure
        return "".join(out) + ("" if said else "The book has no population for this area.\n")
    charts = find_chart(ctx.extra, ctx.code, "population", {"age_band", "signed_percent"})
    if charts:
        out.append(ctx.image(charts[0], "75%"))
    pyramid["population"] = pd.to_numeric(pyramid["population"])
    rows = []
    labels = {
        "total": "Population",
        "under_15_pct": "% aged under 15",
        "over_65_pct": "% aged 65 and over",
        "over_75_pct": "% aged 75 and over",
        "old_age_dependency_ratio": "Old-age dependency ratio (65+ per 100 aged 15-64)",
    }
    names = list(dict.fromkeys(pyramid["name"]))
    measures = {n: population.structure(pyramid[pyramid["name"] == n]) for n in names}
    for key, label in labels.items():
        rows.append([label] + [_num(measures[n][key], 0 if key == "total" else 1) for n in names])
    out.append(
        _table(
            ["Measure", *names],
            rows,
            f"(2fr, {', '.join(['1fr'] * len(names))})",
            align="(left, " + ", ".join(["right"] * len(names)) + ")",
            size="8pt",
        )
    )
    return "".join(out)


def _variation(ctx: Context) -> str:
    out = ["#pagebreak(weak: true)\n= Practice variation\n"]
    said = ctx.messages("variation")
    if said:
        out.append(_bullets(said))
    table = _csv(ctx.extra / "data" / ctx.code / "outliers.csv")
    if ctx.area["area_type"] == "practice" and not table.empty:
        table = table[table["Practice code"] == ctx.code]
    if table.empty:
        return "".join(out) + "No practice is outside the 99.8% limits on any indicator.\n"
    out.append(
        f"Practice-indicator pairs outside the 99.8% funnel limits: "
        f"{len(table):,} (the full list is published with the practice variation "
        "page). The practices with the most, and the indicators with the most:\n\n"
    )
    # each count is followed by words in its cell: a small number beside the next row's
    # indicator name ("2 Patients with …") would read as a count of people to the scan
    said_as = table["Better or worse"]
    flags = pd.DataFrame(
        {
            "n": 1,
            "worse": said_as.eq("worse").astype(int),
            "better": said_as.eq("better").astype(int),
        },
        index=table.index,
    )

    def tallies(keys: list[str]) -> list[tuple]:
        """(text, count, *key) of each group of ``keys``, in the groups' (sorted) order."""
        sums = flags.groupby([table[k] for k in keys] if len(keys) > 1 else table[keys[0]]).sum()
        return [
            (f"{n} ({w} worse, {b} better)", n, *(key if len(keys) > 1 else (key,)))
            for key, n, w, b in zip(
                sums.index, sums["n"].tolist(), sums["worse"].tolist(), sums["better"].tolist()
            )
        ]

    by_practice = sorted(tallies(["Practice", "Locality"]), key=lambda r: (-r[1], r[2]))[
        :OUTLIER_ROWS
    ]
    out.append(
        _table(
            ["Practice", "Locality", "Outside the limits"],
            [[name, loc, text] for text, _, name, loc in by_practice],
            "(3fr, 2fr, auto)",
            align="(left, left, left)",
        )
    )
    out.append("#v(6pt)\n")
    by_indicator = sorted(tallies(["Indicator"]), key=lambda r: (-r[1], r[2]))[:OUTLIER_ROWS]
    out.append(
        _table(
            ["Indicator", "Practices outside the limits"],
            [[name, text] for text, _, name in by_indicator],
            "(4fr, auto)",
            align="(left, left)",
        )
    )
    return "".join(out)


def _spot(ctx: Context) -> str:
    table = _csv(ctx.extra / "data" / ctx.code / "spot.csv")
    if ctx.area["area_type"] not in SPOT_TYPES or table.empty:
        return ""
    out = ["#pagebreak(weak: true)\n= Spend and outcome (SPOT)\n"]
    said = ctx.messages("spot")
    if said:
        out.append(_bullets(said))
    charts = find_chart(ctx.extra, ctx.code, "spot", {"spend_z", "outcome_z", "quadrant"})
    if charts:
        out.append(ctx.image(charts[0], "80%"))
    out.append("Top opportunities (spend z minus outcome z, largest first):\n\n")
    top = table.head(SPOT_ROWS)
    out.append(
        _table(
            ["Rank", "Programme", "Spend per head (£)", "Spend z", "Outcome z", "Quadrant"],
            [
                [
                    r["Rank"],
                    r["Programme"],
                    _num(r["Spend per head (£)"], 2),
                    _num(r["Spend z"], 2),
                    _num(r["Outcome z (up = better)"], 2),
                    r["Quadrant"],
                ]
                for _, r in top.iterrows()
            ],
            "(auto, 3fr, auto, auto, auto, 2fr)",
            align="(right, left, right, right, right, left)",
        )
    )
    return "".join(out)


def _finance(ctx: Context) -> str:
    fin = ctx.tables.get("finance")
    if fin is None or ctx.code not in set(fin.organisations["org_code"]):
        return ""
    out = ["#pagebreak(weak: true)\n= Finance\n"]
    said = ctx.messages("finance")
    out.append(_bullets(said) if said else "")
    from nhsbook.analysis import finance  # lazy: keeps numpy off this module's import

    folder = ctx.extra / "data" / ctx.code
    pos = _csv(folder / "financial_position.csv")
    if not pos.empty:
        total = pos[pos["row_id"] == "total_revenue"]
        out.append(
            _table(
                ["Line", "Annual budget", "Forecast variance", "Forecast outturn"],
                [
                    [
                        r["line"],
                        _num(r["annual_budget"], 0),
                        _num(r["forecast_variance"], 0),
                        _num(r["forecast_outturn"], 0),
                    ]
                    for _, r in pd.concat([pos[pos["row_id"] != "total_revenue"], total]).iterrows()
                ],
                "(3fr, auto, auto, auto)",
                align="(left, right, right, right)",
            )
        )
        out.append(f"Money in {t(finance.MONEY_UNIT)}; a negative variance is an overspend.\n")
    for name, label in (
        ("ccg_baselines", "Baseline allocation"),
        ("financial_plan", "Draft financial plan"),
    ):
        table = _csv(folder / f"{name}.csv")
        if not table.empty:
            out.append(f"\n*{t(label)}* ({t(finance.MONEY_UNIT)}):\n\n")
            cols = list(table.columns)
            out.append(
                _table(
                    cols,
                    [
                        [_num(v, 0) if i else v for i, v in enumerate(r)]
                        for r in table.itertuples(index=False)
                    ],
                    "(3fr, " + ", ".join(["auto"] * (len(cols) - 1)) + ")",
                    align="(left, " + ", ".join(["right"] * (len(cols) - 1)) + ")",
                )
            )
    for svg in find_chart(ctx.extra, ctx.code, "finance", {"step", "kind", "running"}):
        out.append(ctx.image(svg, "85%"))
    return "".join(out)


def _sources(ctx: Context) -> str:
    from nhsbook.pipeline import priorities  # lazy: keeps numpy,scipy off this module's import

    cfg = ctx.cfg
    out = [
        "#pagebreak(weak: true)\n= Definitions and sources\n",
        "*Compared with the comparator.* Each value's 95% confidence interval against the "
        "comparator's value: better or worse when the whole interval lies on one side "
        "(higher or lower for indicators with no judgement), similar otherwise "
        "(OHID Fingertips technical guidance).\n\n",
        "*Practice outliers.* A practice outside the 99.8% limits of a funnel plot around "
        "the comparator's value (Spiegelhalter 2005).\n\n",
        "*SPOT.* Spend per head and outcome as z-scores against the peer group (outcome "
        "turned so that up is better); beyond ±2 is the box to investigate (seed 002).\n\n",
        f"*Where the evidence points.* At most {priorities.MAX_PRIORITIES} priorities: "
        "indicators significantly worse and getting worse by the people affected, then "
        "SPOT programmes beyond ±2 by spend z minus outcome z, then other significantly "
        "worse indicators not getting better by the people affected; then the quick "
        "wins: the indicator with the most practices outside the 99.8% limits and the "
        "budget line with the largest forecast overspend (nhsbook.pipeline.priorities).\n\n",
        "*Disclosure control.* Counts from 1 to "
        f"{_threshold(cfg) - 1} and the figures from which one could be worked out are "
        "suppressed (Supp.); every report passes the same disclosure scan as the web "
        "pages before it is published.\n\n",
    ]
    if cfg.synthetic:
        out.append(f"*Synthetic data.* {t(_plain(cfg.synthetic_note))}\n\n")
    srcs = sorted(
        {
            re.sub(r",? (?:seed \S+ )?lines? [\d\-–, ]+$", "", str(s)).strip()
            for s in ctx.metadata["source"].dropna()
            if str(s).strip()
        }
    )
    if srcs:
        out.append("== Indicator sources\n" + _bullets(srcs[:25]))
    if "registry" not in ctx.cache:  # the same for every report of the book
        ctx.cache["registry"] = _registry_sources(cfg)
    used = ctx.cache["registry"]
    if used:
        out.append("== Open data, licences and attribution\n")
        for src, lic in used:
            out.append(
                f"- *{t(src.title)}* ({t(src.publisher)}). Licence: "
                f"{t(lic.name if lic else src.licence)}. {t(src.attribution)}\n"
            )
    out.append(
        "\nMade by nhsbook (MIT licence) from the book "
        f"{t(cfg.name)}; the web version carries every table as CSV.\n"
    )
    return "".join(out)


def _threshold(cfg) -> int:
    from nhsbook.build.publish import book_threshold  # lazy: keeps numpy off this module's import

    return book_threshold(cfg)


def _registry_sources(cfg) -> list:
    """Registry datasets (data/sources.yml) whose files the book reads, with licences."""
    # lazy: keeps numpy,scipy off this module's import
    from nhsbook.pipeline.store import input_paths

    try:
        registry, licences = sources.load_registry(), sources.load_licences()
        paths = [Path(p).as_posix() for p in input_paths(cfg).values()]
    except Exception:  # noqa: BLE001 - a book without a registry lists none
        return []
    key = cfg.population_comparator.get("source")
    out = []
    for k, src in registry.items():
        if k == key or any(p.endswith("/" + src.path) for p in paths):
            out.append((src, licences.get(str(src.licence))))
    return out


SECTION_WRITERS = {
    "evidence": _evidence,
    "spine": _spine,
    "population": _population,
    "variation": _variation,
    "spot": _spot,
    "finance": _finance,
    "sources": _sources,
}


def _plain(markdown: str) -> str:
    """A book's markdown note as plain text: emphasis and code marks dropped, on one line."""
    return " ".join(re.sub(r"\*\*|__|`", "", str(markdown)).split())


def _date(d: dt.date) -> str:
    return f"{d.day} {d.strftime('%B %Y')}"


def source(ctx: Context) -> str:
    """The report's typst source."""
    cfg = ctx.cfg
    footer = " · ".join(
        [t(ctx.name), t(ctx.code), t(_date(ctx.published))]
        + (["Synthetic data"] if cfg.synthetic else [])
    )
    parts = [
        f"#set document(title: {_string(f'{ctx.name}: board report')}, "
        f"author: \"nhsbook\", date: none)\n",
        "#set page(paper: \"a4\", margin: (x: 1.7cm, top: 1.6cm, bottom: 2cm), "
        "footer: context text(size: 7.5pt, fill: luma(80))["
        f"{footer} #h(1fr) Page #counter(page).display(\"1 of 1\", both: true)])\n",
        "#set text(size: 9.5pt, ligatures: false, hyphenate: false, lang: \"en\")\n",
        "#set par(justify: false)\n",
        "#set heading(numbering: none)\n",
        "#show heading.where(level: 1): set text(size: 14pt)\n",
        "#show link: set text(fill: rgb(\"#005eb8\"))\n",
        _head(ctx),
    ]
    sections = cfg.report_sections
    if "messages" in sections:
        parts.append(_messages(ctx))
    for name in sections:
        if name in SECTION_WRITERS:
            parts.append(SECTION_WRITERS[name](ctx))
    return "\n".join(parts)


# --- compiling and the build step -------------------------------------------------------


def _compile(src: str, root: Path) -> bytes:
    import typst

    try:
        return typst.compile(src.encode("utf-8"), root=str(root), ignore_system_fonts=True)
    except Exception as exc:  # typst.TypstError: the message names the line
        raise ReportError(f"typst could not typeset the report: {exc}") from None


#: Objects per object stream in :func:`compact_pdf`.
OBJECTS_PER_STREAM = 500
_XREF = re.compile(
    rb"\nxref\n0 (\d+)\n((?:\d{10} \d{5} [nf]\s{1,2}\n?)+)trailer\s*(<<.*?>>)\s*"
    rb"startxref\s*\d+\s*%%EOF\s*$",
    re.S,
)


#: The head of an indirect object, ``<number> 0 obj`` (one pattern for every object: a
#: pattern per object number was compiled anew for each, a fifth of a report's time).
_OBJ_START = re.compile(rb"\s*(\d+) 0 obj\b")


def compact_pdf(pdf: bytes) -> bytes:
    """The PDF typst wrote with its objects other than streams (the tagged structure: one
    small dictionary per structure element, about half of a board report) compressed
    together in object streams and its cross-reference table as a compressed stream (PDF
    1.5), issue 26: the same objects, numbers and bytes of every stream, so content,
    fonts, tags and metadata are unchanged.  A PDF of another shape (no classic
    cross-reference table, several generations, encrypted) is returned unchanged."""
    import zlib

    m = _XREF.search(pdf)
    if (
        not m
        or not pdf.startswith(b"%PDF-1.")
        or b"/Encrypt" in m.group(3)
        or b"/Prev" in m.group(3)
    ):
        return pdf
    entries = m.group(2).split()
    rows = [
        (int(entries[k]), int(entries[k + 1]), entries[k + 2]) for k in range(0, len(entries), 3)
    ]
    if len(rows) != int(m.group(1)) or any(g != 0 for _, g, t in rows[1:] if t == b"n"):
        return pdf
    used = sorted((off, n) for n, (off, _, t) in enumerate(rows) if t == b"n" and n)
    ends = [off for off, _ in used[1:]] + [m.start() + 1]
    head = pdf[: used[0][0]] if used else pdf
    out = bytearray(head)
    where: dict[int, tuple[int, int, int]] = {}
    loose: list[tuple[int, bytes]] = []
    for (off, n), end in zip(used, ends):
        raw = pdf[off:end]
        start = _OBJ_START.match(raw)
        body = raw[start.end() :].rstrip() if start else b""
        if not start or int(start.group(1)) != n or not body.endswith(b"endobj"):
            return pdf
        body = body[: -len(b"endobj")].strip()
        if body.endswith(b"endstream"):  # streams stay as typst wrote them
            where[n] = (1, len(out), 0)
            out += raw.rstrip() + b"\n"
        else:
            loose.append((n, body))
    next_id = len(rows)
    for k in range(0, len(loose), OBJECTS_PER_STREAM):
        chunk = loose[k : k + OBJECTS_PER_STREAM]
        index, data = [], bytearray()
        for i, (n, body) in enumerate(chunk):
            index.append(b"%d %d" % (n, len(data)))
            data += body + b"\n"
            where[n] = (2, next_id, i)
        first = b" ".join(index) + b"\n"
        packed = zlib.compress(first + bytes(data), 9)
        where[next_id] = (1, len(out), 0)
        out += (
            b"%d 0 obj\n<</Type/ObjStm/N %d/First %d/Filter/FlateDecode/Length %d>>\n"
            b"stream\n"
            % (next_id, len(chunk), len(first), len(packed))
            + packed
            + b"\nendstream\nendobj\n"
        )
        next_id += 1
    xref_id, size = next_id, next_id + 1
    where[xref_id] = (1, len(out), 0)
    width = max(4, (len(out).bit_length() + 7) // 8)
    table = b"".join(
        bytes([t]) + a.to_bytes(width, "big") + b.to_bytes(2, "big")
        for t, a, b in (where.get(n, (0, 0, 65535 if n == 0 else 0)) for n in range(size))
    )
    packed = zlib.compress(table, 9)
    trailer = re.sub(rb"/Size\s*\d+", b"", m.group(3)[2:-2])
    start = len(out)
    out += (
        b"%d 0 obj\n<</Type/XRef/Size %d/W[1 %d 2]%s/Filter/FlateDecode/Length %d>>\n"
        b"stream\n"
        % (xref_id, size, width, trailer, len(packed))
        + packed
        + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % start
    )
    return bytes(out)


def page_count(pdf: bytes) -> int:
    """The PDF's number of pages (read by PDFium, as :func:`nhsbook.build.publish.pdf_text`)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        return len(doc)
    finally:
        doc.close()


def published_date(cfg) -> dt.date:
    """The reports' publication date: the day the book's tables were last computed."""
    manifest = cfg.cache_dir / "manifest.json"
    stamp = manifest.stat().st_mtime if manifest.is_file() else time.time()
    return dt.date.fromtimestamp(stamp)


#: Key of the reports' state file holding :func:`_inputs_key` of the last full run.
INPUTS = "__inputs__"


def _frame_digest(frame: pd.DataFrame) -> str:
    """sha256 of a table's columns and cells (pandas' row hashes)."""
    import hashlib

    try:
        rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    except TypeError:  # cells pandas cannot hash (lists): their text
        rows = pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
    return hashlib.sha256(
        "\x1f".join(map(str, frame.columns)).encode("utf-8") + rows.tobytes()
    ).hexdigest()


def _inputs_key(cfg, computed: dict, extra: Path, digests, typst_version: str) -> str:
    """Everything a report is made from, as one sha256: the nhsbook package, typst, the book
    file, the computed tables given (each table's content), the publication date and every
    file the pages published under ``_extra/data`` and ``_extra/charts`` (and the book's
    finance, performance and SPOT files).  When it is unchanged no report's source is even
    written again."""
    files = [
        p
        for sub in ("data", "charts")
        if (extra / sub).is_dir()
        for p in sorted((extra / sub).rglob("*"))
        if p.is_file()
    ]
    data = [
        p
        for sub in ("finance", "performance", "spot")
        if (cfg.data / sub).is_dir()
        for p in sorted((cfg.data / sub).rglob("*"))
        if p.is_file()
    ]
    tables = sorted(
        (name, _frame_digest(t)) for name, t in computed.items() if isinstance(t, pd.DataFrame)
    )
    return inc.hash_of(
        sources.package_digest(),
        typst_version,
        digests(cfg.path) if getattr(cfg, "path", None) else "",
        tables,
        str(published_date(cfg)),
        [(p.relative_to(extra).as_posix(), digests(p)) for p in files],
        [(str(p), digests(p)) for p in data],
    )


@dataclass
class _ReportRun:
    """What every report of one :func:`build_reports` call reads (:func:`_start_run`)."""

    cfg: object
    computed: dict
    tables: dict
    extra: Path
    published: str
    state: dict
    digests: object


_RUN: _ReportRun | None = None


def _start_run(cfg, computed, extra, published, state, root, digests=None) -> None:
    """Set :data:`_RUN` for :func:`_make_reports`."""
    global _RUN
    from nhsbook.pages import messages  # lazy: keeps numpy,scipy off this module's import

    tables = messages.load_tables(cfg, computed)
    _RUN = _ReportRun(
        cfg, computed, tables, extra, published, dict(state), digests or inc.Digests(root)
    )


def _stop_run() -> None:
    global _RUN
    _RUN = None


def _make_reports(codes: list[str]) -> list[tuple[str, str, float | None, list[Path]]]:
    """Make the reports of ``codes`` (of the run in :data:`_RUN`) whose source or charts
    changed: for each code its key, the CPU seconds it took (``None`` when unchanged) and
    the chart SVGs it used.  Raises :class:`ReportError` for a report over its page limit."""
    run = _RUN
    assert run is not None, "build_reports sets the run"
    import typst

    from nhsbook.pages import messages  # lazy: keeps numpy,scipy off this module's import

    cfg, extra = run.cfg, run.extra
    folder = extra / FOLDER
    areas = run.computed["areas"].set_index("area_code", drop=False)
    cache: dict = {}
    done = []
    with messages.remembered():  # each area's profile rows and page, once
        for code in codes:
            t0 = time.process_time()
            ctx = Context(
                cfg,
                areas.loc[code],
                run.computed["areas"],
                run.computed["metadata"],
                run.computed["priorities"],
                run.tables,
                extra,
                run.published,
                cache=cache,
            )
            src = source(ctx)
            key = inc.hash_of(typst.__version__, src, [run.digests(p) for p in ctx.images])
            out = folder / f"{code}.pdf"
            if run.state.get(code) == key and out.is_file():
                done.append((code, key, None, list(ctx.images)))
                continue
            pdf = compact_pdf(_compile(src, extra))
            n_pages = page_count(pdf)
            if n_pages > cfg.report_max_pages:
                raise ReportError(
                    f"report of {code}: {n_pages} pages, more than the book's "
                    f"reports: max_pages of {cfg.report_max_pages}"
                )
            folder.mkdir(parents=True, exist_ok=True)
            tmp = out.with_suffix(f".{os.getpid()}.pdf.tmp")
            tmp.write_bytes(pdf)
            tmp.replace(out)
            done.append((code, key, time.process_time() - t0, list(ctx.images)))
    return done


def build_reports(
    cfg,
    computed: dict,
    digests,
    log=print,
    force: bool = False,
    codes: list[str] | None = None,
) -> dict[str, float]:
    """Write every area's report to ``book/_extra/reports/<code>.pdf`` (only those whose
    source or charts changed, unless ``force``), remove reports no longer planned; returns
    the CPU seconds (``time.process_time``: source and typesetting) of each report made.
    ``codes`` limits the reports made (all planned reports are kept)."""
    extra = cfg.book_dir / "_extra"
    folder = extra / FOLDER
    planned = report_codes(cfg, computed["areas"])
    state_file = inc.state_dir(cfg.root) / f"reports-{cfg.name}.json"
    state = inc.load_json(state_file, {}) if planned and not force else {}
    for old in folder.glob("*.pdf") if folder.is_dir() else []:
        if old.stem not in planned:
            old.unlink()
    if not planned:
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        inc.write_json(state_file, {})
        return {}
    import typst

    inputs = _inputs_key(cfg, computed, extra, digests, typst.__version__)
    if (
        codes is None
        and state.get(INPUTS) == inputs
        and all((folder / f"{c}.pdf").is_file() and c in state for c in planned)
    ):
        log(f"the {len(planned)} reports are current")
        return {}
    import pypdfium2  # noqa: F401 - (page_count) likewise

    # lazy: keeps altair,numpy,scipy,shapely off this module's import
    from nhsbook.analysis import population  # noqa: F401 - imported once, not in a report's time
    from nhsbook.pages import area as pages  # noqa: F401 - likewise  # lazy: as above

    todo = planned if codes is None else [c for c in codes if c in planned]
    for code in todo:
        safepath.check_name(code, "area code")  # reports/<code>.pdf
    published = published_date(cfg)
    _start_run(cfg, computed, extra, published, state, cfg.root, digests)
    try:
        parts = [_make_reports(todo)]
    finally:
        _stop_run()
    used: set[Path] = set()
    cpus: dict[str, float] = {}
    for code, key, cpu, images in (r for part in parts for r in part):
        state[code] = key
        used.update(images)
        if cpu is not None:
            cpus[code] = cpu
    made = {c: cpus[c] for c in todo if c in cpus}  # in the book's order
    kept = {c: k for c, k in state.items() if c in planned}
    if codes is None:
        kept[INPUTS] = inputs
    inc.write_json(state_file, kept)
    cache_dir = extra / SVG_CACHE
    for svg in cache_dir.glob("*") if cache_dir.is_dir() and codes is None else []:
        if svg not in used:  # drawn for no report now
            svg.unlink()
    if made:
        log(
            f"made {len(made)} of {len(planned)} reports in {sum(made.values()):.1f} s CPU "
            f"({len(planned) - len(made)} unchanged; at most {max(made.values()):.2f} s, "
            f"mean {sum(made.values()) / len(made):.2f} s a report)"
        )
    else:
        log(f"the {len(planned)} reports are current")
    return made
