"""The data of a spine chart: each indicator placed on a common scale around its comparator.

A spine chart shows, for every indicator of a profile, where the area's value lies within the
range of its peers (here: the practices of the area, or of the CCG for a practice's own page),
with the comparator in the middle. This module computes the positions; the chart itself is
:func:`nhsbook.charts.spine`.

Scaling (Fingertips spine charts, conventions.md "Spine chart")
    For each indicator with comparator value ``c`` the half-width is
    ``h = max |v - c|`` over the worst and best practice, the percentiles, the area's value and
    any extra markers; a value ``v`` sits at ``x = 0.5 + s (v - c) / (2h)`` on ``[0, 1]`` with
    ``s = -1`` for low-is-good indicators (so that the best end is always on the right) and
    ``s = +1`` otherwise.  Without a comparator value the scale centres on the median of the
    range, ``(p25 + p75) / 2``, or on the area's value.
Hiding
    An indicator's range (the grey bands) is hidden when 25% or more of the peer practices have
    no published value, as Fingertips hides spines with too few areas; the marker stays.
Disclosure
    Rows come from :func:`nhsbook.analysis.indicators.profile_table`, which suppresses counts 1-4 and
    everything derived from them: a suppressed area has no marker and no count.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from nhsbook.analysis import indicators
from nhsbook.core.model import SUPPRESSED

#: Columns whose values are placed on the spine scale (``x_<column>``).
SCALED = ("worst", "p25", "p75", "best", "value")
#: Share of peers without a value at or above which the range is hidden.
HIDE_SHARE = 0.25


def _peer_practices(areas: pd.DataFrame, code: str) -> int:
    """Number of practices directly or indirectly below ``code``."""
    parents = areas.set_index("area_code")["parent_code"].fillna("")
    below = {code}
    changed = True
    while changed:
        new = set(parents.index[parents.isin(below)]) - below
        below |= new
        changed = bool(new)
    return int(areas.loc[areas["area_code"].isin(below - {code}), "area_type"].eq("practice").sum())


def spread_area(areas: pd.DataFrame, area_code: str) -> str:
    """The area whose practices form the spine's range: the area itself when it has practices
    below it, otherwise its comparator (a practice is shown against all the CCG's practices)."""
    if _peer_practices(areas, area_code) > 0:
        return area_code
    row = areas.loc[areas["area_code"] == area_code]
    if row.empty:
        raise KeyError(f"area {area_code!r} is not in the area table")
    return str(row["comparator_code"].iloc[0])


def _format(v: float, unit: str) -> str:
    if pd.isna(v):
        return ""
    digits = 0 if unit in ("count",) else 1
    return f"{v:,.{digits}f}"


def spine_data(
    values: pd.DataFrame,
    metadata: pd.DataFrame,
    areas: pd.DataFrame,
    area_code: str,
    profile: str,
    markers: Sequence[str] = (),
    peer: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per indicator (``role = "area"``) and per indicator and marker area
    (``role = "marker"``, e.g. the localities on a CCG's chart), with scaled positions.

    Columns: ``order``, ``indicator_id``, ``domain``, ``indicator``, ``period``, ``unit``,
    ``polarity``, ``role``, ``area_code``, ``area_name``, ``count_text`` (``Supp.`` when
    suppressed), ``value``, ``lower_95``, ``upper_95``, ``comparator_value``, ``significance``,
    ``worst``, ``p25``, ``p75``, ``best``, positions ``x_worst``, ``x_q_left``, ``x_q_right``,
    ``x_best``, ``x_value`` (the quartile band's left and right ends; see module docstring),
    ``show_range`` and text columns for the chart's table (``value_text``, ``comparator_text``,
    ``worst_text``, ``best_text``).

    ``peer`` (optional): the similar-10 comparator as data, rows ``indicator_id``,
    ``area_name``, ``value``, ``lower_95``, ``upper_95`` (:func:`nhsbook.analysis.peers.compare_with_peers`
    gives them), drawn with ``role = "peer"`` on the same scale.
    """
    names = areas.set_index("area_code")["area_name"]
    rows = indicators.profile_table(values, metadata, area_code, profile)
    if rows.empty:
        raise ValueError(f"no {profile} profile indicators in the metadata")
    base = rows[
        [
            "indicator_id",
            "domain",
            "name",
            "period",
            "unit",
            "polarity",
            "count",
            "value",
            "lower_95",
            "upper_95",
            "comparator_value",
            "significance",
            "suppressed",
        ]
    ].rename(columns={"name": "indicator"})
    base.insert(0, "order", np.arange(len(base)))
    spread_code = spread_area(areas, area_code)
    spread_rows = indicators.profile_period(
        values.loc[
            values["area_code"] == spread_code,
            ["indicator_id", "period", "worst", "p25", "p75", "best", "n_practices"],
        ],
        metadata,
    ).drop(columns="period")
    spread_rows = spread_rows.drop_duplicates("indicator_id")
    base = base.merge(spread_rows, on="indicator_id", how="left")
    peers = _peer_practices(areas, spread_code)
    share_missing = 1 - base["n_practices"].fillna(0) / peers if peers else 1.0
    base["show_range"] = (share_missing < HIDE_SHARE) & base["p25"].notna()
    base["role"] = "area"
    base["area_code"] = area_code
    base["area_name"] = names.get(area_code, area_code)

    parts = [base]
    for code in markers:
        m = indicators.profile_table(values, metadata, code, profile)
        m = m[
            ["indicator_id", "count", "value", "lower_95", "upper_95", "significance", "suppressed"]
        ]
        m = base.drop(
            columns=[
                "count",
                "value",
                "lower_95",
                "upper_95",
                "significance",
                "suppressed",
                "role",
                "area_code",
                "area_name",
            ]
        ).merge(m, on="indicator_id", how="left")
        m["role"] = "marker"
        m["area_code"] = code
        m["area_name"] = names.get(code, code)
        parts.append(m)
    if peer is not None and not peer.empty:
        p = base.drop(
            columns=[
                "count",
                "value",
                "lower_95",
                "upper_95",
                "significance",
                "suppressed",
                "role",
                "area_code",
                "area_name",
            ]
        ).merge(
            peer[["indicator_id", "area_name", "value", "lower_95", "upper_95"]],
            on="indicator_id",
            how="inner",
        )
        p["count"], p["significance"], p["suppressed"] = np.nan, "", False
        p["role"], p["area_code"] = "peer", "similar10"
        parts.append(p)
    out = pd.concat(parts, ignore_index=True)
    out = _scale(out)
    out["count_text"] = np.where(
        out["suppressed"].fillna(False).astype(bool),
        SUPPRESSED,
        out["count"].map(lambda v: "" if pd.isna(v) else f"{v:,.0f}"),
    )
    out["count"] = out["count"].where(~out["suppressed"].fillna(False).astype(bool))
    for col in ("value", "comparator_value", "worst", "best"):
        out[f"{col.split('_')[0]}_text"] = [_format(v, u) for v, u in zip(out[col], out["unit"])]
    out.loc[out["suppressed"].fillna(False).astype(bool), "value_text"] = SUPPRESSED
    positions = [c for c in out.columns if c.startswith("x_")]
    out[positions] = out[positions].round(4)  # screen precision: keeps pages small
    first = out["domain"].ne(out.sort_values("order")["domain"].shift().reindex(out.index))
    out["domain_label"] = np.where(first & out["role"].eq("area"), out["domain"], "")
    return out.drop(columns=["suppressed"])


def _scale(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``x_<col>`` positions (see module docstring) per indicator."""
    df = df.copy()
    centre = df["comparator_value"].copy()
    centre = centre.fillna((df["p25"] + df["p75"]) / 2).fillna(df["value"])
    dev = pd.concat([(df[c] - centre).abs() for c in SCALED], axis=1).max(axis=1)
    half = dev.groupby(df["indicator_id"]).transform("max")
    half = half.where(half > 0, 1.0).fillna(1.0)
    sign = np.where(df["polarity"].eq("low_is_good"), -1.0, 1.0)
    for c in SCALED:
        df[f"x_{c}"] = 0.5 + sign * (df[c] - centre) / (2 * half)
    # the quartile band's left and right ends (p75 is on the left when low is good)
    df["x_q_left"] = np.fmin(df["x_p25"], df["x_p75"])
    df["x_q_right"] = np.fmax(df["x_p25"], df["x_p75"])
    df = df.drop(columns=["x_p25", "x_p75"])
    hidden = ~df["show_range"].astype(bool)
    df.loc[hidden, ["x_worst", "x_q_left", "x_q_right", "x_best"]] = np.nan
    return df
