"""Key messages: what a reader needs first, written by nhsbook from the computed tables.

Every area page opens with a short "Key messages" box (:meth:`nhsbook.pages.area.AreaPage.
key_messages_markdown`), the landing page lists each area's one-line :func:`headline`, and
the PDF reports reuse the same sentences.  The sentences are *plain text*, not escaped:
each output escapes them for its format (:mod:`nhsbook.core.escape`).

``tables`` is the mapping of :func:`load_tables`: the book's computed tables
(:func:`nhsbook.pipeline.store.load_computed`: ``values``, ``metadata``, ``areas``, ``population``,
``population_reference``, ``quintiles``) with ``book`` (its :class:`nhsbook.config.book.
BookConfig`) and, when the book has them, ``finance``, ``performance`` and ``spot``.

Rules the sentences follow
    * **Polarity.** "worse" / "better" only for indicators with a judgement; for
      ``no_judgement`` indicators (e.g. recorded prevalence) "higher than" / "lower than".
    * **Numbers** through :mod:`nhsbook.core.fmt` (one format for the whole book).
    * **Disclosure.** Only published figures: rows go through
      :func:`nhsbook.analysis.disclosure.apply` first, so a suppressed value is never named with a
      figure, and no count of people or events is ever written (only values, comparator
      values and counts of indicators, practices or programmes).
    * **Honest headlines.** A correlation is headlined only when it is significant after a
      Bonferroni correction for the number of indicators tested, always with its n and p;
      an inequality gap only when the SII's 95% interval excludes 0; trends only when the
      chi-squared test for trend is significant at 99.8% (:func:`nhsbook.stats.
      recent_trend`).
    * **Ties.** "the largest" names every item tied at the top.
    * A page type with nothing to say for an area returns ``[]``.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import numpy as np
import pandas as pd

from nhsbook.analysis import disclosure, finance, indicators, performance, spot, variation, views
from nhsbook.analysis import population as pop
from nhsbook.analysis.views import trends
from nhsbook.config.book import BookConfig, load_book
from nhsbook.core import fmt
from nhsbook.pipeline import national
from nhsbook.pipeline.store import load_computed

if TYPE_CHECKING:
    from nhsbook.config.book import BookConfig

#: The page types :func:`key_messages` knows.
PAGES: tuple[str, ...] = (
    "profile",
    "variation",
    "population",
    "spot",
    "finance",
    "performance",
    "overview",
    "inequalities",
    "maps",
    "peers",
    "national",
)
#: Significance labels counted as worse / better / different (no judgement).
WORSE = ("Worse", "Worst")
BETTER = ("Better", "Best")
DIFFERENT = ("Higher", "Lower")
#: How many indicators a sentence names before "and N more".
NAMED = 6
#: Significance level of a headlined correlation (before the Bonferroni correction).
ALPHA = 0.05


# --- the tables ------------------------------------------------------------------------

#: What each page type's messages read beyond the computed tables (a profile page never
#: reads the finance files: :mod:`nhsbook.build.incremental` reruns a page when what it read changes).
EXTRAS: dict[str, tuple[str, ...]] = {
    "finance": ("finance",),
    "performance": ("performance", "finance"),
    "spot": ("spot",),
}
#: Every extra, for the landing page's headlines (finance is one of them).
ALL_EXTRAS: tuple[str, ...] = ("finance", "performance", "spot")


def load_extras(cfg: "BookConfig", names: Iterable[str]) -> dict[str, Any]:
    """The book's ``names`` among finance, performance and SPOT data, ``None`` for one the
    book does not have."""
    out: dict[str, Any] = {}
    for name in names:
        out[name] = None
        if name == "finance" and (cfg.data / "finance" / "organisations.csv").is_file():
            out[name] = finance.load_dir(cfg.data)
        elif name == "performance" and (cfg.data / "performance").is_dir():
            out[name] = performance.load_dir(cfg.data)
        elif name == "spot":
            folder = cfg.data / "spot"
            if (folder / spot.FILES["spot_spend"]).is_file():
                out[name] = spot.load(folder)
    return out


def load_tables(
    book: "str | BookConfig" = "default",
    computed: Mapping[str, pd.DataFrame] | None = None,
    extras: Iterable[str] = ALL_EXTRAS,
) -> dict[str, Any]:
    """Everything :func:`key_messages` reads for ``book`` (a name, a path or a loaded
    configuration): the computed tables (``computed`` when the caller has them), the book's
    configuration and the ``extras`` (:func:`load_extras`) it has."""
    cfg = book if isinstance(book, BookConfig) else load_book(book)
    tables: dict[str, Any] = dict(computed if computed is not None else load_computed(cfg))
    tables["book"] = cfg
    tables.update(load_extras(cfg, extras))
    return tables


def _area(tables: Mapping[str, Any], code: str) -> pd.Series | None:
    areas = tables.get("areas")
    if areas is None:
        return None
    hit = areas[areas["area_code"] == code]
    return hit.iloc[0] if not hit.empty else None


def _name(tables: Mapping[str, Any], code: str) -> str:
    row = _area(tables, code)
    return str(row["area_name"]) if row is not None else str(code)


def _comparator(tables: Mapping[str, Any], code: str) -> str:
    row = _area(tables, code)
    if row is None or not isinstance(row.get("comparator_code"), str):
        return ""
    return _name(tables, row["comparator_code"])


def _listing(items: list[str], limit: int = NAMED) -> str:
    """``a``, ``a and b``, ``a, b and c``; beyond ``limit`` items ", and N more"."""
    if len(items) > limit:
        rest = len(items) - limit
        return "; ".join(items[:limit]) + f"; and {rest} more"
    if len(items) <= 1:
        return "".join(items)
    sep = "; " if any("," in i for i in items) else ", "
    return sep.join(items[:-1]) + " and " + items[-1]


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{fmt.count(n)} {one if n == 1 else (many or one + 's')}"


def _ties(frame: pd.DataFrame, column: str, largest: bool = True) -> pd.DataFrame:
    """The rows tied at the top (``largest``) or bottom of ``column``."""
    col = frame[column].astype(float)
    best = col.max() if largest else col.min()
    return frame[np.isclose(col, best)]


# --- profile ---------------------------------------------------------------------------

#: What the writers compute from a book's tables, kept inside :func:`remembered` (the
#: headline, the profile messages and a report each need an area's profile rows and page).
_SCOPE: dict | None = None


@contextlib.contextmanager
def remembered():
    """Within this block, what the writers compute from a ``tables["values"]`` object is
    computed once per area (the caller does not change the tables inside it; the PDF reports
    step uses it).  Outside it, every call computes afresh."""
    global _SCOPE
    outer, _SCOPE = _SCOPE, {}
    try:
        yield
    finally:
        _SCOPE = outer


def _memo(tables: Mapping[str, Any], key: tuple, make: Any) -> Any:
    """``make()``, once per ``key`` and ``tables["values"]`` object inside :func:`remembered`."""
    if _SCOPE is None:
        return make()
    values = tables["values"]
    hit = _SCOPE.get((id(values), *key))
    if hit is None or hit[0] is not values:
        hit = _SCOPE[(id(values), *key)] = (values, make())
    return hit[1]


def _profile_rows(tables: Mapping[str, Any], code: str) -> pd.DataFrame:
    """The area's profile rows as published (every profile, one period per indicator)."""
    return _memo(tables, ("profile_rows", code), lambda: _compute_profile_rows(tables, code))


def _compute_profile_rows(tables: Mapping[str, Any], code: str) -> pd.DataFrame:
    meta = tables["metadata"]
    frames = [
        indicators.profile_table(tables["values"], meta, code, p)
        for p in dict.fromkeys(meta["profile"])
    ]
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return rows[rows["value"].notna() | rows["suppressed"]] if not rows.empty else rows


def _against(r: Any) -> str:
    """``Name (12.3% against 10.1%)``: the value against the comparator's, at the
    indicator's precision with its unit."""
    meta = {"unit": r.unit, "decimals": getattr(r, "decimals", None)}
    value = fmt.indicator_value(r.value, meta)
    comp = fmt.indicator_value(r.comparator_value, meta)
    if comp == fmt.MISSING:
        return f"{r.name} ({value})"
    return f"{r.name} ({value} against {comp})"


def profile_messages(tables: Mapping[str, Any], code: str) -> list[str]:
    rows = _profile_rows(tables, code)
    if rows.empty:
        return []
    area, comp = _name(tables, code), _comparator(tables, code) or "its comparator"
    sig = rows["significance"].fillna("Not compared")
    compared = rows[~sig.eq("Not compared")]
    worse, better = rows[sig.isin(WORSE)], rows[sig.isin(BETTER)]
    higher, lower = rows[sig.eq("Higher")], rows[sig.eq("Lower")]
    out = []
    if compared.empty:
        return [
            f"None of the {_plural(len(rows), 'indicator')} of {area} can be compared "
            f"with {comp} (no confidence interval, or the figure is suppressed)."
        ]
    if worse.empty and better.empty and higher.empty and lower.empty:
        return [
            f"{area} is not significantly different from {comp} on any of the "
            f"{_plural(len(compared), 'indicator')} compared (95% confidence)."
        ]
    out.append(
        f"Compared with {comp} on {_plural(len(compared), 'indicator')} at 95% "
        f"confidence, {area} is significantly {_counts(compared, worse, better, higher, lower)}."
    )
    if len(worse):
        out.append(
            f"Worse than {comp}: " + _listing([_against(r) for r in worse.itertuples()]) + "."
        )
    if len(better):
        out.append(
            f"Better than {comp}: " + _listing([_against(r) for r in better.itertuples()]) + "."
        )
    for label, part in (("Higher", higher), ("Lower", lower)):
        if len(part):
            out.append(
                f"{label} than {comp}, where neither is better: "
                + _listing([_against(r) for r in part.itertuples()])
                + "."
            )
    getting = _worse_and_worsening(tables, code, worse)
    if getting:
        out.append("Worse and getting worse: " + _listing(getting) + ".")
    return out


def _counts(
    compared: pd.DataFrame,
    worse: pd.DataFrame,
    better: pd.DataFrame,
    higher: pd.DataFrame,
    lower: pd.DataFrame,
) -> str:
    """``worse on 6 and better on 19[, and higher or lower on 5 where neither is better]``;
    for a set of no-judgement indicators only, ``higher on 12 and lower on 9, where neither
    is better`` (never "worse" or "better" where the indicators have no judgement)."""
    judged = (compared["polarity"] != "no_judgement").any()
    if not judged:
        return (
            f"higher on {fmt.count(len(higher))} and lower on {fmt.count(len(lower))}, "
            "on indicators where neither is better"
        )
    text = f"worse on {fmt.count(len(worse))} and better on {fmt.count(len(better))}"
    if len(higher) + len(lower):
        text += (
            f", and higher or lower on {fmt.count(len(higher) + len(lower))} where "
            "neither is better"
        )
    return text


def _worse_and_worsening(tables: Mapping[str, Any], code: str, worse: pd.DataFrame) -> list[str]:
    if worse.empty:
        return []
    t = trends(tables["values"], tables["metadata"], code)
    if t.empty:
        return []
    label = t.drop_duplicates("indicator_id").set_index("indicator_id")["trend"]
    hits = [i for i in worse["indicator_id"] if str(label.get(i, "")).endswith("getting worse")]
    names = tables["metadata"].set_index("indicator_id")["name"]
    return [f"{names[i]} ({label[i].lower()})" for i in hits]


# --- practice variation ------------------------------------------------------------------


def variation_messages(
    tables: Mapping[str, Any], code: str, points: pd.DataFrame | None = None
) -> list[str]:
    """``points``: the funnel points of the area's peer group
    (:func:`nhsbook.analysis.variation.practice_points` of :func:`nhsbook.analysis.variation.peer_group`) when
    the caller has them (the PDF reports share them between the practices of a CCG)."""
    areas = tables["areas"]
    target, practices = variation.peer_group(areas, code)
    if not practices:
        return []
    if points is None:
        values = disclosure.apply(tables["values"])
        points = variation.practice_points(values, tables["metadata"], areas, practices, target)
    if points.empty:
        return []
    out_rows = variation.outliers(points)
    row = _area(tables, code)
    mine = row is not None and row["area_type"] == "practice"
    if mine:
        out_rows = out_rows[out_rows["Practice code"] == code]
    target_name = _name(tables, target)
    n_ind = points["indicator_id"].nunique()
    if out_rows.empty:
        who = f"{_name(tables, code)} does not lie" if mine else "No practice lies"
        return [
            f"{who} outside the 99.8% limits around the value of {target_name} on any "
            f"of the {_plural(n_ind, 'indicator')} with practice values."
        ]
    n_pr = out_rows["Practice code"].nunique()
    n_i = out_rows["Indicator"].nunique()
    w = int((out_rows["Better or worse"].str.lower() == "worse").sum())
    b = int((out_rows["Better or worse"].str.lower() == "better").sum())
    o = len(out_rows) - w - b
    split = [
        t
        for n, t in (
            (w, f"{fmt.count(w)} worse"),
            (b, f"{fmt.count(b)} better"),
            (o, f"{fmt.count(o)} higher or lower where neither is better"),
        )
        if n
    ]
    if mine:
        text = (
            f"{_name(tables, code)} lies outside the 99.8% limits around the value of "
            f"{target_name} on {_plural(n_i, 'indicator')} ({', '.join(split)})."
        )
    else:
        n_all = len(set(practices))
        who = (
            "The only practice compared"
            if n_all == 1
            else f"All {_plural(n_all, 'practice')} compared"
            if n_pr == n_all
            else f"{fmt.count(n_pr)} of the {_plural(n_all, 'practice')} compared"
        )
        verb = "lies" if n_pr == 1 else "lie"
        text = (
            f"{who} {verb} outside the 99.8% limits around the value of {target_name}: "
            f"{_plural(len(out_rows), 'practice-indicator value')} on "
            f"{_plural(n_i, 'indicator')} ({', '.join(split)})."
        )
    msgs = [text]
    rel = out_rows.assign(gap=(out_rows["Value"] / out_rows["CCG value"] - 1).abs())
    rel = rel[np.isfinite(rel["gap"])]
    if len(rel):
        meta = tables["metadata"].set_index("name")
        top = _ties(rel, "gap")
        items = []
        for r in top.to_dict("records"):
            m = {"unit": meta["unit"].get(r["Indicator"], "")}
            items.append(
                f"{r['Practice']} on {r['Indicator']} "
                f"({fmt.indicator_value(r['Value'], m)} against "
                f"{fmt.indicator_value(r['CCG value'], m)})"
            )
        msgs.append("Furthest from the value of " + target_name + ": " + _listing(items) + ".")
    return msgs


# --- similar areas ---------------------------------------------------------------------


def peers_messages(tables: Mapping[str, Any], code: str, area_page: Any = None) -> list[str]:
    """The similar-areas page: the nearest peers, and where the area differs significantly
    from its similar 10 (:meth:`nhsbook.pages.area.AreaPage.peer_comparison_rows`); ``[]``
    without peers."""
    if area_page is None or not area_page.has_peers():
        return []
    page = area_page
    mine = page.my_peers()
    names = mine["peer_name"].astype(str).tolist()
    out = [
        f"The areas most like {page.name} are {_listing(names[:3])} "
        f"(nearest: {names[0]}, distance {float(mine['distance'].iloc[0]):.2f}); "
        f"{_plural(len(names), 'peer')} in all."
    ]
    rows = page.peer_comparison_rows()
    if rows.empty:
        return out
    sig = rows["peer_significance"].fillna("Not compared")
    compared = rows[~sig.eq("Not compared")]
    if compared.empty:
        return out
    pol = compared["indicator_id"].map(page.metadata.set_index("indicator_id")["polarity"])
    judged, unjudged = compared[pol.ne("no_judgement")], compared[pol.eq("no_judgement")]
    jsig, usig = sig[judged.index], sig[unjudged.index]
    w = judged.loc[jsig.isin(WORSE), "name"].astype(str).tolist()
    b = judged.loc[jsig.isin(BETTER), "name"].astype(str).tolist()
    h = unjudged.loc[usig.eq("Higher"), "name"].astype(str).tolist()
    lo = unjudged.loc[usig.eq("Lower"), "name"].astype(str).tolist()
    if len(judged):
        text = (
            f"Against its similar 10, {page.name} is significantly worse on "
            f"{fmt.count(len(w))} and better on {fmt.count(len(b))} of "
            f"{_plural(len(judged), 'indicator')} compared"
        )
        text += f": worse on {_listing(w, 3)}." if w else "."
        out.append(text)
    if len(unjudged):
        out.append(
            f"Where neither is better, it is significantly higher than its similar 10 on "
            f"{fmt.count(len(h))} and lower on {fmt.count(len(lo))} of "
            f"{_plural(len(unjudged), 'indicator')}"
            + (f": higher on {_listing(h, 3)}." if h else ".")
        )
    return out


# --- national maps -----------------------------------------------------------------------


def national_messages(tables: Mapping[str, Any], code: str, area_page: Any = None) -> list[str]:
    """The national maps page: how the area compares with England on every indicator, and
    the indicators where it ranks in the highest or lowest fifth of England's areas of its
    kind (:func:`nhsbook.pipeline.national.summary`); ``[]`` for an area with no national maps."""
    if area_page is None or _area(tables, code) is None:
        return []
    try:
        rows, _, _, plural = national.summary(area_page)
    except KeyError:
        return []
    nat = national.table(area_page.book)
    own = nat[nat["area_code"] == code].set_index("indicator_id")
    rows = rows.assign(
        rank=rows["indicator_id"].map(own["rank"]), n=rows["indicator_id"].map(own["n_ranked"])
    ).dropna(subset=["rank"])
    if rows.empty:
        return []
    n = int(rows["n"].max())
    sig = rows["Compared with England"].fillna("Not compared")
    out = []
    compared = int((~sig.isin(["Not compared", ""])).sum())
    if compared:
        parts = [
            f"{s.lower()} on {fmt.count(int(sig.eq(s).sum()))}"
            for s in ("Higher", "Similar", "Lower", "Better", "Worse")
            if sig.eq(s).any()
        ]
        out.append(
            f"Compared with England (95% limits), {area_page.name} is "
            f"{_listing(parts)} of the {_plural(compared, 'indicator')} mapped."
        )
    top = rows[rows["rank"] <= n / 5].sort_values("rank")
    low = rows[rows["rank"] > n - n / 5].sort_values("rank", ascending=False)
    for part, word in ((top, "highest"), (low, "lowest")):
        if len(part):
            named = [
                f"{r['Indicator']} ({national.ordinal(r['rank'])})" for _, r in part.iterrows()
            ]
            out.append(
                f"Among the {word} fifth of England's {n} {plural} on "
                f"{_plural(len(part), 'indicator')}: {_listing(named, 4)}."
            )
    return out


# --- population --------------------------------------------------------------------------


def population_messages(tables: Mapping[str, Any], code: str, area_page: Any = None) -> list[str]:
    """The population page: people, % aged 65+ and 75+ against the pyramid's comparator and
    the projected growth, read from the area's page (``area_page``: a
    :class:`nhsbook.pages.area.AreaPage`, which the page and the report pass; ``[]`` without
    one)."""
    if area_page is None or _area(tables, code) is None:
        return []
    page = area_page
    out = []
    if not page.missing_population():
        data = page.pyramid_data()
        own = data[data["role"] == "area"]
        ref = data[data["role"] == "comparator"]
        m = pop.structure(own)
        year = f" ({page.population_year()})" if page.population_year() else ""
        text = (
            f"{page.name} has {fmt.count(m['total'])} people{year}: "
            f"{fmt.percent(m['over_65_pct'])} aged 65 and over and "
            f"{fmt.percent(m['over_75_pct'])} aged 75 and over"
        )
        if not ref.empty:
            r = pop.structure(ref)
            ref_name = str(ref["name"].iloc[0])
            text += (
                f", against {fmt.percent(r['over_65_pct'])} and "
                f"{fmt.percent(r['over_75_pct'])} in {ref_name}"
            )
            ref_year = _year_in(ref_name)
            if year and ref_year and ref_year not in year:
                text += (
                    f". The two populations are of different years ({year.strip(' ()')} "
                    f"and {ref_year}): the comparison is of their shape, not a change "
                    "over time"
                )
        out.append(text + ".")
    proj, proj_area = page.projection()
    if not proj.empty:
        y0, y1 = int(proj["year"].min()), int(proj["year"].max())
        g = pop.growth_between(proj, proj["area_code"].iloc[0], y0, y1)
        out.append(
            f"{proj_area} is projected to grow by {fmt.percent(g['all_ages'])} a year "
            f"from {y0} to {y1}, and its people aged 75 and over by "
            f"{fmt.percent(g['over_75'])} a year."
        )
    return out


def _year_in(name: str) -> str:
    """The year a comparator's name gives (``Derbyshire County (ONS mid-2019)`` → 2019)."""
    import re

    hit = re.findall(r"(?:19|20)\d\d", name)
    return hit[-1] if hit else ""


# --- SPOT ----------------------------------------------------------------------------------


def spot_messages(tables: Mapping[str, Any], code: str, top: int = 3) -> list[str]:
    data = tables.get("spot")
    if data is None or not data.has_area(code):
        return []
    table = spot.spot_table(data, code)
    peers = spot.peer_group_name(data, code)
    year = str(table["year"].iloc[0]) if "year" in table.columns and len(table) else ""
    hw = table[table["quadrant"] == spot.HIGHER_WORSE].head(top)
    out = []
    if hw.empty:
        out.append(
            f"No programme of {_name(tables, code)} combines higher spend with a worse "
            f"outcome than its peer group ({peers})."
        )
    else:
        items = [
            f"{r.programme} ({fmt.pounds_per_head(r.spend_per_head)} per head, spend z "
            f"{fmt.number(r.spend_z, 1)}; outcome z {fmt.number(r.outcome_z, 1)})"
            for r in hw.itertuples()
        ]
        out.append(
            f"Largest opportunity against the peer group ({peers}), higher spend with a "
            f"worse outcome: " + _listing(items) + "."
        )
    beyond = table[table["investigate"]]
    if len(beyond):
        out.append(
            f"{_plural(len(beyond), 'programme')} lie beyond ±2 on spend or outcome, "
            "the SPOT threshold to investigate further: "
            + _listing(list(beyond["programme"]))
            + "."
        )
    if year:
        out.append(
            f"Spend is programme budgeting {year}; outcomes are of their own periods "
            "(see the table)."
        )
    return out


# --- finance -------------------------------------------------------------------------------


def finance_messages(tables: Mapping[str, Any], code: str) -> list[str]:
    fin = tables.get("finance")
    if fin is None:
        return []
    pos = finance.position(fin, code)
    if pos.empty:
        pp = finance.practice_position(fin, code) if _has_practices(fin, code) else None
        if pp is None or pp.empty:
            return plan_messages(fin, code)
        s = finance.practice_summary(pp)
        month = int(pp["month"].iloc[0])
        over = s[s["forecast_variance"] < 0]
        return [
            f"Practice indicative budgets of {fmt.pounds_m(s['annual_budget'].sum())} in "
            f"all; at month {month} the run rate forecasts an outturn of "
            f"{fmt.pounds_m(s['forecast_outturn'].sum())} "
            f"({_variance_words(s['forecast_variance'].sum())}), with "
            f"{_plural(len(over), 'practice')} forecast to overspend."
        ]
    total = pos[pos["row_id"] == "total_revenue"]
    if total.empty:
        total = pos.iloc[[0]]
    t = total.iloc[0]
    month = int(t["month"])
    out = [
        f"At {t['as_at']} (month {month} of {t['period']}), spend to date is "
        f"{fmt.pounds_m(t['expenditure_to_date'])} against a budget to date of "
        f"{fmt.pounds_m(t['budget_to_date'])} ({_variance_words(t['variance_to_date'])}).",
        f"Forecast outturn {fmt.pounds_m(t['forecast_outturn'])} against an annual budget "
        f"of {fmt.pounds_m(t['annual_budget'])} "
        f"({_variance_words(t['forecast_variance'])}).",
    ]
    lines = pos[pos["parent_id"] == "total_revenue"].dropna(subset=["forecast_variance"])
    over = lines[lines["forecast_variance"] < 0]
    under = lines[lines["forecast_variance"] > 0]
    if len(over):
        top = _ties(over, "forecast_variance", largest=False)
        out.append(
            "Largest forecast overspend: "
            + _listing(
                [f"{r.line} ({fmt.pounds_k(-r.forecast_variance)})" for r in top.itertuples()]
            )
            + "."
        )
    if len(under):
        top = _ties(under, "forecast_variance")
        out.append(
            "Largest forecast underspend: "
            + _listing(
                [f"{r.line} ({fmt.pounds_k(r.forecast_variance)})" for r in top.itertuples()]
            )
            + "."
        )
    return out


def plan_messages(fin: Any, code: str) -> list[str]:
    """The finance messages of an organisation the seeds publish no financial position for:
    its 2012-13 allocation (Table 12, a PCT) or indicative baseline (Table 13, a CCG), the
    QIPP requirement of its draft plan (Table 14) and its share of the 2011-12 QIPP delivery
    (the County PCT's scheme table); ``[]`` when the seeds publish none of them."""
    out = []
    col = finance.org_column(code)
    own = col is not None and col != "total"  # a PCT's own column of Tables 12 and 14
    up = _finance_table(fin, "finance_uplift")
    if own and up is not None:
        up = up.set_index("row_id")
        if {"baseline", "growth", "total"} <= set(up.index):
            growth = up.loc["growth", col] + (
                up.loc["reablement", col] if "reablement" in up.index else 0
            )
            out.append(
                f"Allocation for 2012-13 of {fmt.pounds_m(up.loc['total', col])}: the "
                f"2011-12 baseline of {fmt.pounds_m(up.loc['baseline', col])} plus "
                f"{fmt.pounds_m(growth)} of growth and re-ablement monies (Table 12)."
            )
    base = _finance_table(fin, "finance_ccg_baselines")
    row = (
        base[(base["org_code"] == code) & (base["row_id"] == code)]
        if base is not None and col is None
        else pd.DataFrame()
    )
    if not row.empty and row.iloc[0]["baseline"] > 0:
        r = row.iloc[0]
        out.append(
            f"Indicative baseline for 2012-13 of {fmt.pounds_m(r['baseline'])} plus "
            f"growth of {fmt.pounds_m(r['growth'])} "
            f"({fmt.percent(100 * r['growth'] / r['baseline'])}): "
            f"{fmt.pounds_m(r['total'])} in all (Table 13)."
        )
    plan = _finance_table(fin, "finance_plan")
    if own and plan is not None and plan["kind"].eq("qipp").any():
        balance = plan.loc[plan["kind"] == "balance", col].sum()
        out.append(
            f"The draft plan for 2012-13 needs QIPP savings of "
            f"{fmt.pounds_m(finance.qipp_requirement(plan, col))} to leave a balance "
            f"of {fmt.pounds_m(balance)} (Table 14)."
        )
    if _finance_table(fin, "finance_qipp") is not None:
        qipp, qcol = finance.qipp_for(fin, code)
        if qcol is not None and qcol != "total" and not qipp.empty:
            track = finance.qipp_tracking(qipp, qcol)
            planned, delivered = track["planned"].sum(), track["delivered"].sum()
            if planned > 0:
                out.append(
                    f"QIPP 2011-12: {fmt.pounds_m(delivered)} delivered of "
                    f"{fmt.pounds_m(planned)} planned "
                    f"({fmt.percent(100 * delivered / planned, 0)}) in the County "
                    "PCT's schemes."
                )
    return out


def _finance_table(fin: Any, name: str) -> pd.DataFrame | None:
    try:
        return fin[name]
    except KeyError:
        return None


def _has_practices(fin: Any, code: str) -> bool:
    try:
        return not fin["finance_pbc_published"].query("org_code == @code").empty
    except (KeyError, AttributeError):
        return False


def _variance_words(variance: float) -> str:
    """Budget minus spend in £'000 as words: an underspend of £1.2m / an overspend of ..."""
    if variance is None or pd.isna(variance):
        return "variance not published"
    v = float(variance)
    if round(v) == 0:
        return "on budget"
    kind = "underspend" if v > 0 else "overspend"
    # under £0.1m a total reads in £k, so that a small variance is not shown as £0.0m
    amount = fmt.pounds_m(abs(v)) if abs(v) >= 50 else fmt.pounds_k(abs(v))
    return f"an {kind} of {amount}"


# --- performance ---------------------------------------------------------------------------


def performance_messages(tables: Mapping[str, Any], code: str) -> list[str]:
    perf, fin = tables.get("performance"), tables.get("finance")
    if perf is None:
        return []
    r = perf["performance_ratings"]
    pcts = sorted(set(r["org_code"])) if code == "DERBYSHIRE-CLUSTER" else [code]
    r = r[r["org_code"].isin(pcts)]
    if r.empty:
        return []
    names = (
        dict(zip(fin.organisations["org_code"], fin.organisations["org_name"]))
        if fin is not None
        else {}
    )
    counts = performance.rating_counts(r)
    year = str(counts["year"].max())
    latest = counts[counts["year"] == year]
    out = []
    for org, g in latest.groupby("org_code"):
        s = g[["achieved", "under_achieved", "failed", "satisfactory"]].sum()
        rated = int(s.sum())
        parts = [
            f"achieved {fmt.count(s['achieved'])}",
            f"under-achieved {fmt.count(s['under_achieved'])}",
            f"failed {fmt.count(s['failed'])}",
        ]
        if s["satisfactory"]:
            parts.append(f"satisfactory {fmt.count(s['satisfactory'])}")
        out.append(
            f"{names.get(org, org)}, {year}: of {_plural(rated, 'rated indicator')} "
            f"(existing commitments and national priorities), " + ", ".join(parts) + "."
        )
    sop = [performance.sop_table(perf, o) for o in pcts]
    sop = [s for s in sop if not s.empty]
    if sop:
        s = pd.concat(sop)
        if s["latest_result"].isna().all():
            out.append(
                f"No 2011/12 results are published for the {_plural(len(s), 'target')}"
                " set in the Strategic & Operating Plan."
            )
    return out


# --- overview, inequalities, maps ------------------------------------------------------------


def overview_messages(tables: Mapping[str, Any], code: str) -> list[str]:
    values, meta, areas = tables["values"], tables["metadata"], tables["areas"]
    out = []
    if views.children(areas, code):
        try:
            rug = views.rug_data(values, meta, areas, code)
        except ValueError:
            rug = pd.DataFrame()
        cells = rug[rug["kind"] == "area"] if len(rug) else rug
        if len(cells):
            n = cells[cells["significance"].isin(WORSE)].groupby("column").size()
            if len(n) and n.max() > 0:
                top = n[n == n.max()]
                out.append(
                    f"Across the {_plural(cells['column'].nunique(), 'area')} of the "
                    f"overview, the most indicators significantly worse than the "
                    f"comparator: {_listing(list(top.index))} "
                    f"({_plural(int(n.max()), 'indicator')})."
                )
    out += correlation_messages(tables, code)
    return out


def correlation_messages(tables: Mapping[str, Any], code: str) -> list[str]:
    """The strongest correlation with the deprivation score across practices, headlined
    only when significant after a Bonferroni correction (p < 0.05 / indicators tested),
    with r, n and p; otherwise a sentence saying none is."""
    dep = views.deprivation_indicator(tables["metadata"])
    if dep is None:
        return []
    try:
        scatter = views.scatter_data(
            tables["values"], tables["metadata"], tables["areas"], code, dep
        )
    except (ValueError, KeyError):
        return []
    if scatter.empty:
        return []
    return [
        correlation_sentence(views.correlation_table(scatter), str(scatter["x_indicator"].iloc[0]))
    ]


def correlation_sentence(table: pd.DataFrame, x_name: str) -> str:
    """The headline of a :func:`nhsbook.analysis.views.correlation_table` (see
    :func:`correlation_messages`)."""
    tested = table.dropna(subset=["r", "p"])
    if tested.empty:
        return f"No correlation with {x_name} could be calculated across the practices."
    cut = ALPHA / len(tested)
    sig = tested[tested["p"] < cut]
    if sig.empty:
        return (
            f"No indicator is significantly correlated with {x_name} across the "
            f"practices (p < {cut:.2g} needed, after a Bonferroni correction for "
            f"{_plural(len(tested), 'indicator')} tested)."
        )
    best = sig.assign(a=sig["r"].abs()).sort_values("a", ascending=False).iloc[0]
    return (
        f"The strongest correlation with {x_name} is {best['Indicator']}: "
        f"r = {best['r']:.2f} ({fmt.count(best['Practices'])} practices, "
        f"{fmt.p_value(best['p'])}; {_plural(len(sig), 'indicator')} of "
        f"{fmt.count(len(tested))} significant after a Bonferroni correction). "
        "A correlation between practices does not show cause."
    )


def inequalities_messages(
    tables: Mapping[str, Any], code: str, summary: pd.DataFrame | None = None
) -> list[str]:
    """``summary``: the page's :func:`nhsbook.analysis.views.inequality_data` summary when it has
    computed it (the SII's simulation takes seconds); computed here otherwise."""
    dep = views.deprivation_indicator(tables["metadata"])
    if dep is None:
        return []
    if summary is None:
        try:
            _, summary = views.inequality_data(
                tables["values"],
                tables["metadata"],
                tables["areas"],
                code,
                dep,
                quintiles=tables.get("quintiles"),
            )
        except (ValueError, KeyError):
            return []
    if summary.empty:
        return []
    return inequality_sentences(summary, tables["metadata"])


def inequality_sentences(summary: pd.DataFrame, metadata: pd.DataFrame) -> list[str]:
    """Gaps whose SII 95% interval excludes 0, largest RII distance from 1 first."""
    ok = summary.dropna(subset=["sii", "sii_lower", "sii_upper"])
    if ok.empty:
        return []
    sig = ok[(ok["sii_lower"] > 0) | (ok["sii_upper"] < 0)]
    if sig.empty:
        return [
            f"No indicator shows a gap by deprivation whose 95% interval excludes 0 "
            f"({_plural(len(ok), 'indicator')} with a slope index of inequality)."
        ]
    meta = metadata.set_index("indicator_id")
    sig = sig.assign(d=(sig["rii"] - 1).abs()).sort_values("d", ascending=False)
    items = []
    for r in sig.head(3).itertuples():
        m = meta.loc[r.indicator_id] if r.indicator_id in meta.index else None
        unit = (
            "percentage points"
            if m is not None and m["unit"] == "%"
            else (m["unit"] if m is not None else "")
        )
        unit = f" {unit}" if unit else ""
        items.append(
            f"{r.indicator} (SII {fmt.sii(r.sii, m)}{unit}, 95% CI "
            f"{fmt.sii(r.sii_lower, m)} to {fmt.sii(r.sii_upper, m)})"
        )
    return [
        f"{_plural(len(sig), 'indicator')} of {fmt.count(len(ok))} differ significantly "
        "between the most and the least deprived practices (the SII's 95% interval "
        "excludes 0); the largest relative gaps: " + _listing(items) + "."
    ]


def maps_messages(
    tables: Mapping[str, Any],
    code: str,
    lsoa_table: pd.DataFrame | None = None,
    area_name: str | None = None,
) -> list[str]:
    """The maps page: the area's deprivation indicator against its comparator, and, given the
    page's LSOA table (``lsoa_table``: one row per LSOA with ``imd2019_decile``), how many
    of its LSOAs are among England's 20% most and least deprived (``area_name`` names an
    area the book's tables do not hold)."""
    out = [s for s in [_deprivation_sentence(tables, code)] if s]
    if lsoa_table is not None and "imd2019_decile" in lsoa_table and len(lsoa_table):
        dec = pd.to_numeric(lsoa_table["imd2019_decile"], errors="coerce").dropna()
        if len(dec):
            most, least = int((dec <= 2).sum()), int((dec >= 9).sum())
            name = _name(tables, code) if _area(tables, code) is not None else (area_name or code)
            out.append(
                f"{fmt.count(most)} of the {_plural(len(dec), 'LSOA')} of {name} "
                f"({fmt.percent(100 * most / len(dec), 0)}) are among England's 20% "
                f"most deprived (IMD 2019 deciles 1 and 2) and {fmt.count(least)} "
                f"({fmt.percent(100 * least / len(dec), 0)}) among the 20% least "
                "deprived."
            )
    return out


def _deprivation_sentence(tables: Mapping[str, Any], code: str) -> str:
    dep = views.deprivation_indicator(tables["metadata"])
    if dep is None or _area(tables, code) is None:
        return ""
    v = disclosure.apply(tables["values"])
    v = views.latest(v[(v["indicator_id"] == dep) & (v["category_type"].fillna("") == "")])
    own = v[v["area_code"] == code]
    if own.empty or own["value"].isna().all():
        return ""
    meta = tables["metadata"].set_index("indicator_id").loc[dep]
    r = own.iloc[0]
    comp = _comparator(tables, code)
    text = f"{meta['name']} of {_name(tables, code)}: {fmt.indicator_value(r['value'], meta)}"
    if comp and pd.notna(r.get("comparator_value")):
        text += f" against {fmt.indicator_value(r['comparator_value'], meta)} in {comp}"
    return text + f" ({r['period']})."


# --- the API ---------------------------------------------------------------------------------

_WRITERS = {
    "profile": profile_messages,
    "variation": variation_messages,
    "population": population_messages,
    "spot": spot_messages,
    "finance": finance_messages,
    "performance": performance_messages,
    "overview": overview_messages,
    "inequalities": inequalities_messages,
    "maps": maps_messages,
    "peers": peers_messages,
    "national": national_messages,
}


def key_messages(
    tables: Mapping[str, Any], area_code: str, page: str, **computed: Any
) -> list[str]:
    """The key messages of ``page`` (one of :data:`PAGES`) for ``area_code``: plain-text
    sentences, not escaped; ``[]`` when the page type has nothing to say for the area.
    ``computed``: what the page has already computed and the writer can reuse
    (``summary=`` of the inequalities page)."""
    if page not in _WRITERS:
        raise ValueError(f"unknown page type {page!r}: expected one of {', '.join(PAGES)}")
    return [" ".join(s.split()) for s in _WRITERS[page](tables, area_code, **computed) if s]


def headline(tables: Mapping[str, Any], area_code: str) -> str:
    """One line for the landing page: the profile's worse / better counts for an area with
    indicators, else the forecast outturn of an organisation with finance, else the
    deprivation score; ``""`` when there is nothing to headline."""
    rows = _profile_rows(tables, area_code) if _area(tables, area_code) is not None else []
    if len(rows):
        sig = rows["significance"].fillna("Not compared")
        n = int((~sig.eq("Not compared")).sum())
        comp = _comparator(tables, area_code)
        if n and comp:
            compared = rows[~sig.eq("Not compared")]
            if (compared["polarity"] != "no_judgement").any():
                w, b = int(sig.isin(WORSE).sum()), int(sig.isin(BETTER).sum())
                return (
                    f"Significantly worse than {comp} on {fmt.count(w)} and better on "
                    f"{fmt.count(b)} of {_plural(n, 'indicator')} compared."
                )
            h, lo = int(sig.eq("Higher").sum()), int(sig.eq("Lower").sum())
            return (
                f"Significantly higher than {comp} on {fmt.count(h)} and lower on "
                f"{fmt.count(lo)} of {_plural(n, 'indicator')} compared, where neither "
                "is better."
            )
    fin = finance_messages(tables, area_code)
    if fin:
        return fin[1] if len(fin) > 1 and fin[1].startswith("Forecast") else fin[0]
    maps = maps_messages(tables, area_code)
    return maps[0] if maps else ""


def headlines(tables: Mapping[str, Any], codes: Iterable[str]) -> dict[str, str]:
    """:func:`headline` of each code."""
    return {c: " ".join(headline(tables, c).split()) for c in codes}
