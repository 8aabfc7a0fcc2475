"""Where the evidence points: a short ranked list of candidate priorities and quick wins for
every area, computed once in the pipeline (:func:`nhsbook.pipeline.store.compute_and_store`) from the
book's own evidence, and shown at the top of each area's web chapter and in its PDF report.

The seed strategies ask for it: "initially focus each year on three priorities" and "quick
wins" (seed 003), and the SPOT box of programmes to investigate (seed 002 line 370).

Candidates (each with the figures behind it and the page that shows them)
    * ``worse_worsening`` — an indicator significantly worse than the area's comparator (95%
      or 99.8% limits: significance "Worse" or "Worst", :func:`nhsbook.stats.compare`) whose
      recent trend is "… and getting worse" (:func:`nhsbook.stats.recent_trend`, five points
      at 99.8%).  Weight: the people affected, the indicator's published count (numerator) for
      the area in the period the profile shows.
    * ``spot`` — a programme budgeting category of a CCG in the SPOT 'investigate' box: spend
      or outcome z-score beyond ±2 (:data:`nhsbook.analysis.spot.INVESTIGATE_Z`).  Weight: the
      opportunity score ``spend_z − outcome_z`` (:func:`nhsbook.analysis.spot.rank_opportunities`).
    * ``worse`` — an indicator significantly worse whose trend is not "getting better" (a
      single period, no significant change, or not calculable).  Weight: people affected.
    * ``variation`` (quick win) — the widest practice variation: the funnel indicator with the
      most practices outside the 99.8% limits around the comparator's value
      (:func:`nhsbook.analysis.variation.practice_points`; for a practice's own list, the indicators on
      which the practice itself lies outside them), ties broken by the most practices worse.
    * ``overspend`` (quick win) — the budget line with the largest forecast overspend (most
      negative forecast variance) of the area's financial position, or, when the area has
      none of its own, of its parent organisation's (``finance/organisations.csv``).

Ranking rule
    **Priorities** come first, at most :data:`MAX_PRIORITIES` (three, as seed 003 asks): the
    ``worse_worsening`` indicators by people affected (largest first), then the ``spot``
    programmes by opportunity score, then the ``worse`` indicators by people affected; an
    indicator without a published count (suppressed or not a count) follows those with one.
    **Quick wins** follow: the widest practice variation, then the largest forecast
    overspend (one each).  Ranks run from 1 over the whole list.

Edge cases
    An area with no significantly worse indicator, no SPOT data, no practices and no finance
    has an empty list (the page and report then say the evidence points nowhere in
    particular).  Counts come from published rows only (:func:`nhsbook.analysis.disclosure.apply`):
    a suppressed count is never a weight or a figure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nhsbook.analysis import disclosure, finance, indicators, spot, variation
from nhsbook.analysis.views import trends
from nhsbook.core.escape import html
from nhsbook.core.escape import markdown as md
from nhsbook.core.fmt import number, unit_suffix

#: At most this many priorities ("initially focus each year on three priorities", seed 003).
MAX_PRIORITIES = 3
#: Kinds in the order the ranking rule takes them.
PRIORITY_KINDS = ("worse_worsening", "spot", "worse")
QUICK_WIN_KINDS = ("variation", "overspend")
WORSE = ("Worse", "Worst")
#: What an area with no candidate is told.
NOTHING = (
    "No indicator of this area is significantly worse than its comparator, and the "
    "book has no programme to investigate, practice outlier or overspend for it."
)
COLUMNS = ["area_code", "rank", "kind", "group", "title", "evidence", "page", "weight"]


def _num(v: float, digits: int = 1) -> str:
    """A figure as the pages show it (thousands separated)."""
    return number(v, digits)


def _indicator_candidates(
    values: pd.DataFrame, metadata: pd.DataFrame, code: str, comparator: str, page: str
) -> list[dict]:
    """``worse_worsening`` and ``worse`` candidates of one area (published rows)."""
    rows = values[values["area_code"] == code]
    if "category_type" in rows.columns:
        rows = rows[rows["category_type"].fillna("") == ""]
    if rows.empty:
        return []
    shown = indicators.profile_period(rows, metadata)
    worse = shown[shown["significance"].isin(WORSE)].drop_duplicates("indicator_id")
    if worse.empty:
        return []
    labels = (
        trends(rows, metadata, code)
        .drop_duplicates("indicator_id")
        .set_index("indicator_id")["trend"]
    )
    meta = metadata.set_index("indicator_id")
    out = []
    for _, r in worse.iterrows():
        m = meta.loc[r["indicator_id"]]
        single = r["indicator_id"] not in labels.index
        label = "Cannot be calculated" if single else str(labels[r["indicator_id"]])
        if "getting better" in label:
            continue
        people = float(r["count"]) if pd.notna(r["count"]) else np.nan
        unit = unit_suffix(m["unit"])
        parts = [
            f"{_num(r['value'])}{unit} in {r['period']} against "
            f"{_num(r['comparator_value'])}{unit} for {comparator} "
            f"({r['significance'].lower()}, 95% confidence)"
        ]
        if pd.notna(people):
            parts.append(f"{_num(people, 0)} people affected")
        parts.append("a single period, so no trend" if single else f"trend: {label.lower()}")
        out.append(
            {
                "kind": "worse_worsening" if "getting worse" in label else "worse",
                "title": f"{m['name']}: significantly worse than {comparator}"
                + (" and getting worse" if "getting worse" in label else ""),
                "evidence": "; ".join(parts),
                "page": page,
                "weight": people,
            }
        )
    return out


def _spot_candidates(table: pd.DataFrame, page: str) -> list[dict]:
    """``spot`` candidates: programmes beyond ±2 on either axis, by opportunity."""
    out = []
    for _, r in table[table["investigate"]].iterrows():
        outcome = (
            f"; outcome z {r['outcome_z']:+.2f} ({r['indicator_name']})"
            if pd.notna(r["outcome_z"])
            else "; no outcome measure"
        )
        out.append(
            {
                "kind": "spot",
                "title": f"SPOT: {r['programme']} in the box to "
                f"investigate ({str(r['quadrant']).lower()})",
                "evidence": f"spend £{_num(r['spend_per_head'], 2)} a head against a peer "
                f"mean of £{_num(r['peer_spend_per_head'], 2)}, spend z "
                f"{r['spend_z']:+.2f}{outcome}",
                "page": page,
                "weight": float(r["opportunity"])
                if pd.notna(r["opportunity"])
                else float(r["spend_z"]),
            }
        )
    return out


def _variation_candidate(
    points: pd.DataFrame, code: str, own: bool, target_name: str, page: str
) -> list[dict]:
    """The widest practice variation of the points (see the module docstring)."""
    if points.empty:
        return []
    if own:  # a practice: the indicators it is itself an outlier on, worse first
        mine = points[(points["area_code"] == code) & (points["outlier"] != "")]
        if mine.empty:
            return []
        r = mine.sort_values("direction", key=lambda s: s.ne("worse")).iloc[0]
        return [
            {
                "kind": "variation",
                "title": f"{r['indicator']}: this practice is outside the 99.8% limits",
                "evidence": f"{_num(r['value'])} against {_num(r['target'])} for "
                f"{target_name} ({r['direction']}, {r['outlier']})",
                "page": page,
                "weight": 1.0,
            }
        ]
    per = points.groupby("indicator_id", sort=False).agg(
        indicator=("indicator", "first"),
        n=("area_code", "nunique"),
        outside=("outlier", lambda s: int((s != "").sum())),
        worse=("direction", lambda s: int((s == "worse").sum())),
        low=("value", "min"),
        high=("value", "max"),
        target=("target", "first"),
    )
    per = per[per["outside"] > 0].sort_values(["outside", "worse"], ascending=False, kind="stable")
    if per.empty:
        return []
    r = per.iloc[0]
    return [
        {
            "kind": "variation",
            "title": f"{r['indicator']}: the widest practice variation",
            "evidence": f"{r['outside']} of {r['n']} practices outside the 99.8% limits "
            f"({r['worse']} worse); practice values from {_num(r['low'])} to "
            f"{_num(r['high'])} against {_num(r['target'])} for {target_name}",
            "page": page,
            "weight": float(r["outside"]),
        }
    ]


def _overspend_candidate(fin, code: str, pages: set[str]) -> list[dict]:
    """The largest forecast overspend of the area's (or its parent's) financial position."""
    orgs = fin.organisations.set_index("org_code")
    if code not in orgs.index:
        return []
    for org in (code, str(orgs.at[code, "parent_code"] or "")):
        pos = finance.position(fin, org) if org else pd.DataFrame()
        if pos.empty:
            continue
        lines = pos[pos["parent_id"] == "total_revenue"]
        if lines.empty or not (lines["forecast_variance"] < 0).any():
            return []
        r = lines.sort_values("forecast_variance").iloc[0]
        whose = "" if org == code else f" of {orgs.at[org, 'org_name']}"
        page = f"areas/{org}/finance" if f"{org}/finance" in pages else ""
        return [
            {
                "kind": "overspend",
                "title": f"{r['line']}: the largest forecast overspend{whose}",
                "evidence": f"forecast overspend £{_num(-r['forecast_variance'], 0)} thousand "
                f"on a budget of £{_num(r['annual_budget'], 0)} thousand "
                f"(position at {r['as_at']}, month {int(r['month'])} of "
                f"{r['period']})",
                "page": page,
                "weight": float(-r["forecast_variance"]),
            }
        ]
    return []


def rank(candidates: list[dict]) -> list[dict]:
    """Apply the ranking rule of the module docstring."""

    def by(kind: str) -> list[dict]:
        sel = [c for c in candidates if c["kind"] == kind]
        return sorted(
            sel,
            key=lambda c: (np.isnan(c["weight"]), -(0 if np.isnan(c["weight"]) else c["weight"])),
        )

    priorities = [c for k in PRIORITY_KINDS for c in by(k)][:MAX_PRIORITIES]
    wins = [c for k in QUICK_WIN_KINDS for c in by(k)[:1]]
    out = [{**c, "group": "priority"} for c in priorities] + [
        {**c, "group": "quick win"} for c in wins
    ]
    return [{**c, "rank": i} for i, c in enumerate(out, 1)]


def planned_pages(cfg) -> set[str]:
    """``<area code>/<notebook>`` of every page the book plans for areas listed by code, and
    ``<area type>:<notebook>`` for the page sets by area type."""
    out: set[str] = set()
    for ps in cfg.page_sets:
        out |= {f"{t}:{nb}" for t in ps.area_types for nb in ps.notebooks}
        out |= {f"{c}/{nb}" for c, _ in ps.areas for nb in ps.notebooks}
    return out


def compute(cfg, values: pd.DataFrame, metadata: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """The ranked list (:data:`COLUMNS`) of every area with pages in the book."""
    pages = planned_pages(cfg)
    types = cfg.page_area_types
    chosen = areas[areas["area_type"].isin(types)]
    pub = disclosure.apply(
        values[
            values["area_code"].isin(
                set(chosen["area_code"]) | set(chosen["comparator_code"].fillna(""))
            )
        ]
    )
    names = areas.set_index("area_code")["area_name"]
    spot_data = (
        spot.load(cfg.data / "spot")
        if (Path(cfg.data) / "spot" / spot.FILES["spot_spend"]).is_file()
        else None
    )
    fin = None
    if (Path(cfg.data) / "finance" / "organisations.csv").is_file():
        fin = finance.load_dir(cfg.data)
    funnels: dict[tuple, pd.DataFrame] = {}
    rows = []
    for _, a in chosen.iterrows():
        code, kind = str(a["area_code"]), str(a["area_type"])

        def link(nb: str) -> str:
            return (
                f"areas/{code}/{nb}" if f"{kind}:{nb}" in pages or f"{code}/{nb}" in pages else ""
            )

        comp = str(names.get(a["comparator_code"], a["comparator_code"]))
        cands = _indicator_candidates(pub, metadata, code, comp, link("jsna_profile"))
        if spot_data is not None and spot_data.has_area(code):
            cands += _spot_candidates(spot.spot_table(spot_data, code), link("spot"))
        target, practices = variation.peer_group(areas, code)
        if practices:
            key = (target, tuple(practices))
            if key not in funnels:
                funnels[key] = variation.practice_points(values, metadata, areas, practices, target)
            cands += _variation_candidate(
                funnels[key],
                code,
                kind == "practice",
                str(names.get(target, target)),
                link("practice_variation"),
            )
        if fin is not None:
            cands += _overspend_candidate(fin, code, {p for p in pages if "/" in p})
        rows += [{"area_code": code, **c} for c in rank(cands)]
    return pd.DataFrame(rows, columns=COLUMNS).astype(
        {
            "area_code": str,
            "rank": "int64",
            "kind": str,
            "group": str,
            "title": str,
            "evidence": str,
            "page": str,
            "weight": "float64",
        }
    )


def for_area(table: pd.DataFrame, area_code: str) -> pd.DataFrame:
    """One area's list, in rank order."""
    return table[table["area_code"] == area_code].sort_values("rank").reset_index(drop=True)


def markdown(table: pd.DataFrame, area_code: str, prefix: str = "../../") -> str:
    """The list as the web chapter opens with it: a numbered list, each item its title,
    the figures behind it and a link to its page (``prefix`` leads to the site's root)."""
    rows = for_area(table, area_code)
    lines = ["## Where the evidence points", ""]
    if rows.empty:
        return "\n".join(lines + [NOTHING])
    lines += [
        f"Candidate priorities (at most {MAX_PRIORITIES}) and quick wins, ranked by the "
        "rule in the Methods chapter (nhsbook.pipeline.priorities).",
        "",
    ]
    for _, r in rows.iterrows():
        link = f' <a href="{html(prefix + r["page"])}.html">(see the page)</a>' if r["page"] else ""
        lines.append(
            f"{r['rank']}. **{md(r['group'].capitalize())}: {md(r['title'])}.** "
            f"{md(r['evidence'])}.{link}"
        )
    return "\n".join(lines)
