"""Disclosure control for everything the book publishes: primary and secondary suppression
computed once, in the pipeline, for every indicator, period and area.

Rule sets (:data:`RULES`)
    ``standard`` (the default)
        Counts from 1 to 4 are suppressed, as the national public-health profiles do
        (Fingertips: "Value suppressed for disclosure control reasons"); means of fewer than
        5 people are withheld.  Published counts are exact.
    ``nhs_digital``
        NHS Digital's *Disclosure control methodology for Hospital Episode Statistics (HES)
        and Emergency Care Data Set (ECDS)* (Secondary Care Analysis team, September 2018,
        digital.nhs.uk/…/change-to-disclosure-control-methodology-for-hes-and-ecds-from-
        september-2018; since adopted for SRHAD and the NCMP): at national level no control;
        below national level counts from 1 to 7 are replaced by ``*`` and every other count is
        rounded to the nearest 5, percentages are calculated from the rounded numerator and
        denominator, and a mean, median or mode of 1 to 7 individuals is not calculated.
        Here: counts 1-7 suppressed, other counts of every area below England rounded to the
        nearest 5 (England stays exact), proportions recomputed from the rounded count and
        denominator and crude rates and ratios from the rounded count (so their limits
        invert to the rounded count only), means withheld below 8 people.

    A book chooses its rule set with ``disclosure: nhs_digital`` in ``books/<book>.yml``; an
    indicator overrides it with an optional ``disclosure`` column (a rule-set name) or a
    ``suppress_below`` column (the smallest published count, e.g. 10 for counts 1-9) in the
    indicator metadata (``indicators.csv``).

Primary suppression
    A cell (indicator x period x sex x age x category x area) is *primary* when its count is
    from 1 to ``suppress_below - 1`` (methods with counts), or, for means, when the number of
    people (the denominator) is from 1 to ``mean_min_people - 1``.  Zero is published.

Secondary suppression (:func:`secondary`)
    Published cells are linked by sums: a locality's count is the sum of its practices', a
    CCG's the sum of its localities' (and of its practices'), a deprivation quintile's the
    sum of its member practices', an area's the sum of its quintiles', a CCG quintile the
    sum of its localities' quintiles.  Every such *group* (a parent cell and the children
    that partition it, found from the area hierarchy and checked numerically: a group whose
    parent is not the sum of its children in the data is not a group) is a linear equation
    an attacker can solve.  Let a group have a published parent ``P`` and suppressed children
    ``S`` (|S| = k).  The attacker knows their sum ``R = P - Σ published children`` and that
    each is at least 1 (zeros are published), so for each suppressed child
    ``x_i ≤ R - (k - 1)``, and ``x_i = R`` exactly when k = 1.  The group is *safe* when

        k ≥ 2   and   R - (k - 1) ≥ T        (T = suppress_below, 5 for the standard rule)

    i.e. every suppressed child could, as far as this group tells, be a publishable count:
    the group does not even reveal that a child is small.  An unsafe group gets its
    smallest non-zero published child suppressed (the *complementary* cell; it is at least
    T, so one complement always makes the group safe), or, when every non-zero child is
    already suppressed, its parent (the parent total is protected; its own parent group then
    needs protecting in turn).  A primary parent needs nothing more: a parent of 1-4 has
    children of 0-4, which are published zeros or primary themselves.  Secondary
    suppression in one hierarchy creates suppressed cells in the others (a practice is in a
    locality, a CCG and two quintile cells), so the pass is repeated over every group until
    no group changes.

Audit (:func:`audit`)
    Groups checked one at a time can still be solved together (the classic two-way-table
    case), so the result is then audited with linear programming: for each key, the
    suppressed cells are unknowns ``x ≥ 1``, every group an equality with the published
    figures as constants, and for each primary cell ``min x_i`` and ``max x_i`` are solved
    (scipy ``linprog``, HiGHS) exactly as an attacker would.  A primary cell whose largest
    feasible value is below T is *exposed*: the smallest published non-zero cell of one of
    its groups (the most local group first; the next one if that did not help), or that
    group's parent, is suppressed too and the whole pass repeats.  At the end every primary
    cell's attacker range reaches from at most its true value (< T) to at least T: width
    > 0, so no count 1-4 is recoverable, nor even that it is small.  (Groups implied by
    others, an area and its practices when its children chain down to them, are left out
    of the equations: they change no bound.  The bounds are those of the LP relaxation; for
    one hierarchy, a laminar family of sums, they are also the integer bounds, and where
    quintiles cross it an attacker solving for integers could in principle do better.)

What is withheld (:func:`apply`)
    A suppressed cell (primary or secondary: the reason is kept in the computed table's
    ``suppression`` column but never published, because knowing which cells are secondary
    tells an attacker they are ≥ T) publishes none of its count, denominator, value, 95% and
    99.8% limits, significance ("Not compared", as Fingertips shows nothing) or anything
    derived from them; rows compared with a suppressed comparator lose the comparator value
    and their significance; practice spreads (worst, best, percentiles) leave suppressed
    practices out.  Every published count of an unsuppressed cell is treated as known to the
    attacker (counts are in the tables, and Byar's, exact Poisson and Wilson limits invert
    to the count), which is why secondary suppression is computed on exact counts.  The
    value note says only "suppressed for disclosure control".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from nhsbook import stats
from nhsbook.analysis import indicators, views
from nhsbook.core.model import ROLL_UP_TYPES, ancestor_of_type

# what a published table shows of a suppressed cell (re-exported: nhsbook.analysis.disclosure.apply)
from nhsbook.methods.publication import WITHHELD, apply, is_suppressed  # noqa: F401

#: Dimensions of a value besides the area (a cell is one area of one key).
KEY_DIMS = ("indicator_id", "period", "sex", "age", "category_type", "category")
#: Methods whose counts can be negative (excess winter deaths): suppressed cells are then
#: not known to be at least 1.
SIGNED_METHODS = frozenset({"ratio"})
#: Methods whose count is a count of events or people (primary rule on the count).
COUNT_METHODS = frozenset({"proportion", "crude_rate", "dsr", "isr", "ratio"})
QUINTILE_TYPE = "Deprivation quintile"


@dataclass(frozen=True)
class Rule:
    """A disclosure rule set (see the module docstring)."""

    name: str
    #: Smallest count published: counts 1 … suppress_below - 1 are suppressed.
    suppress_below: int
    #: Published counts below national level are rounded to the nearest ``round_to``
    #: (None: exact).
    round_to: int | None = None
    #: Area types whose counts stay exact when rounding.
    exact_area_types: tuple[str, ...] = ("england",)
    #: Means of fewer people than this are withheld.
    mean_min_people: int = 5

    @property
    def note(self) -> str:
        return (
            "Supp.: suppressed for disclosure control (a count from 1 to "
            f"{self.suppress_below - 1}, or a figure from which one could be worked out)"
        )


RULES: dict[str, Rule] = {
    "standard": Rule("standard", 5),
    "nhs_digital": Rule("nhs_digital", 8, round_to=5, mean_min_people=8),
}
DEFAULT_RULE = "standard"


def rule(name: str | Rule | None) -> Rule:
    """The rule set called ``name`` (None: the default, ``standard``)."""
    if isinstance(name, Rule):
        return name
    key = str(name or DEFAULT_RULE).strip()
    if key not in RULES:
        raise ValueError(f"disclosure rule {key!r} is not known: use one of {sorted(RULES)}")
    return RULES[key]


def indicator_rules(metadata: pd.DataFrame, book_rule: str | Rule | None = None) -> dict[str, Rule]:
    """Each indicator's rule: the metadata's ``disclosure`` column (a rule-set name) or
    ``suppress_below`` column (an integer ≥ 1) when given for it, else the book's rule."""
    base = rule(book_rule)
    out: dict[str, Rule] = {}
    for i, row in metadata.reset_index(drop=True).iterrows():
        r = base
        name = row.get("disclosure", "")
        if isinstance(name, str) and name.strip():
            r = rule(name)
        below = row.get("suppress_below", np.nan)
        if below is not None and str(below).strip() not in ("", "nan", "<NA>"):
            try:
                b = int(float(below))
            except ValueError as exc:
                raise ValueError(
                    f"indicator metadata, row {i + 1} ({row['indicator_id']}), "
                    f"column suppress_below: expected a whole number ≥ 1, found "
                    f"{below!r}"
                ) from exc
            if b < 1:
                raise ValueError(
                    f"indicator metadata, row {i + 1} ({row['indicator_id']}), "
                    f"column suppress_below: expected a whole number ≥ 1, "
                    f"found {below!r}"
                )
            r = Rule(
                f"{r.name}, suppress below {b}",
                b,
                r.round_to,
                r.exact_area_types,
                max(r.mean_min_people, b),
            )
        out[str(row["indicator_id"])] = r
    return out


# --- primary --------------------------------------------------------------------------


def primary(
    rows: pd.DataFrame, metadata: pd.DataFrame, rules: Mapping[str, Rule] | str | Rule | None = None
) -> np.ndarray:
    """Boolean mask of the rows whose own count (or, for means, number of people) is small
    under each indicator's rule (see the module docstring)."""
    if not isinstance(rules, Mapping):
        rules = indicator_rules(metadata, rules)
    method = rows["indicator_id"].map(metadata.set_index("indicator_id")["method"]).fillna("")
    below = rows["indicator_id"].map({k: r.suppress_below for k, r in rules.items()})
    below = below.fillna(rule(None).suppress_below).astype(float)
    people = rows["indicator_id"].map({k: r.mean_min_people for k, r in rules.items()})
    people = people.fillna(rule(None).mean_min_people).astype(float)
    count = pd.to_numeric(rows["count"], errors="coerce")
    denom = pd.to_numeric(rows["denominator"], errors="coerce")
    small = (count > 0) & (count < below) & ~method.eq("mean")
    small_mean = method.eq("mean") & (denom > 0) & (denom < people)
    return (small | small_mean).fillna(False).to_numpy(dtype=bool)


# --- groups ---------------------------------------------------------------------------


def _members(areas: pd.DataFrame) -> dict[str, frozenset[str]]:
    """Practices below each area (a practice: itself)."""
    parent = dict(zip(areas["area_code"], areas["parent_code"].fillna("")))
    types = dict(zip(areas["area_code"], areas["area_type"]))
    members: dict[str, set[str]] = defaultdict(set)
    for code, t in types.items():
        if t != "practice":
            continue
        seen = set()
        c = code
        while c and c not in seen:
            members[c].add(code)
            seen.add(c)
            c = parent.get(c, "")
    return {k: frozenset(v) for k, v in members.items()}


def quintile_cell(area_code: str, quintile: object) -> str:
    """The cell name of an area's deprivation quintile (``E38000115|Q1``)."""
    return f"{area_code}|Q{int(quintile)}"


def structural_groups(
    areas: pd.DataFrame,
    quintile_members: Mapping[str, frozenset[str]] | None = None,
    implied: set | None = None,
) -> list[tuple[str, tuple[str, ...]]]:
    """Every (parent cell, children cells) whose children partition the parent's practices:
    each area and its practices, each area and its direct children (when they partition
    it), each quintile cell and its practices, each area and its quintile cells, and each
    quintile cell of an area and the same quintile of its direct children.

    ``implied``, when given, receives the groups that follow from the others (an area and
    its practices, when the area and every area below it are partitioned by their direct
    children): the audit leaves them out, which changes no bound and splits the problem
    into small independent parts (a national book's England and regions are not one
    system)."""
    members = _members(areas)
    children: dict[str, list[str]] = defaultdict(list)
    for code, par in zip(areas["area_code"], areas["parent_code"].fillna("")):
        if par and code in members:
            children[par].append(code)
    groups: list[tuple[str, tuple[str, ...]]] = []
    seen: set[tuple[str, tuple[str, ...]]] = set()

    def add(parent: str, kids: Iterable[str]) -> None:
        kids = tuple(sorted(kids))
        if not kids or (len(kids) == 1 and kids[0] == parent):
            return
        g = (parent, kids)
        if g not in seen:
            seen.add(g)
            groups.append(g)

    def partitions(whole: frozenset[str], parts: list[frozenset[str]]) -> bool:
        return sum(len(p) for p in parts) == len(whole) and frozenset().union(*parts) == whole

    direct: dict[str, bool] = {}
    for code, mem in members.items():
        if len(mem) == 1 and code in mem:
            continue  # a practice
        add(code, mem)
        kids = children.get(code, [])
        direct[code] = bool(kids) and partitions(mem, [members[k] for k in kids])
        if direct[code]:
            add(code, kids)

    def chained(code: str) -> bool:
        if members.get(code) == frozenset({code}):
            return True
        return direct.get(code, False) and all(chained(k) for k in children.get(code, []))

    if implied is not None:
        for code, mem in members.items():
            kids = tuple(sorted(children.get(code, [])))
            if direct.get(code) and tuple(sorted(mem)) != kids and chained(code):
                implied.add((code, tuple(sorted(mem))))
    qm = dict(quintile_members or {})
    by_area: dict[str, list[str]] = defaultdict(list)
    for cell, mem in qm.items():
        area = cell.split("|Q")[0]
        by_area[area].append(cell)
        add(cell, mem)
    for area, cells in by_area.items():
        if area in members and partitions(members[area], [qm[c] for c in cells]):
            add(area, cells)
        for cell in cells:
            q = cell.split("|Q")[1]
            kids = [f"{k}|Q{q}" for k in children.get(area, []) if f"{k}|Q{q}" in qm]
            if kids and partitions(qm[cell], [qm[k] for k in kids]):
                add(cell, kids)
    return groups


# --- secondary suppression ------------------------------------------------------------


@dataclass
class KeyProblem:
    """The cells of one key (indicator x period x sex x age x category) and their groups."""

    cells: list[str]
    count: np.ndarray  #: exact counts
    primary: np.ndarray  #: bool
    groups: list[tuple[int, np.ndarray]]  #: (parent index, children indices)
    threshold: int
    signed: bool = False
    #: Cells chosen as complements only when no other will do (the practices whose values
    #: are published as an area's worst and best, so that the spreads survive).
    avoid: frozenset = frozenset()
    #: Groups (indices) implied by the others, left out of the audit's equations.
    implied: frozenset = frozenset()

    def groups_named(self) -> list[tuple[str, tuple[str, ...]]]:
        """The groups by cell name."""
        return [(self.cells[p], tuple(self.cells[k] for k in kids)) for p, kids in self.groups]

    def __post_init__(self) -> None:
        self.suppressed = self.primary.copy()
        self.by_cell: dict[int, list[int]] = defaultdict(list)
        for g, (p, kids) in enumerate(self.groups):
            self.by_cell[p].append(g)
            for k in kids:
                self.by_cell[int(k)].append(g)


def build_problem(
    cells: list[str],
    count: np.ndarray,
    primary_mask: np.ndarray,
    groups: Iterable[tuple[str, Iterable[str]]],
    threshold: int,
    signed: bool = False,
    avoid: Iterable[str] = (),
    implied: Iterable[tuple[str, tuple[str, ...]]] = (),
) -> KeyProblem:
    """A :class:`KeyProblem` from cell names, their exact counts (NaN: no cell), the primary
    mask and structural groups; groups with a missing parent, or whose parent count is not
    the sum of the children present, are dropped (they are not equations of the data)."""
    index = {c: i for i, c in enumerate(cells)}
    count = np.asarray(count, dtype=float)
    out = []
    implied = set(implied)
    skip = []
    for parent, kids in groups:
        p = index.get(parent)
        if p is None or not np.isfinite(count[p]):
            continue
        ks = np.array(
            [index[k] for k in kids if k in index and np.isfinite(count[index[k]])], dtype=int
        )
        if ks.size == 0 or abs(count[ks].sum() - count[p]) > 1e-6 * max(1.0, abs(count[p])):
            continue
        if (parent, tuple(kids)) in implied:
            skip.append(len(out))
        out.append((p, ks))
    avoid_idx = frozenset(index[c] for c in avoid if c in index)
    return KeyProblem(
        list(cells),
        count,
        np.asarray(primary_mask, dtype=bool),
        out,
        int(threshold),
        signed,
        avoid_idx,
        frozenset(skip),
    )


def _group_safe(pb: KeyProblem, g: int) -> bool | None:
    """True when the group is safe, False when not, None when it has no published parent
    or no suppressed child (nothing to protect)."""
    p, kids = pb.groups[g]
    sup = kids[pb.suppressed[kids]]
    if pb.suppressed[p]:
        # a suppressed parent with every child published is their sum
        return False if sup.size == 0 and (pb.count[kids] != 0).any() else None
    if sup.size == 0:
        return None
    if sup.size < 2:
        return False
    if pb.signed:
        return True
    residual = pb.count[sup].sum()
    return bool(residual - (sup.size - 1) >= pb.threshold)


def _protect_group(pb: KeyProblem, g: int) -> int:
    """Suppress the group's smallest non-zero published child, else its parent; returns
    the index suppressed."""
    p, kids = pb.groups[g]
    cand = kids[~pb.suppressed[kids] & (pb.count[kids] != 0)]
    if cand.size:
        order = np.lexsort(
            (
                np.array([pb.cells[c] for c in cand]),
                np.abs(pb.count[cand]),
                np.array([c in pb.avoid for c in cand]),
            )
        )
        pick = int(cand[order[0]])
    else:
        pick = int(p)
    pb.suppressed[pick] = True
    return pick


def secondary(pb: KeyProblem) -> np.ndarray:
    """Complementary suppression until every group is safe (module docstring); returns the
    suppressed mask (primary included)."""
    todo = list(range(len(pb.groups)))
    queued = set(todo)
    while todo:
        g = todo.pop()
        queued.discard(g)
        while _group_safe(pb, g) is False:
            pick = _protect_group(pb, g)
            for h in pb.by_cell.get(pick, ()):
                if h not in queued:
                    queued.add(h)
                    todo.append(h)
    return pb.suppressed


def _equations(pb: KeyProblem) -> list[tuple[np.ndarray, int, float]]:
    """Each group with a suppressed cell as ``(suppressed children, suppressed parent or
    -1, constant)``: Σ children − parent = constant in the unknowns."""
    eqs = []
    for g, (p, kids) in enumerate(pb.groups):
        if g in pb.implied:
            continue
        mask = pb.suppressed[kids]
        ps = bool(pb.suppressed[p])
        if not ps and not mask.any():
            continue
        const = (0.0 if ps else pb.count[p]) - pb.count[kids[~mask]].sum()
        eqs.append((kids[mask], int(p) if ps else -1, float(const)))
    return eqs


def _components(eqs: list[tuple[np.ndarray, int, float]]) -> list[tuple[list[int], list[int]]]:
    """Connected sets of suppressed cells (linked by sharing an equation), each with the
    indices of its equations."""
    parent: dict[int, int] = {}

    def find(i: int) -> int:
        parent.setdefault(i, i)
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for kids, p, _ in eqs:
        members = [int(k) for k in kids] + ([p] if p >= 0 else [])
        first = find(members[0])
        for m in members[1:]:
            r = find(m)
            if r != first:
                parent[r] = first
    cells: dict[int, list[int]] = defaultdict(list)
    for i in list(parent):
        cells[find(i)].append(i)
    rows: dict[int, list[int]] = defaultdict(list)
    for e, (kids, p, _) in enumerate(eqs):
        rows[find(int(kids[0]) if kids.size else p)].append(e)
    return [(sorted(cells[r]), rows[r]) for r in cells]


def audit(pb: KeyProblem) -> dict[int, tuple[float, float]]:
    """The attacker's bounds of every primary cell that they pin below the threshold:
    ``{cell index: (min, max)}`` (empty: every primary cell is protected).  Unknowns are the
    suppressed cells (≥ 1, or free for signed counts); each group with a suppressed cell is
    an equation with the published cells as constants; min and max of each primary cell by
    linear programming, rounded inwards to integers."""
    from scipy import sparse
    from scipy.optimize import linprog

    exposed: dict[int, tuple[float, float]] = {}
    eqs = _equations(pb)
    for comp, rows_ in _components(eqs):
        prim = [i for i in comp if pb.primary[i]]
        if not prim:
            continue
        col = {c: j for j, c in enumerate(comp)}
        r_idx, c_idx, data = [], [], []
        b_eq = np.zeros(len(rows_))
        for r, e in enumerate(rows_):
            kids, p, const = eqs[e]
            for k in kids:
                r_idx.append(r)
                c_idx.append(col[int(k)])
                data.append(1.0)
            if p >= 0:
                r_idx.append(r)
                c_idx.append(col[p])
                data.append(-1.0)
            b_eq[r] = const
        a_eq = sparse.csr_matrix((data, (r_idx, c_idx)), shape=(len(rows_), len(comp)))
        if len(rows_) == 1 and not pb.signed and eqs[rows_[0]][1] < 0:
            continue  # one group with a published parent: the group rule is the bound
        bounds = [(None, None) if pb.signed else (1, None)] * len(comp)
        for i in prim:
            # the attacker's largest value; since the true count (< T) is feasible, a
            # maximum of at least T also means the range is wider than one value
            c = np.zeros(len(comp))
            c[col[i]] = -1.0
            hi = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
            hi_v = np.floor(-hi.fun + 1e-6) if hi.status == 0 else np.inf
            if hi_v < pb.threshold:
                lo = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
                lo_v = np.ceil(lo.fun - 1e-6) if lo.status == 0 else -np.inf
                exposed[i] = (float(lo_v), float(hi_v))
    return exposed


def protect_problem(pb: KeyProblem, max_rounds: int = 1000) -> KeyProblem:
    """Secondary suppression, then the LP audit; each exposed primary cell gets one more
    complement (the smallest published non-zero cell of its groups, or a group's parent)
    and both repeat until the audit finds nothing."""
    attempts: dict[int, int] = defaultdict(int)
    for _ in range(max_rounds):
        secondary(pb)
        exposed = audit(pb)
        if not exposed:
            return pb
        for i in exposed:
            # the groups of the exposed cell, smallest (most local) first; each further
            # round for the same cell tries the next group
            gs = sorted(pb.by_cell.get(i, ()), key=lambda g: (pb.groups[g][1].size, g))
            options = []
            for g in gs:
                p, kids = pb.groups[g]
                cand = kids[~pb.suppressed[kids] & (pb.count[kids] != 0)]
                if cand.size == 0 and not pb.suppressed[p]:
                    cand = np.array([p])
                if cand.size:
                    options.append(
                        min(
                            (int(c) in pb.avoid, abs(pb.count[c]), pb.cells[c], int(c))
                            for c in cand
                        )[-1]
                    )
            if options:
                pb.suppressed[options[attempts[i] % len(options)]] = True
                attempts[i] += 1
        if not any(pb.by_cell.get(i) for i in exposed):
            break
    raise RuntimeError(
        "secondary suppression did not converge; cells still exposed: "
        + ", ".join(pb.cells[i] for i in audit(pb))
    )


# --- the pipeline step ------------------------------------------------------------------


def _key_frame(df: pd.DataFrame) -> pd.Series:
    key = df[KEY_DIMS[0]].astype(str)
    for d in KEY_DIMS[1:]:
        key = key + "\x1f" + df[d].astype(str)
    return key


def protect(
    values: pd.DataFrame,
    metadata: pd.DataFrame,
    areas: pd.DataFrame,
    quintiles: pd.DataFrame | None = None,
    book_rule: str | Rule | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Primary and secondary suppression of the computed ``values`` (and the deprivation
    ``quintiles`` of :func:`quintile_table`) over every group of the area hierarchy and the
    quintiles; returns both with ``suppressed`` (bool) and ``suppression`` ("primary",
    "secondary" or "") columns, the suppression note in ``value_note``, comparator values
    and significance withdrawn where the comparator is suppressed, and under a rounding
    rule the counts of areas below England rounded (and proportions, rates and ratios
    recomputed from them)."""
    rules = indicator_rules(metadata, book_rule)
    meta = metadata.set_index("indicator_id")
    v = values.copy()
    v["_cell"] = v["area_code"].astype(str)
    frames = [v]
    q = None
    if quintiles is not None and not quintiles.empty:
        q = quintiles.copy()
        q["_cell"] = [quintile_cell(a, k) for a, k in zip(q["area_code"], q["quintile"])]
        frames.append(q)
    both = pd.concat(frames, ignore_index=True, keys=None)
    for d in KEY_DIMS:
        both[d] = both[d].fillna("").astype(str) if d in both else ""
    both["_key"] = _key_frame(both)
    both["_primary"] = primary(both, metadata, rules)
    sup = both["_primary"].to_numpy().copy()

    qmembers: dict[str, frozenset[str]] = {}
    if q is not None and "members" in q.columns:
        for cell, mem in zip(q["_cell"], q["members"]):
            qmembers.setdefault(cell, frozenset(str(mem).split()))
    implied: set = set()
    groups = structural_groups(areas, qmembers, implied)
    extremes = _extremes(both, areas)
    keys_with_primary = set(both.loc[both["_primary"], "_key"])
    for key, idx in both.groupby("_key").indices.items():
        if key not in keys_with_primary:
            continue
        sub = both.iloc[idx]
        ind = str(sub["indicator_id"].iloc[0])
        r = rules.get(ind, rule(book_rule))
        method = str(meta["method"].get(ind, ""))
        counts = pd.to_numeric(sub["count"], errors="coerce").to_numpy(float)
        signed = (
            method in SIGNED_METHODS and bool(np.nanmin(counts) < 0)
            if np.isfinite(counts).any()
            else False
        )
        pb = build_problem(
            sub["_cell"].tolist(),
            counts,
            sub["_primary"].to_numpy(),
            groups,
            r.suppress_below,
            signed=signed,
            avoid=extremes.get(key, ()),
            implied=implied,
        )
        protect_problem(pb)
        sup[idx] = pb.suppressed
    both["suppressed"] = sup
    both["suppression"] = np.where(both["_primary"], "primary", np.where(sup, "secondary", ""))
    notes = (
        both["indicator_id"].map({k: r.note for k, r in rules.items()}).fillna(rule(book_rule).note)
    )
    old = both["value_note"].fillna("").astype(str) if "value_note" in both else ""
    both["value_note"] = np.where(
        both["suppressed"], np.where(old == "", notes, old + "; " + notes), old
    )
    both = _round(both, metadata, rules, areas)
    n = len(v)
    out_v = both.iloc[:n].drop(columns=["_cell", "_key", "_primary"]).reset_index(drop=True)
    out_v = out_v[
        [c for c in out_v.columns if c in values.columns or c in ("suppressed", "suppression")]
    ]
    out_v = withdraw_comparators(out_v, metadata)
    out_q = None
    if q is not None:
        out_q = both.iloc[n:].drop(columns=["_cell", "_key", "_primary"]).reset_index(drop=True)
        out_q = out_q[
            [
                c
                for c in out_q.columns
                if c in quintiles.columns or c in ("suppressed", "suppression")
            ]
        ]
    elif quintiles is not None:
        out_q = quintiles.assign(suppressed=pd.Series(dtype=bool), suppression=pd.Series(dtype=str))
    return out_v, out_q


def _extremes(both: pd.DataFrame, areas: pd.DataFrame) -> dict[str, set[str]]:
    """Per key, the practices whose values are the lowest and highest (of the practices
    not primary-suppressed) below each area: the spreads' worst and best."""
    types = dict(zip(areas["area_code"], areas["area_type"]))
    keys = set(both.loc[both["_primary"], "_key"])
    p = both[
        both["_cell"].map(types).eq("practice")
        & both["value"].notna()
        & ~both["_primary"]
        & both["_key"].isin(keys)
    ]
    out: dict[str, set[str]] = defaultdict(set)
    if p.empty:
        return out
    for area_type in ROLL_UP_TYPES:
        anc = dict(zip(areas["area_code"], ancestor_of_type(areas, area_type)))
        sub = (
            p.assign(_parent=p["_cell"].map(anc)).query("_parent != ''").dropna(subset=["_parent"])
        )
        if sub.empty:
            continue
        g = sub.groupby(["_key", "_parent"])["value"]
        for idx in (g.idxmin(), g.idxmax()):
            keys = idx.index.get_level_values(0)
            for key, cell in zip(keys, sub.loc[idx.to_numpy(), "_cell"].astype(str)):
                out[key].add(cell)
    return out


def _round(
    both: pd.DataFrame, metadata: pd.DataFrame, rules: Mapping[str, Rule], areas: pd.DataFrame
) -> pd.DataFrame:
    """Counts rounded to the nearest ``round_to`` below national level (rules that round),
    proportions recomputed from the rounded count and denominator, crude rates, ISRs and
    ratios from the rounded count."""
    step = both["indicator_id"].map({k: r.round_to or 0 for k, r in rules.items()}).fillna(0)
    if not (step > 0).any():
        return both
    exact_types = set().union(*(r.exact_area_types for r in rules.values()))
    types = dict(zip(areas["area_code"], areas["area_type"]))
    area_type = both["area_code"].map(types).fillna(both.get("area_type", ""))
    method = both["indicator_id"].map(metadata.set_index("indicator_id")["method"])
    m = (
        (step > 0)
        & ~area_type.isin(exact_types)
        & method.isin(COUNT_METHODS)
        & both["count"].notna()
        & ~both["suppressed"]
    )
    if not m.any():
        return both
    both = both.copy()
    s = step[m].astype(float)
    both.loc[m, "count"] = np.round(both.loc[m, "count"] / s) * s
    prop = m & method.eq("proportion") & both["denominator"].notna()
    both.loc[prop, "denominator"] = (
        np.round(both.loc[prop, "denominator"] / step[prop]) * step[prop]
    )
    redo = m & method.isin(["proportion", "crude_rate", "isr", "ratio"])
    if redo.any():
        sub = both.loc[redo].copy()
        sub["weighted_value"] = np.nan
        sub["weight"] = np.nan
        calc = indicators.calculate(sub, metadata.set_index("indicator_id"))
        for col in ("value", "lower_95", "upper_95", "lower_998", "upper_998"):
            both.loc[redo, col] = calc[col].to_numpy()
    # a DSR's value and Dobson limits (a "complex calculation", which NHS Digital's method
    # leaves uncontrolled) are kept; only its published total count is rounded
    return both


def withdraw_comparators(values: pd.DataFrame, metadata: pd.DataFrame) -> pd.DataFrame:
    """Comparator value and significance withdrawn from rows whose comparator's cell is
    suppressed; comparator values refreshed (after rounding) from the comparator's row."""
    if "comparator_code" not in values.columns:
        return values
    v = values.copy()
    dims = ["indicator_id", "period", "sex", "age", "category_type", "category"]
    dims = [d for d in dims if d in v.columns]
    look = v[dims + ["area_code", "value", "suppressed"]].rename(
        columns={"area_code": "comparator_code", "value": "_cv", "suppressed": "_cs"}
    )
    look = look.drop_duplicates(dims + ["comparator_code"])
    merged = v[dims + ["comparator_code"]].merge(look, on=dims + ["comparator_code"], how="left")
    comp_sup = merged["_cs"].astype("boolean").fillna(False).astype(bool).to_numpy()
    has = merged["_cv"].notna().to_numpy()
    v.loc[has, "comparator_value"] = merged.loc[has, "_cv"].to_numpy()
    v.loc[comp_sup, "comparator_value"] = np.nan
    if "significance" in v.columns:
        polarity = v["indicator_id"].map(metadata.set_index("indicator_id")["polarity"])
        redo = has & ~comp_sup & v["lower_95"].notna().to_numpy()
        if redo.any():
            v.loc[redo, "significance"] = stats.compare(
                v.loc[redo, "value"],
                v.loc[redo, "lower_95"],
                v.loc[redo, "upper_95"],
                v.loc[redo, "comparator_value"],
                polarity[redo],
                conf=0.95,
            ).to_numpy()
        v.loc[comp_sup | v["suppressed"].to_numpy(dtype=bool), "significance"] = "Not compared"
    return v


# --- publication (nhsbook.methods.publication: the analysis layer applies it without the pipeline) --

# --- deprivation quintiles in the pipeline ----------------------------------------------


def quintile_table(
    values: pd.DataFrame, metadata: pd.DataFrame, areas: pd.DataFrame, codes: Iterable[str]
) -> pd.DataFrame:
    """The deprivation-quintile aggregates of the inequality pages of ``codes`` (areas with
    practices): for each area, its practices grouped by the quintiles of the deprivation
    score across its comparison group (:func:`nhsbook.analysis.views.inequality_data`), counts and
    denominators summed and values and limits by each indicator's method
    (:func:`nhsbook.analysis.views.by_quintile`), with the practice codes of each cell in
    ``members`` (space-separated) for the suppression groups.  Empty when the book has no
    deprivation indicator."""
    dep = views.deprivation_indicator(metadata)
    frames = []
    if dep is not None:
        for code in codes:
            if code not in set(areas["area_code"]):
                continue
            try:
                _, group, own = views.peer_practices(areas, code)
            except (KeyError, IndexError):
                continue
            if not own or own == [code]:
                continue
            quint = views.practice_quintiles(values, areas, group, dep)
            bq = views.by_quintile(values, metadata, quint, own, suppress=False)
            if bq.empty:
                continue
            q = quint.dropna(subset=["quintile"])
            q = q[q["area_code"].isin(own)]
            mem = q.groupby("quintile")["area_code"].agg(lambda s: " ".join(sorted(s)))
            bq["members"] = bq["quintile"].map({int(k): v for k, v in mem.items()})
            bq.insert(0, "area_code", code)
            frames.append(bq)
    cols = [
        "area_code",
        "indicator_id",
        "period",
        "sex",
        "age",
        "category_type",
        "category",
        "quintile",
        "practices",
        "population",
        "count",
        "denominator",
        "value",
        "lower_95",
        "upper_95",
        "value_note",
        "members",
    ]
    if not frames:
        return pd.DataFrame(
            {
                c: pd.Series(
                    dtype=float
                    if c in ("count", "denominator", "value", "lower_95", "upper_95", "population")
                    else (int if c in ("quintile", "practices") else str)
                )
                for c in cols
            }
        )
    out = pd.concat(frames, ignore_index=True)
    for c in ("category_type", "category"):
        out[c] = ""
    return out[cols]


# --- a checker: parent minus siblings -----------------------------------------------------


def recoverable(
    published: pd.DataFrame,
    groups: Iterable[tuple[str, Iterable[str]]],
    small: Iterable[str] | None = None,
) -> list[tuple[str, str, float]]:
    """Cells an attacker recovers by parent − published siblings: for every group whose
    parent count is published and exactly one child's count is not, that child is
    recovered.  ``published``: one key's cells (``cell`` and published ``count``, NaN where
    withheld; the true counts in ``true_count``).  Returns (parent, child, recovered value)
    for recovered cells (those in ``small`` only, when given)."""
    pub = dict(zip(published["cell"], published["count"]))
    want = set(small) if small is not None else None
    hits = []
    for parent, kids in groups:
        kids = [k for k in kids if k in pub]
        if parent not in pub or not np.isfinite(pub[parent]) or not kids:
            continue
        unknown = [k for k in kids if not np.isfinite(pub[k])]
        if len(unknown) == 1 and (want is None or unknown[0] in want):
            value = pub[parent] - sum(pub[k] for k in kids if np.isfinite(pub[k]))
            hits.append((parent, unknown[0], float(value)))
    return hits
