"""The attacker: recover suppressed counts from a published site by differencing and inversion.

Disclosure control blanks counts from 1 to ``threshold − 1`` (1–4 by default), but a blanked
count can still be worked out from what *is* published.  This module does it the way an
attacker would, from the built site alone plus the book's area hierarchy (the computed
``areas`` table: code, type, parent), and :func:`nhsbook.build.publish.scan` fails the publish if
any suppressed count comes out.

1. **What the site says about each count** (:func:`read_site`).  Every CSV, every HTML table
   and every chart's embedded data is read; columns are recognised by their role in the data
   model (:data:`nhsbook.core.model.COLUMN_ROLES`), rows by indicator (id, or name) and area
   (code, name, or the page's own area), and each row gives bounds on the count of its
   (indicator, period, area) cell:

   * a published count (exact; ± half the rounding base when counts are rounded);
   * ``count = value × denominator / multiplier`` (proportions, crude rates, ratios) and
     ``observed = value / reference × expected`` (indirectly standardised ratios/rates);
   * inversion of published limits (:func:`invert_poisson`, :func:`invert_wilson`,
     :func:`invert_dobson`): for Byar's / exact Poisson limits (crude rates, ISRs)
     ``lower ÷ value`` and ``upper ÷ value`` depend on the count alone; Wilson limits give
     count and denominator; for Dobson's DSR limits ``(value − lower) ÷ (upper − value)``
     depends on the total count alone;
   * ``Supp.`` (or a value note saying "suppressed", on a row that shows no value) marks
     the cell as suppressed.  The attacker is assumed to know the rule set: zeros are
     published and secondary suppression picks non-zero cells, so a suppressed cell holds
     at least 1 (counts that can be negative aside: the excess winter deaths index); a cell
     whose note says "count between 1 and N suppressed" (or, on a site where no note tells
     primary from secondary suppression apart, any suppressed cell without a note) is known
     to hold 1..N.

   Every number carries its rounding: a column whose numbers have at most 4 significant
   figures is taken as rounded to 4 significant figures (or its decimals, whichever is
   coarser), otherwise to its largest number of decimals; bounds are computed by interval
   arithmetic over that rounding, so an attacker who rounds as the site does gets no more.
2. **The equations the book publishes** (:func:`site_groups`): every roll-up area equals the
   sum of the practices below it (practice → locality/PCN → CCG, as
   :mod:`nhsbook.analysis.indicators` computes them), and every deprivation-quintile bar of an
   inequalities page equals the sum of the page's practices in that quintile — membership as
   the page publishes it: the quintile table's score range and practice count, matched to each
   practice's published deprivation score (a practice whose rounded score fits two quintiles
   makes both groups unusable).
3. **The attack** (:func:`attack`), per (indicator, period): cells known exactly are
   constants; a group with one unknown cell gives it exactly (parent − siblings, repeated
   until nothing changes); the remaining unknown cells of each connected set of groups are
   bounded by linear programming (``scipy.optimize.linprog``, HiGHS: minimise and maximise
   each cell subject to all the group equations and each cell's bounds).  A cell is a
   **finding** when its bounds, rounded inwards to whole counts, lie wholly within 1 ..
   ``threshold − 1``: the attacker learns that it is small.  For a cell the site already
   says is small (its note), only its exact value is news, so it is a finding when the
   bounds leave a single count.  The LP bounds the real relaxation, so an attacker with
   integer programming can only do better at the margins.

If the priors of the suppressed cells contradict the equations, the component is solved
again with every suppressed cell in 0..∞; an equation that the published figures contradict
(rounded or published rather than summed values) is dropped.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from nhsbook.build.sitefiles import _file_parts
from nhsbook.core.model import COUNT_METHODS, SUPPRESSED, ancestor_of_type, column_role

INF = math.inf
Z95, Z998 = 1.959963984540054, 3.090232306167813
#: Counts tabulated for the inversion of Poisson and Dobson limits.
N_MAX = 200_000
_PRIMARY_NOTE = re.compile(r"count between 1 and (\d+) suppressed", re.I)
_SUPP_WORDS = re.compile(r"\bsupp(\.|ressed)", re.I)
ROLL_UP_TYPES = ("locality", "pcn", "ccg")
#: Methods whose counts can be negative (the excess winter deaths index): a suppressed or
#: unknown cell of theirs is not known to be at least 0.
SIGNED_METHODS = frozenset({"ratio"})


# --- numbers and their rounding ---------------------------------------------------------------

_NUM = re.compile(r"^[-+]?(\d+)(?:\.(\d*))?(?:[eE][-+]?\d+)?$")


def _text(x: object) -> str:
    if isinstance(x, float):
        return repr(x)
    return str(x)


@lru_cache(maxsize=500_000)
def _parse_number(text: str) -> tuple[float, int, int]:
    """(number, decimals, significant figures) of a published number's text (NaN if none)."""
    t = text.replace(",", "").replace("%", "").strip()
    m = _NUM.match(t)
    if not m:
        return np.nan, 0, 0
    if "e" in t.lower():
        return float(t), 16, 17
    frac = (m.group(2) or "").rstrip("0")
    # significant figures: trailing zeros of a whole number are not (12340.0 has 4)
    return float(t), len(frac), len((m.group(1) + frac).strip("0")) or 1


def parse_column(cells) -> tuple[np.ndarray, np.ndarray]:
    """Numbers of a published column and the half-width of their rounding.

    Text is stripped of thousands separators, ``%`` and spaces; what is not a number is NaN.
    If no number of the column has more than 4 significant figures the column is taken as
    rounded to 4 significant figures (half-width ``0.5 × 10^(e − 3)`` for a number of order
    ``10^e``) or to its decimals, whichever is coarser; otherwise to its largest number of
    decimals.  Floats written in full (17 significant figures) get a half-width of 1e-12
    relative.
    """
    parsed = [_parse_number(_text(c)) for c in cells]
    vals = np.array([p[0] for p in parsed], dtype=float)
    decs = np.array([p[1] for p in parsed], dtype=int)
    sigs = np.array([p[2] for p in parsed], dtype=int)
    texts = parsed
    ok = np.isfinite(vals)
    delta = np.full(len(texts), np.nan)
    if ok.any():
        dmax = int(decs[ok].max())
        by_dec = 0.5 * 10.0**-dmax
        if int(sigs[ok].max()) <= 4:
            mag = np.floor(np.log10(np.where(np.abs(vals) > 0, np.abs(vals), 1.0)))
            delta = np.maximum(by_dec, 0.5 * 10.0 ** (mag - 3))
        else:
            delta = np.full(len(texts), by_dec)
        delta = np.maximum(delta, np.abs(np.nan_to_num(vals)) * 1e-12)
        delta[~ok] = np.nan
    return vals, delta


# --- inversion of published limits --------------------------------------------------------------


@lru_cache(maxsize=None)
def _poisson_tables(conf: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts 1..N_MAX and lower ÷ count, upper ÷ count of their exact (< 10) / Byar's limits
    (:func:`nhsbook.stats.byars_limits`)."""
    from nhsbook.stats import byars_limits  # lazy: keeps scipy off this module's import

    o = np.arange(1, N_MAX + 1, dtype=float)
    lo, up = byars_limits(o, conf=conf)
    return o, np.asarray(lo) / o, np.asarray(up) / o


@lru_cache(maxsize=None)
def _increasing(table_id: int, conf: float) -> tuple[np.ndarray, float]:
    """The Byar's part (counts >= 10) of a tabulated ratio as an increasing array and the
    sign applied (−1 for a decreasing ratio)."""
    o, r_lo, r_up = _poisson_tables(conf)
    tables = {0: r_lo, 1: r_up, 2: _dobson_table(conf)[1]}
    tail = tables[table_id][9:]
    return (tail, 1.0) if tail[-1] >= tail[0] else (-tail, -1.0)


@lru_cache(maxsize=None)
def _dobson_table(conf: float) -> tuple[np.ndarray, np.ndarray]:
    """Counts 1..N_MAX and ``(O − O_lower) / (O_upper − O)`` of their Poisson limits."""
    from nhsbook.stats import byars_limits  # lazy: keeps scipy off this module's import

    o = np.arange(1, N_MAX + 1, dtype=float)
    lo, up = byars_limits(o, conf=conf)
    return o, (o - np.asarray(lo)) / (np.asarray(up) - o)


def _in_table(
    o: np.ndarray,
    ratio: np.ndarray,
    a: float,
    b: float,
    sorted_tail: tuple[np.ndarray, float] | None = None,
) -> tuple[float, float]:
    """Smallest and largest count whose tabulated ratio lies in [a, b] (inf, −inf if none).
    Counts below 10 (exact limits) are searched one by one, the rest (Byar's, monotone in
    the count) by bisection."""
    head = np.flatnonzero((ratio[:9] >= a) & (ratio[:9] <= b))
    if sorted_tail is not None:
        tail, sign = sorted_tail
    else:
        tail, sign = ratio[9:], 1.0
        if tail[-1] < tail[0]:
            tail, sign = -tail, -1.0
    lo_b, hi_b = (a, b) if sign > 0 else (-b, -a)
    i = int(np.searchsorted(tail, lo_b, side="left"))
    j = int(np.searchsorted(tail, hi_b, side="right")) - 1
    hits = [float(o[k]) for k in head] + ([float(o[9 + i]), float(o[9 + j])] if j >= i else [])
    if not hits:
        return INF, -INF
    return min(hits), max(hits)


def _div_interval(a: float, da: float, b: float, db: float) -> tuple[float, float]:
    """Bounds of (a ± da) / (b ± db), b − db > 0."""
    if b - db <= 0:
        return -INF, INF
    qs = [(a + sa * da) / (b + sb * db) for sa in (-1, 1) for sb in (-1, 1)]
    return min(qs), max(qs)


def invert_poisson(
    value: float,
    dv: float,
    lower: float = np.nan,
    dl: float = 0.0,
    upper: float = np.nan,
    du: float = 0.0,
    conf: float = 0.95,
) -> tuple[float, float]:
    """Bounds on the count O behind a crude rate or ISR and its exact/Byar's limits.

    Method
        value = O·k, lower = O_lo(O)·k, upper = O_up(O)·k for an unknown scale k (multiplier
        ÷ denominator; reference ÷ expected for an ISR), so ``lower ÷ value = O_lo(O)/O`` and
        ``upper ÷ value = O_up(O)/O`` depend on O alone: exact χ² limits below 10, Byar's
        above (:func:`nhsbook.stats.byars_limits`), monotone in O.  The ratios' intervals
        (interval arithmetic over each number's rounding ``dv``, ``dl``, ``du``) are looked
        up in a table of O = 1..N_MAX; the bounds are the smallest and largest O that fit
        both.
    Edge cases
        A value that may be 0 (``value − dv <= 0``) gives no information (O = 0 has value 0
        and any scale).  Without a usable limit the bounds are (0, inf).  No fitting O
        (inconsistent input) gives (0, inf).
    Returns
        ``(lo, hi)`` bounds of the count.
    """
    if not np.isfinite(value) or value - dv <= 0:
        return 0.0, INF
    o, r_lo, r_up = _poisson_tables(conf)
    lo, hi = 1.0, float(N_MAX)
    used = False
    for tid, lim, dlim, table in ((0, lower, dl, r_lo), (1, upper, du, r_up)):
        if not np.isfinite(lim):
            continue
        a, b = _div_interval(lim, dlim, value, dv)
        c_lo, c_hi = _in_table(o, table, a, b, _increasing(tid, conf))
        if c_lo > c_hi:
            return 0.0, INF
        lo, hi, used = max(lo, c_lo), min(hi, c_hi), True
    if not used or lo > hi:
        return 0.0, INF
    return lo, (hi if hi < N_MAX else INF)


def invert_dobson(
    value: float, dv: float, lower: float, dl: float, upper: float, du: float, conf: float = 0.95
) -> tuple[float, float]:
    """Bounds on the total count O behind a directly standardised rate and its limits.

    Method
        Dobson's limits are ``DSR + √(var/O)·(O_lim − O)`` (:func:`nhsbook.stats.dsr`), so
        ``(DSR − lower) ÷ (upper − DSR) = (O − O_lo) / (O_up − O)``: a function of the total
        count alone (the variance term cancels).  Its interval over the rounding of the three
        numbers is looked up in a table of O = 1..N_MAX.
    Edge cases
        Missing limits, or limits that do not straddle the value, give (0, inf).
    """
    if not (np.isfinite(value) and np.isfinite(lower) and np.isfinite(upper)):
        return 0.0, INF
    a, b = _div_interval(value - lower, dv + dl, upper - value, du + dv)
    if not np.isfinite(a) or b <= 0:
        return 0.0, INF
    o, g = _dobson_table(conf)
    lo, hi = _in_table(o, g, a, b, _increasing(2, conf))
    if lo > hi:
        return 0.0, INF
    return lo, (hi if hi < N_MAX else INF)


def invert_wilson(
    value: float,
    dv: float,
    lower: float,
    dl: float,
    upper: float,
    du: float,
    multiplier: float = 100.0,
    conf: float = 0.95,
    max_checks: int = 20_000,
) -> tuple[float, float]:
    """Bounds on the count x behind a proportion and its Wilson limits (the denominator n is
    unknown).

    Method
        With p = value/multiplier and the limits L, U as fractions, the Wilson interval is
        centred on ``c = (L + U)/2 = (x + z²/2)/(n + z²)``; with ``x = p·n`` this gives
        ``n = z²(½ − c)/(c − p)`` and ``x = p·n``.  Both are monotone in c and p, so their
        bounds over the rounding of the published numbers are at the corners.  When the
        bounds leave few candidates, every integer (x, n) in them is checked against the
        published value and limits (:func:`nhsbook.stats.wilson_limits`, within rounding)
        and the bounds shrink to the x that fit.
    Edge cases
        A value that may be 0 or 100% gives (0, inf).  Missing limits give (0, inf).
    """
    from nhsbook.stats import wilson_limits  # lazy: keeps scipy off this module's import

    m = float(multiplier)
    if not (np.isfinite(value) and np.isfinite(lower) and np.isfinite(upper)) or m <= 0:
        return 0.0, INF
    p, dp = value / m, dv / m
    c, dc = (lower + upper) / (2 * m), (dl + du) / (2 * m)
    if p - dp <= 0 or p + dp >= 1:
        return 0.0, INF
    z2 = (Z95 if conf == 0.95 else Z998) ** 2
    ns = []
    for cc in (c - dc, c + dc):
        for pp in (p - dp, p + dp):
            if cc - pp <= 0:
                return 0.0, INF
            ns.append(z2 * (0.5 - cc) / (cc - pp))
    n_lo, n_hi = max(min(ns), 1.0), max(ns)
    if n_hi <= 0:
        return 0.0, INF
    x_lo, x_hi = max(math.ceil((p - dp) * n_lo - 1e-9), 1), math.floor((p + dp) * n_hi + 1e-9)
    if x_hi < x_lo:
        return 0.0, INF
    # refine: candidate (x, n) pairs that reproduce the published numbers
    if x_hi - x_lo > 2000:
        return float(x_lo), float(x_hi) if x_hi < 1e12 else INF
    xs = np.arange(x_lo, x_hi + 1)
    n_from = np.ceil(xs / (p + dp) - 1e-9)
    n_to = np.floor(xs / (p - dp) + 1e-9)
    n_from, n_to = (
        np.maximum(n_from, math.ceil(n_lo - 1e-9)),
        np.minimum(n_to, math.floor(n_hi + 1e-9)),
    )
    total = np.clip(n_to - n_from + 1, 0, None).sum()
    if total > max_checks:
        return float(x_lo), float(x_hi)
    cand_x, cand_n = [], []
    for x, a, b in zip(xs, n_from, n_to):
        if b >= a:
            n = np.arange(a, b + 1)
            cand_x.append(np.full(n.size, x, dtype=float))
            cand_n.append(n)
    if not cand_x:
        return 0.0, INF
    X, N = np.concatenate(cand_x), np.concatenate(cand_n)
    lo_w, up_w = wilson_limits(X, N, conf=conf)
    fit = (
        (np.abs(X / N * m - value) <= dv + 1e-9)
        & (np.abs(np.asarray(lo_w) * m - lower) <= dl + 1e-9)
        & (np.abs(np.asarray(up_w) * m - upper) <= du + 1e-9)
    )
    if not fit.any():
        return 0.0, INF
    return float(X[fit].min()), float(X[fit].max())


# --- what the site says -----------------------------------------------------------------------


@dataclass
class Cell:
    """What the attacker knows of one count: bounds, whether it is published as suppressed,
    and where each piece of knowledge came from."""

    lo: float = 0.0
    hi: float = INF
    suppressed: bool = False
    primary: int = 0  # N of a "count between 1 and N suppressed" note (0: none)
    secondary: bool = False  # noted as suppressed, but not as a small count
    signed: bool = False  # a count that can be negative (excess winter deaths)
    sources: list[str] = field(default_factory=list)
    exact_from: str = ""  # the first publication that gave the count exactly

    def bound(self, lo: float, hi: float, source: str) -> None:
        if not self.signed:
            lo = max(lo, 0.0)
        if lo <= self.lo and hi >= self.hi:
            return
        new_lo, new_hi = max(self.lo, lo), min(self.hi, hi)
        if new_lo > new_hi + 1e-6:  # contradictory (rounding): keep what we had
            return
        self.lo, self.hi = new_lo, max(new_hi, new_lo)
        if source not in self.sources:
            self.sources.append(source)
        if self.exact and not self.exact_from:
            self.exact_from = source

    @property
    def exact(self) -> bool:
        return (
            bool(np.isfinite(self.hi))
            and math.floor(self.hi + 1e-6) - math.ceil(self.lo - 1e-6) <= 0
        )

    @property
    def known(self) -> bool:
        return self.lo > 0 or np.isfinite(self.hi) or self.suppressed


Key = tuple[str, str]  # (indicator_id, period)


@dataclass
class Knowledge:
    """Per (indicator, period), per area (or quintile group) key: a :class:`Cell`."""

    cells: dict[Key, dict[str, Cell]] = field(default_factory=lambda: defaultdict(dict))
    #: Published values of the deprivation indicator per area (for quintile membership).
    scores: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: Quintile tables of inequalities pages: page area -> {quintile: (practices, lo, hi)}.
    quintiles: dict[str, dict[int, tuple[int, float, float]]] = field(default_factory=dict)

    def cell(self, key: Key, area: str) -> Cell:
        return self.cells[key].setdefault(area, Cell())


def quintile_key(page_area: str, q: int) -> str:
    return f"{page_area} quintile {q}"


@dataclass(frozen=True)
class Group:
    """One equation the site publishes: ``parent = Σ children``."""

    parent: str
    children: tuple[str, ...]
    label: str


class Resolver:
    """Indicator and area of a row (by id/code, by name, or the page's own area)."""

    def __init__(self, metadata: pd.DataFrame, areas: pd.DataFrame | None):
        if areas is None:
            areas = pd.DataFrame({"area_code": [], "area_name": []})
        metadata = metadata.assign(
            **{
                c: metadata[c] if c in metadata else default
                for c, default in (
                    ("name", ""),
                    ("period", ""),
                    ("reference_value", np.nan),
                    ("multiplier", 1.0),
                )
            }
        )
        self.meta = metadata.set_index("indicator_id")
        self.ids = set(self.meta.index.astype(str))
        names = metadata.drop_duplicates("name", keep=False)
        self.by_name = dict(zip(names["name"].astype(str), names["indicator_id"].astype(str)))
        self.codes = set(areas["area_code"].astype(str))
        an = areas.drop_duplicates("area_name", keep=False)
        self.area_by_name = dict(zip(an["area_name"].astype(str), an["area_code"].astype(str)))
        self.period = dict(zip(self.meta.index.astype(str), self.meta["period"].astype(str)))
        ref = (
            self.meta["reference_value"]
            if "reference_value" in self.meta
            else pd.Series(np.nan, index=self.meta.index)
        )
        self.method = {
            str(i): (str(m), float(x), float(r))
            for i, m, x, r in zip(
                self.meta.index, self.meta["method"], self.meta["multiplier"], ref
            )
        }

    def indicator(self, ident: object, name: object) -> str | None:
        if ident is not None and str(ident) in self.ids:
            return str(ident)
        if name is not None:
            return self.by_name.get(str(name))
        return None

    def area(self, code: object, name: object, page: str | None) -> str | None:
        if code is not None and str(code) in self.codes:
            return str(code)
        if name is not None:
            hit = self.area_by_name.get(str(name))
            if hit:
                return hit
            return None
        return page if page in self.codes else None


def page_area(rel: str) -> str | None:
    """The area a published file belongs to: ``areas/<code>/…``, ``data/<code>/…``,
    ``charts/<code>/…`` (and the same under ``_sources``)."""
    parts = Path(rel).parts
    if parts and parts[0] == "_sources":
        parts = parts[1:]
    if len(parts) >= 3 and parts[0] in ("areas", "data", "charts"):
        return parts[1]
    return None


def _blank(x: object) -> bool:
    return (
        x is None
        or (isinstance(x, float) and math.isnan(x))
        or (isinstance(x, str) and not x.strip())
    )


def _is_supp(text: object) -> bool:
    return isinstance(text, str) and text.strip() in (SUPPRESSED, "*", "Supp")


def read_table(
    kn: Knowledge | None,
    table: pd.DataFrame,
    source: str,
    page: str | None,
    res: Resolver,
    deprivation_id: str | None = None,
    rounding: int = 1,
) -> list[tuple[int, str, float, float, str]]:
    """Add what one published table says about counts to ``kn`` (see module docstring,
    step 1).  Returns, for the rows that name a count-method indicator, the bounds their
    value, denominator and limits put on the count (the count column aside):
    ``(row position, indicator, lo, hi, how)`` (what :func:`implied_counts` yields)."""
    implied: list[tuple[int, str, float, float, str]] = []
    if table.empty:
        return implied
    roles: dict[str, str] = {}
    for col in table.columns:
        role = column_role(col)
        if role and role not in roles:
            roles[role] = col
    if not ({"indicator_id", "indicator"} & roles.keys()):
        if kn is not None and "Lowest score" in table.columns and "quintile" in roles and page:
            _read_quintile_table(kn, table, roles["quintile"], page)
        return implied

    def col(r):
        if r not in roles:
            return [None] * len(table)
        return [None if _blank(x) else x for x in table[roles[r]].tolist()]

    ind_ids, ind_names = col("indicator_id"), col("indicator")
    codes, names, periods = col("area_code"), col("area_name"), col("period")
    quint, notes = col("quintile"), col("note")
    # which rows speak of a count (or of a deprivation score) of a known indicator and area
    keep = []
    for k in range(len(table)):
        ind = res.indicator(ind_ids[k], ind_names[k])
        if ind is None or (res.method[ind][0] not in COUNT_METHODS and ind != deprivation_id):
            continue
        if quint[k] is not None and page and codes[k] is None and names[k] is None:
            m = re.match(r"\s*(\d+)", str(quint[k]))
            area = quintile_key(page, int(m.group(1))) if m else None
        else:
            area = res.area(codes[k], names[k], page)
        keep.append((k, ind, area))
    if not keep:
        return implied
    sub = table.iloc[[k for k, _, _ in keep]]
    nums = {
        r: parse_column(sub[roles[r]].tolist())
        for r in ("count", "denominator", "value", "lower_95", "upper_95", "lower_998", "upper_998")
        if r in roles
    }
    supp_any = np.zeros(len(sub), dtype=bool)
    for c in sub.columns:
        if sub[c].dtype == object:
            supp_any |= sub[c].map(_is_supp).to_numpy(dtype=bool)
    for j, (k, ind, area) in enumerate(keep):
        period = str(periods[k]) if periods[k] is not None else res.period.get(ind, "")
        where = f"{source} row {k}"
        v = {r: (a[j], d[j]) for r, (a, d) in nums.items()}
        if (
            kn is not None
            and area is not None
            and deprivation_id
            and ind == deprivation_id
            and "value" in v
            and np.isfinite(v["value"][0])
        ):
            kn.scores.setdefault(area, v["value"])
        meta = res.method[ind]
        if meta[0] not in COUNT_METHODS:
            continue
        nums_k = tuple(sorted((r, float(a), float(d)) for r, (a, d) in v.items() if np.isfinite(a)))
        bounds = _count_bounds(nums_k, meta, rounding)
        lo, hi, hows = 0.0, INF, []
        for b_lo, b_hi, how in bounds:
            if how != "count" and (b_lo > lo or b_hi < hi):
                hows.append(how)
                lo, hi = max(lo, b_lo), min(hi, b_hi)
        if hows and lo <= hi + 0.5:
            implied.append((k, ind, lo, hi, " and ".join(hows)))
        if kn is None or area is None:
            continue
        cell = kn.cell((ind, period), area)
        if meta[0] in SIGNED_METHODS and not cell.signed:
            cell.signed, cell.lo = True, -INF
        note = notes[k] if isinstance(notes[k], str) else ""
        # a row is about a suppressed cell when it shows no value of its own (a note on a
        # row with a value, e.g. "a quintile's value is missing or suppressed", is not)
        no_value = ("value" in roles or "count" in roles) and not np.isfinite(
            v.get("value", (np.nan, 0))[0]
        )
        if no_value and (supp_any[j] or _SUPP_WORDS.search(note)):
            cell.suppressed = True
            m = _PRIMARY_NOTE.search(note)
            if m:
                cell.primary = max(cell.primary, int(m.group(1)))
            elif _SUPP_WORDS.search(note):
                cell.secondary = True
        for b_lo, b_hi, _ in bounds:
            cell.bound(b_lo, b_hi, where)
    return implied


@lru_cache(maxsize=200_000)
def _count_bounds(
    nums: tuple, meta: tuple[str, float, float], rounding: int
) -> tuple[tuple[float, float, str], ...]:
    found = count_bounds(dict((r, (a, d)) for r, a, d in nums), meta, rounding)
    if rounding <= 1:
        return tuple(found)
    # under rounding every published figure is computed from the rounded count, so what it
    # gives back is the rounded count: the true one lies within half the base of it
    half = rounding / 2
    return tuple(
        (lo, hi, how) if how == "count" else (lo - half, hi + half, how) for lo, hi, how in found
    )


def count_bounds(
    v: dict[str, tuple[float, float]], meta: tuple[str, float, float], rounding: int = 1
):
    """Bounds on a row's count from its published numbers (module docstring, step 1).

    ``v`` maps roles (``count``, ``denominator``, ``value``, limits) to (number, rounding
    half-width); ``meta`` is the indicator's (method, multiplier, reference value).  Yields
    ``(lo, hi, how)`` for each way the numbers bound the count.
    """
    method, mult, ref = meta
    get = lambda r: v.get(r, (np.nan, 0.0))  # noqa
    c, dc = get("count")
    if np.isfinite(c):
        half = rounding / 2 if rounding > 1 else 0.0
        yield c - half, c + half, "count"
    val, dval = get("value")
    if not np.isfinite(val):
        return
    if val == 0 and dval < 1e-9 and method != "dsr":
        yield 0.0, 0.0, "value 0"
        return
    den, dden = get("denominator")
    if np.isfinite(den) and method != "dsr":
        scale = 1.0 / ref if method == "isr" else 1.0 / mult
        if method == "isr" and not np.isfinite(ref):
            scale = np.nan
        if np.isfinite(scale):
            lo = max(val - dval, 0) * max(den - dden, 0) * scale
            hi = (val + dval) * (den + dden) * scale
            yield (
                lo,
                hi,
                (
                    "value / reference × expected"
                    if method == "isr"
                    else "value × denominator / multiplier"
                ),
            )
    for conf, (lname, uname) in (
        (0.95, ("lower_95", "upper_95")),
        (0.998, ("lower_998", "upper_998")),
    ):
        lo_, dlo = get(lname)
        up_, dup = get(uname)
        if not (np.isfinite(lo_) or np.isfinite(up_)):
            continue
        how = f"value and {conf:.1%} limits".replace(".0%", "%")
        if method in ("crude_rate", "isr"):
            yield (
                *invert_poisson(val, dval, lo_, dlo, up_, dup, conf=conf),
                f"{how} (Byar's/exact Poisson inverted)",
            )
        elif method == "proportion":
            yield (
                *invert_wilson(val, dval, lo_, dlo, up_, dup, multiplier=mult, conf=conf),
                f"{how} (Wilson inverted)",
            )
        elif method == "dsr":
            yield (
                *invert_dobson(val, dval, lo_, dlo, up_, dup, conf=conf),
                f"{how} (Dobson inverted)",
            )


def implied_counts(table: pd.DataFrame, res: "Resolver"):
    """For each row of a published table that names a count-method indicator: the bounds
    its value, denominator and limits put on its count (not the count column itself:
    that is checked as published).  Yields ``(row position, indicator, lo, hi, how)``."""
    yield from read_table(None, table, "", None, res)


def _read_quintile_table(kn: Knowledge, table: pd.DataFrame, qcol: str, page: str) -> None:
    """An inequalities page's quintile table: practices and score range per quintile."""
    counts = parse_column(table["Practices"].tolist())[0] if "Practices" in table else None
    lo, dlo = parse_column(table["Lowest score"].tolist())
    hi, dhi = parse_column(table["Highest score"].tolist())
    out = {}
    for k, q in enumerate(table[qcol].tolist()):
        m = re.match(r"\s*(\d+)", str(q))
        if m and np.isfinite(lo[k]) and np.isfinite(hi[k]):
            n = int(counts[k]) if counts is not None and np.isfinite(counts[k]) else -1
            out[int(m.group(1))] = (n, lo[k] - dlo[k], hi[k] + dhi[k])
    if out:
        kn.quintiles[page] = out


def read_site(
    site: Path, metadata: pd.DataFrame, areas: pd.DataFrame, rounding: int = 1
) -> Knowledge:
    """Everything the site says about counts (module docstring, step 1): CSV downloads, HTML
    tables and the data embedded in every chart of every page (the same reading as
    :func:`nhsbook.build.publish.scan`'s)."""
    # lazy: keeps scipy off this module's import
    from nhsbook.analysis.views import deprivation_indicator

    res = Resolver(metadata, areas)
    dep = deprivation_indicator(metadata)
    kn = Knowledge()
    for path in sorted(site.rglob("*")):
        rel = str(path.relative_to(site))
        if (
            not path.is_file()
            or rel.startswith(("_static", "_sources", "genindex", "search"))
            or (rel.startswith("charts/") and path.suffix == ".csv")
            or path.suffix not in (".csv", ".html")
        ):
            continue
        tables, _, _ = _file_parts(path, rel, 5, set())
        for where, table in tables:
            read_table(kn, table, f"{rel} {where}".strip(), page_area(rel), res, dep, rounding)
    return kn


# --- the equations ------------------------------------------------------------------------------


def hierarchy_groups(areas: pd.DataFrame) -> list[Group]:
    """Every roll-up area = the sum of the practices below it (as :mod:`nhsbook.analysis.indicators`
    sums them)."""
    groups = []
    practice = areas["area_type"].eq("practice")
    for area_type in ROLL_UP_TYPES:
        anc = ancestor_of_type(areas, area_type)
        kids = pd.DataFrame({"code": areas["area_code"], "anc": anc})[practice]
        for parent, sub in kids[kids["anc"] != ""].groupby("anc"):
            groups.append(
                Group(
                    str(parent),
                    tuple(sub["code"].astype(str)),
                    f"{parent} = Σ its {len(sub)} practices",
                )
            )
    return groups


def quintile_groups(kn: Knowledge, areas: pd.DataFrame) -> list[Group]:
    """Every published quintile bar = the sum of the page's practices in that quintile, with
    membership as the page publishes it (module docstring, step 2)."""
    groups = []
    types = dict(zip(areas["area_code"], areas["area_type"]))
    for page, table in kn.quintiles.items():
        ptype = types.get(page)
        if not ptype:
            continue
        if ptype == "practice":
            own = [page]
        else:
            anc = ancestor_of_type(areas, ptype)
            own = (
                areas.loc[areas["area_type"].eq("practice") & anc.eq(page), "area_code"]
                .astype(str)
                .tolist()
            )
        fits = {
            code: [
                q
                for q, (_, lo, hi) in table.items()
                if code in kn.scores
                and kn.scores[code][0] + kn.scores[code][1] >= lo
                and kn.scores[code][0] - kn.scores[code][1] <= hi
            ]
            for code in own
        }
        for q, (n, _, _) in table.items():
            members = [c for c, qs in fits.items() if q in qs]
            sure = all(len(fits[c]) == 1 for c in members)
            if not members or not sure or (n >= 0 and len(members) != n):
                continue
            groups.append(
                Group(
                    quintile_key(page, q),
                    tuple(sorted(members)),
                    f"{quintile_key(page, q)} = Σ its {len(members)} practices",
                )
            )
        # the quintiles of a page whose practices all have one add up to the page's area
        counts = [n for n, _, _ in table.values()]
        if own and all(n >= 0 for n in counts) and sum(counts) == len(own):
            keys = tuple(quintile_key(page, q) for q in sorted(table))
            groups.append(Group(page, keys, f"{page} = Σ its {len(keys)} quintiles"))
    return groups


def site_groups(kn: Knowledge, areas: pd.DataFrame) -> list[Group]:
    return hierarchy_groups(areas) + quintile_groups(kn, areas)


# --- the attack ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recovery:
    """A suppressed (or unpublished) count the attacker recovers."""

    indicator_id: str
    period: str
    area: str
    lo: int
    hi: int
    how: str
    files: tuple[str, ...]

    @property
    def value(self) -> int | None:
        return self.lo if self.lo == self.hi else None

    def __str__(self) -> str:
        got = (
            f"recovered = {self.lo}"
            if self.lo == self.hi
            else f"shown to be small ({self.lo}..{self.hi})"
        )
        files = ", ".join(self.files[:3]) + (" …" if len(self.files) > 3 else "")
        return (
            f"indicator {self.indicator_id} ({self.period}), {self.area}: suppressed "
            f"count {got} by {self.how} [from {files}]"
        )


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x - round(x)) < 1e-6 else f"{x:,.2f}"


def _known_small(cell: Cell, ambiguous: bool) -> bool:
    """Whether the site says that this suppressed cell holds a small count: its note says so
    ("count between 1 and N suppressed"), or it has no note and no suppressed cell of the
    site is noted ambiguously (a rule set with secondary suppression notes every suppressed
    cell alike, "a count from 1 to 4, or a figure from which one could be worked out")."""
    return cell.suppressed and bool(cell.primary or not (cell.secondary or ambiguous))


def _prior(cell: Cell, threshold: int, relaxed: bool, ambiguous: bool) -> tuple[float, float]:
    """A cell's bounds before the attack: its published bounds and, for a suppressed cell,
    what the rule set tells an attacker who knows it: a cell known to be small holds
    1..N; any other suppressed cell at least 1 (zeros are published, and secondary
    suppression picks non-zero cells) unless its counts can be negative."""
    lo, hi = cell.lo, cell.hi
    if cell.suppressed and not relaxed:
        if _known_small(cell, ambiguous):
            lo, hi = max(lo, 1.0), min(hi, float(cell.primary or threshold - 1))
        elif not cell.signed:
            lo = max(lo, 1.0)
    return lo, hi


def _file_of(source: str) -> str:
    return source.split(" ")[0]


def attack(
    kn: Knowledge,
    groups: list[Group],
    threshold: int = 5,
    per_indicator: dict[str, int] | None = None,
) -> list[Recovery]:
    """Differencing attack over every (indicator, period) (module docstring, step 3);
    ``per_indicator`` overrides ``threshold`` (the smallest published count) by indicator."""
    out: list[Recovery] = []
    ambiguous = any(c.secondary for cells in kn.cells.values() for c in cells.values())
    per_indicator = per_indicator or {}
    for key, cells in kn.cells.items():
        out += _attack_key(key, cells, groups, per_indicator.get(key[0], threshold), ambiguous)
    return out


def _attack_key(
    key: Key, cells: dict[str, Cell], groups: list[Group], threshold: int, ambiguous: bool = False
) -> list[Recovery]:
    small = threshold - 1
    findings: list[Recovery] = []
    # the groups this indicator can use: the parent must be known (bounded) to say anything
    usable = [
        g
        for g in groups
        if g.parent in cells and (np.isfinite(cells[g.parent].hi) or cells[g.parent].suppressed)
    ]
    if not usable:
        return findings
    signed = any(c.signed for c in cells.values())
    for relaxed in (False, True):
        bounds: dict[str, list[float]] = {}
        for g in usable:
            for a in (g.parent, *g.children):
                if a not in bounds:
                    c = cells.get(a)
                    bounds[a] = (
                        list(_prior(c, threshold, relaxed, ambiguous))
                        if c
                        else [-INF if signed else 0.0, INF]
                    )
        ok, recovered = _solve(
            key, cells, usable, bounds, small, relaxed_ok=not relaxed, ambiguous=ambiguous
        )
        if ok:
            findings = recovered
            break
    return findings


def _is_exact(b: list[float]) -> bool:
    return np.isfinite(b[1]) and math.floor(b[1] + 1e-6) - math.ceil(b[0] - 1e-6) <= 0


def _solve(
    key: Key,
    cells: dict[str, Cell],
    groups: list[Group],
    bounds: dict[str, list[float]],
    small: int,
    relaxed_ok: bool = True,
    ambiguous: bool = False,
) -> tuple[bool, list[Recovery]]:
    """Propagation then LP; returns (consistent, recoveries).  A contradiction returns
    (False, []) while ``relaxed_ok`` (the caller retries with weaker priors); after that a
    contradictory equation is dropped."""
    from scipy.optimize import linprog

    how: dict[str, tuple[str, tuple[str, ...]]] = {}
    start_exact = {a for a, b in bounds.items() if _is_exact(b)}

    def files_of(areas) -> tuple[str, ...]:
        fs = []
        for a in areas:
            c = cells.get(a)
            if c and c.exact_from and _file_of(c.exact_from) not in fs:
                fs.append(_file_of(c.exact_from))
        return tuple(fs)

    # 1. propagation: a group with one unknown member gives it exactly
    bad: set[Group] = set()
    changed = True
    while changed:
        changed = False
        for g in groups:
            if g in bad:
                continue
            members = (g.parent, *g.children)
            unknown = [a for a in members if not _is_exact(bounds[a])]
            if not unknown:
                # an equation the published figures do not satisfy (e.g. rounded or
                # published rather than summed values) is no equation for the attacker
                if round(bounds[g.parent][0]) != sum(round(bounds[a][0]) for a in g.children):
                    bad.add(g)
                continue
            if len(unknown) != 1:
                continue
            u = unknown[0]
            kids = sum(round(bounds[a][0]) for a in g.children if a != u)
            val = kids if u == g.parent else round(bounds[g.parent][0]) - kids
            lo, hi = bounds[u]
            if val < lo - 0.5 or val > hi + 0.5:
                if relaxed_ok:
                    return False, []
                bad.add(g)
                continue
            bounds[u] = [float(val), float(val)]
            if u == g.parent:
                eq = f"{u} = Σ children ({_fmt(kids)})"
            else:
                sib = [a for a in g.children if a != u]
                eq = (
                    f"{u} = {g.parent} ({_fmt(round(bounds[g.parent][0]))}) − "
                    f"Σ {len(sib)} sibling{'s' if len(sib) != 1 else ''} ({_fmt(kids)}) "
                    f"[{g.label}]"
                )
            how[u] = (eq, files_of([a for a in members if a != u]))
            changed = True

    # 2. LP over each connected set of groups with unknown members
    unknown = [a for a, b in bounds.items() if not _is_exact(b)]
    live = [
        g for g in groups if g not in bad and any(a in unknown for a in (g.parent, *g.children))
    ]
    parent_of: dict[str, str] = {}

    def find(a: str) -> str:
        while parent_of.setdefault(a, a) != a:
            parent_of[a] = parent_of[parent_of[a]]
            a = parent_of[a]
        return a

    for g in live:
        us = [a for a in (g.parent, *g.children) if a in unknown]
        for a in us[1:]:
            parent_of[find(a)] = find(us[0])
    comps: dict[str, list[Group]] = defaultdict(list)
    for g in live:
        us = [a for a in (g.parent, *g.children) if a in unknown]
        comps[find(us[0])].append(g)
    for comp in comps.values():
        var = sorted({a for g in comp for a in (g.parent, *g.children) if a in unknown})
        idx = {a: k for k, a in enumerate(var)}
        A, b = np.zeros((len(comp), len(var))), np.zeros(len(comp))
        for r, g in enumerate(comp):
            for a, sign in [(g.parent, -1.0)] + [(c, 1.0) for c in g.children]:
                if a in idx:
                    A[r, idx[a]] += sign
                else:
                    b[r] -= sign * round(bounds[a][0])
        bnds = [
            (
                bounds[a][0] if np.isfinite(bounds[a][0]) else None,
                bounds[a][1] if np.isfinite(bounds[a][1]) else None,
            )
            for a in var
        ]
        targets = [a for a in var if bounds[a][0] <= small + 1e-9]
        if not targets:
            continue
        for a in targets:
            k = idx[a]
            cvec = np.zeros(len(var))
            cvec[k] = 1.0
            hi_r = linprog(-cvec, A_eq=A, b_eq=b, bounds=bnds, method="highs")
            if hi_r.status == 2:
                if relaxed_ok:
                    return False, []
                break
            hi = -hi_r.fun if hi_r.status == 0 else INF
            if hi > small + 1e-6:
                continue
            lo_r = linprog(cvec, A_eq=A, b_eq=b, bounds=bnds, method="highs")
            lo = lo_r.fun if lo_r.status == 0 else -INF
            bounds[a] = [max(bounds[a][0], lo), min(bounds[a][1], hi)]
            mine = [g.label for g in comp if a in (g.parent, *g.children)]
            mine += [g.label for g in comp if g.label not in mine]
            how[a] = (
                f"linear programming over {len(comp)} equations ({'; '.join(mine[:4])}"
                f"{' …' if len(mine) > 4 else ''}): {_fmt(lo)} ≤ {a} ≤ {_fmt(hi)}",
                files_of([x for g in comp for x in (g.parent, *g.children)]),
            )

    # 3. findings
    out = []
    for a, bd in bounds.items():
        c = cells.get(a)
        if c is None:
            if a not in how:
                continue
            c = Cell()  # published nowhere, but the equations give it away
        if not (np.isfinite(bd[0]) and np.isfinite(bd[1])):
            continue
        lo, hi = math.ceil(bd[0] - 1e-6), math.floor(bd[1] + 1e-6)
        if hi > small or lo < 1:
            continue  # not known to be small
        if _known_small(c, ambiguous) and lo != hi:
            continue  # the site says it is small; only its exact value is news
        if a in start_exact:
            if not c.suppressed:
                continue  # a published small count: check_table reports it
            eq = f"inversion of the published figures ({c.exact_from})"
            files = (_file_of(c.exact_from),)
        elif a in how:
            eq, files = how[a]
        else:
            eq, files = "the published bounds", tuple(dict.fromkeys(_file_of(s) for s in c.sources))
        out.append(Recovery(key[0], key[1], a, lo, hi, eq, files))
    return True, out


def audit_site(
    site: Path, metadata: pd.DataFrame, areas: pd.DataFrame, threshold: int = 5, rounding: int = 1
) -> list[Recovery]:
    """The attack over a built site: every suppressed count it lets an attacker recover."""
    kn = read_site(site, metadata, areas, rounding)
    return attack(kn, site_groups(kn, areas), threshold)
