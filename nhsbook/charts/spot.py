"""Commissioning for Value charts: the SPOT quadrant, z-score bars, and a locality's values
relative to its CCG.  Data come from :mod:`nhsbook.analysis.spot`; nothing is computed here."""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

from nhsbook.charts.layout import fit, row_height, wrap_expr
from nhsbook.charts.theme import FONT, INK, significance_scale

#: Quadrant shading (light) and point colours (dark), colour-blind-distinguishable pairs.
QUADRANT_COLOURS: dict[str, tuple[str, str]] = {
    "Higher spend, worse outcome": ("#F6D5D1", "#B2182B"),
    "Lower spend, worse outcome": ("#FDE8C8", "#D95F02"),
    "Higher spend, better outcome": ("#DCE9F5", "#2166AC"),
    "Lower spend, better outcome": ("#D9F0D3", "#1B7837"),
}
#: Bar colours of the z-score chart by position (outcomes: better/worse; spend: higher/lower).
POSITION_COLOURS: dict[str, str] = {
    "better (beyond ±2)": "#1B7837",
    "better (±1 to ±2)": "#7FBF7B",
    "within ±1": "#BDBDBD",
    "worse (±1 to ±2)": "#EF8A62",
    "worse (beyond ±2)": "#B2182B",
    "higher (beyond ±2)": "#08306B",
    "higher (±1 to ±2)": "#6BAED6",
    "lower (±1 to ±2)": "#BCBDDC",
    "lower (beyond ±2)": "#54278F",
}


def _extent(*series: pd.Series, least: float = 3.0) -> float:
    """Half-width of a symmetric z axis: at least ``least``, wide enough for every point."""
    top = max([float(s.abs().max()) for s in series if len(s) and s.notna().any()] + [0.0])
    return max(least, math.ceil(top + 0.5))


def _boxes(x, y) -> list[alt.Chart]:
    """The ±1 (dotted) and ±2 (solid) boxes and the zero lines; ``x(field)``/``y(field)``
    make the shared axis encodings."""
    boxes = pd.DataFrame(
        {"lo": [-2.0, -1.0], "hi": [2.0, 1.0], "box": ["±2: investigate", "±1: worth exploring"]}
    )
    solid = alt.Chart(boxes.iloc[[0]]).mark_rect(fill=None, stroke=INK, strokeWidth=1.5)
    dotted = alt.Chart(boxes.iloc[[1]]).mark_rect(
        fill=None, stroke=INK, strokeWidth=1, strokeDash=[2, 3]
    )
    enc = dict(x=x("lo"), x2="hi:Q", y=y("lo"), y2="hi:Q")
    zero = pd.DataFrame({"z": [0.0]})
    return [
        solid.encode(**enc),
        dotted.encode(**enc),
        alt.Chart(zero).mark_rule(color="#777777").encode(x=x("z")),
        alt.Chart(zero).mark_rule(color="#777777").encode(y=y("z")),
    ]


#: Plot widths (px) at which the quadrant's number labels must not overlap: a phone to a
#: wide desktop column (the page sizes the chart from its column).
LABEL_WIDTHS = (240, 300, 380, 480, 620, 800, 1000)
#: Where a number may sit relative to its point (px right, px down), nearest first.
_OFFSETS = [
    (dx * r, dy * r)
    for r in (1.0, 1.6, 2.3, 3.1)
    for dx, dy in ((1, -1), (1, 1), (-1, -1), (-1, 1), (0, -1.3), (0, 1.3), (1.4, 0), (-1.4, 0))
]


def label_offsets(
    x: pd.Series,
    y: pd.Series,
    labels: list[str],
    extent: float,
    *,
    radius: pd.Series | None = None,
    font_px: float = 11.0,
    widths: tuple[int, ...] = LABEL_WIDTHS,
) -> list[tuple[float, float]]:
    """Pixel offsets (dx, dy) from each point to its label such that no two labels'
    boxes overlap, nor a label and a point, at any plot width of ``widths`` (the chart is
    square, both axes span ``[-extent, extent]``).  Greedy, in ``labels`` order: each label
    takes the first candidate offset (:data:`_OFFSETS`, scaled by the point's radius) that
    is clear at every width; a label with no clear candidate takes the farthest one (the
    box test of the browser tests then fails: the chart needs fewer labels)."""
    r = [10.0] * len(labels) if radius is None else [max(6.0, float(v)) for v in radius]
    sizes = [(0.62 * font_px * len(t) + 2, font_px + 2) for t in labels]
    placed: list[tuple[float, float]] = []

    def box(i: int, off: tuple[float, float], scale: float):
        cx = (float(x.iloc[i]) + extent) * scale + off[0]
        cy = (extent - float(y.iloc[i])) * scale + off[1]
        w, h = sizes[i]
        return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2

    def clash(a, b) -> bool:
        return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]

    for i in range(len(labels)):
        choice = None
        for dx, dy in _OFFSETS:
            off = (dx * (r[i] + sizes[i][0] / 2), dy * (r[i] * 0.8 + sizes[i][1] / 2))
            ok = True
            for width in widths:
                scale = width / (2 * extent)
                mine = box(i, off, scale)
                if any(clash(mine, box(j, placed[j], scale)) for j in range(len(placed))):
                    ok = False
                    break
                for j in range(len(labels)):  # nor on another point's circle
                    px = (float(x.iloc[j]) + extent) * scale
                    py = (extent - float(y.iloc[j])) * scale
                    if j != i and clash(mine, (px - r[j], py - r[j], px + r[j], py + r[j])):
                        ok = False
                        break
                if not ok:
                    break
            if ok:
                choice = off
                break
        placed.append(
            choice
            if choice is not None
            else (
                _OFFSETS[-1][0] * (r[i] + sizes[i][0] / 2),
                _OFFSETS[-1][1] * (r[i] + sizes[i][1] / 2),
            )
        )
    return placed


def spot_quadrant(
    data: pd.DataFrame,
    *,
    area_name: str = "",
    peer_group: str = "",
    width: int = 460,
    height: int = 460,
) -> alt.LayerChart:
    """The SPOT quadrant chart: each programme a labelled point at (spend z, outcome z), sized
    by its spend, on shaded quadrants, with the solid ±2 box (investigate) and the dotted ±1
    box (worth exploring).  ``data`` is :func:`nhsbook.analysis.spot.quadrant_data` output."""
    need = {
        "programme",
        "programme_name",
        "spend_z",
        "outcome_z",
        "spend_m",
        "quadrant",
        "spend_per_head",
        "peer_spend_per_head",
        "outcome_indicator",
        "outcome_value",
        "peer_outcome_mean",
    }
    if not need <= set(data.columns):
        raise ValueError(
            f"quadrant data lacks {sorted(need - set(data.columns))}: use "
            "nhsbook.analysis.spot.quadrant_data"
        )
    e = _extent(data["spend_z"], data["outcome_z"])
    scale = alt.Scale(domain=[-e, e], nice=False)

    def xq(field: str) -> alt.X:
        return alt.X(
            f"{field}:Q", scale=scale, title="Spend per head z-score (right = higher spend)"
        )

    def yq(field: str) -> alt.Y:
        return alt.Y(f"{field}:Q", scale=scale, title="Outcome z-score (up = better outcome)")

    x, y = xq("spend_z"), yq("outcome_z")
    shade = pd.DataFrame(
        {
            "quadrant": list(QUADRANT_COLOURS),
            "x0": [0, -e, 0, -e],
            "x1": [e, 0, e, 0],
            "y0": [-e, -e, 0, 0],
            "y1": [0, 0, e, e],
            "tx": [e - 0.1, -e + 0.1, e - 0.1, -e + 0.1],
            "ty": [-e + 0.35, -e + 0.35, e - 0.35, e - 0.35],
            "align": ["right", "left", "right", "left"],
        }
    )
    shade["fill"] = shade["quadrant"].map(lambda q: QUADRANT_COLOURS[q][0])
    shade["corner"] = [q.split(", ") for q in shade["quadrant"]]  # two lines
    background = (
        alt.Chart(shade)
        .mark_rect(opacity=0.8)
        .encode(x=xq("x0"), x2="x1:Q", y=yq("y0"), y2="y1:Q", color=alt.Color("fill:N", scale=None))
    )
    corner = [
        alt.Chart(shade[shade["align"] == a])
        .mark_text(
            align=a,
            baseline="middle",
            fontSize=10,
            font=FONT,
            color="#555555",
            fontStyle="italic",
            lineHeight=11,
        )
        .encode(x=xq("tx"), y=yq("ty"), text="corner:N")
        for a in ("left", "right")
    ]
    present = [q for q in QUADRANT_COLOURS if q in set(data["quadrant"])]
    points = (
        alt.Chart(data)
        .mark_circle(opacity=0.9, stroke="#FFFFFF", strokeWidth=1)
        .encode(
            x=x,
            y=y,
            size=alt.Size(
                "spend_m:Q",
                title="Spend (£ million)",
                scale=alt.Scale(range=[60, 900], zero=True),
                legend=alt.Legend(orient="bottom", columns=4),
            ),
            color=alt.Color(
                "quadrant:N",
                title="Quadrant",
                scale=alt.Scale(domain=present, range=[QUADRANT_COLOURS[q][1] for q in present]),
                legend=alt.Legend(orient="bottom", columns=1, labelLimit=0),
            ),
            tooltip=[
                alt.Tooltip("programme_name:N", title="Programme"),
                alt.Tooltip("quadrant:N", title="Quadrant"),
                alt.Tooltip("spend_z:Q", title="Spend z", format="+.2f"),
                alt.Tooltip("outcome_z:Q", title="Outcome z (up = better)", format="+.2f"),
                alt.Tooltip("spend_m:Q", title="Spend (£m)", format=",.1f"),
                alt.Tooltip("spend_per_head:Q", title="Spend per head (£)", format=",.2f"),
                alt.Tooltip("peer_spend_per_head:Q", title="Peer mean per head (£)", format=",.2f"),
                alt.Tooltip("outcome_indicator:N", title="Outcome indicator"),
                alt.Tooltip("outcome_value:Q", title="Outcome value", format=",.1f"),
                alt.Tooltip("peer_outcome_mean:Q", title="Peer mean outcome", format=",.1f"),
            ],
        )
    )
    # numbered points, the numbers placed clear of each other at every plot width
    # (label_offsets), the key below the chart: names never overlap
    data = data.sort_values(["spend_m", "programme"], ascending=[False, True]).reset_index(
        drop=True
    )
    data["point"] = [str(n) for n in range(1, len(data) + 1)]
    spend = data["spend_m"].fillna(0).clip(lower=0)
    top = float(spend.max()) or 1.0
    radius = ((60 + (900 - 60) * spend / top) / 3.1416) ** 0.5  # the size scale's radii
    offsets = label_offsets(
        data["spend_z"], data["outcome_z"], list(data["point"]), e, radius=radius
    )
    data["label_dx"] = [round(o[0], 1) for o in offsets]
    data["label_dy"] = [round(o[1], 1) for o in offsets]
    data["key"] = [f"{n}  {p}" for n, p in zip(data["point"], data["programme_name"])]
    labels = (
        alt.Chart(data)
        .mark_text(
            align="center",
            baseline="middle",
            fontSize=11,
            font=FONT,
            fontWeight="bold",
            color=INK,
            dx=alt.ExprRef("datum.label_dx"),
            dy=alt.ExprRef("datum.label_dy"),
        )
        .encode(
            x=x, y=y, text="point:N", tooltip=[alt.Tooltip("programme_name:N", title="Programme")]
        )
        .properties(name="spot_labels")
    )
    counts = data["quadrant"].value_counts()
    summary = "; ".join(f"{counts[q]} {q.lower()}" for q in QUADRANT_COLOURS if q in counts)
    beyond = data[(data["spend_z"].abs() >= 2) | (data["outcome_z"].abs() >= 2)]
    where = f" for {area_name}" if area_name else ""
    against = f" against {peer_group}" if peer_group else " against its peers"
    plot = alt.layer(background, *corner, *_boxes(xq, yq), points, labels).properties(
        width=width, height=height
    )
    key_rows = pd.DataFrame({"key": data["key"], "row": range(len(data))})
    key = (
        alt.Chart(key_rows)
        .mark_text(align="left", baseline="top", fontSize=11, font=FONT, color=INK, lineHeight=13)
        .encode(x=alt.value(0), y=alt.Y("row:O", axis=None), text="key_lines:N")
        .transform_calculate(key_lines=wrap_expr(46, "datum.key"))
        .properties(
            width=width,
            height=row_height(data["key"], 46, line_px=13) * len(data),
            title=alt.TitleParams(
                "Programmes by number (largest spend first)", anchor="start", fontSize=12, font=FONT
            ),
        )
    )
    chart = (
        alt.vconcat(plot, key, spacing=16)
        .resolve_scale(color="independent")
        .properties(
            title=alt.TitleParams(
                f"Spend and outcome{where}{against}",
                anchor="start",
                font=FONT,
                subtitle=[
                    "z-scores; solid box ±2 (investigate),",
                    "dotted box ±1 (worth exploring);",
                    "point size: spend; numbers: the key below",
                ],
            ),
            description=(
                f"SPOT quadrant chart{where}: {len(data)} programme budgeting categories "
                f"by spend per head z-score (x) and outcome z-score (y, up is better)"
                f"{against}: {summary}. {len(beyond)} beyond ±2."
            ),
        )
    )
    return fit(chart.configure_view(stroke=None), "vconcat", chrome=70, aspect=1.0, max=720)


def zscore_bars(
    data: pd.DataFrame, *, title: str, measure: str = "outcome", width: int = 380
) -> alt.LayerChart:
    """Horizontal bars of z-scores against the peer group, one per indicator (or programme),
    coloured by position (beyond ±2, ±1 to ±2, within ±1), with guides at 0, ±1 (dotted) and
    ±2 (solid).  ``data`` is :func:`nhsbook.analysis.spot.zscore_bar_data` output; ``measure`` names
    the axis ("outcome": up = better, so right = better; "spend": right = higher spend)."""
    need = {"label", "programme", "z", "value", "peer_mean", "position"}
    if not need <= set(data.columns):
        raise ValueError(
            f"z-score data lacks {sorted(need - set(data.columns))}: use "
            "nhsbook.analysis.spot.zscore_bar_data"
        )
    e = _extent(data["z"])
    scale = alt.Scale(domain=[-e, e], nice=False)
    axis_title = (
        "Outcome z-score (right = better)"
        if measure == "outcome"
        else "Spend per head z-score (right = higher)"
    )
    present = [p for p in POSITION_COLOURS if p in set(data["position"])]
    y = alt.Y(
        "label:N",
        title=None,
        sort=list(data["label"]),
        axis=alt.Axis(labelLimit=0, labelExpr=wrap_expr(30), labelFont=FONT),
    )
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("z:Q", scale=scale, title=axis_title),
            y=y,
            color=alt.Color(
                "position:N",
                title="Against peers",
                scale=alt.Scale(domain=present, range=[POSITION_COLOURS[p] for p in present]),
                legend=alt.Legend(orient="bottom", columns=2),
            ),
            tooltip=[
                alt.Tooltip("label:N", title="Indicator" if measure == "outcome" else "Programme"),
                alt.Tooltip("programme:N", title="Programme"),
                alt.Tooltip("z:Q", title="z-score", format="+.2f"),
                alt.Tooltip("value:Q", title="Value", format=",.2f"),
                alt.Tooltip("peer_mean:Q", title="Peer mean", format=",.2f"),
                alt.Tooltip("position:N", title="Position"),
            ],
        )
    )
    guides = pd.DataFrame(
        {"z": [-2.0, 2.0, -1.0, 1.0, 0.0], "kind": ["solid", "solid", "dotted", "dotted", "zero"]}
    )
    gx = alt.X("z:Q", scale=scale, title=axis_title)
    solid = (
        alt.Chart(guides[guides["kind"] == "solid"])
        .mark_rule(color=INK, strokeWidth=1.5)
        .encode(x=gx)
    )
    dotted = (
        alt.Chart(guides[guides["kind"] == "dotted"])
        .mark_rule(color=INK, strokeDash=[2, 3])
        .encode(x=gx)
    )
    zero = alt.Chart(guides[guides["kind"] == "zero"]).mark_rule(color="#777777").encode(x=gx)
    beyond = int((data["z"].abs() >= 2).sum())
    return fit(
        alt.layer(bars, dotted, solid, zero).properties(
            width=width,
            height=max(row_height(data["label"], 30) * len(data), 120),
            title=alt.TitleParams(
                title,
                anchor="start",
                font=FONT,
                subtitle="z-scores against the peer group; solid lines ±2, dotted ±1",
            ),
            description=(
                f"{title}: {len(data)} z-scores against the peer group, {beyond} beyond "
                f"±2; bars to the right are {'better' if measure == 'outcome' else 'higher'}"
                "."
            ),
        )
    )


def relative_to_ccg(
    data: pd.DataFrame, *, locality: str = "", palette: str = "standard", width: int = 380
) -> alt.LayerChart:
    """A locality's value on each indicator as a percentage of its CCG's value (100 = the
    CCG), with the 95% interval, coloured by significance against the CCG.  ``data`` is
    :func:`nhsbook.analysis.spot.relative_data` output."""
    need = {
        "indicator",
        "domain",
        "relative",
        "relative_lower",
        "relative_upper",
        "locality_value",
        "ccg_value",
        "significance",
    }
    if not need <= set(data.columns):
        raise ValueError(
            f"relative data lacks {sorted(need - set(data.columns))}: use "
            "nhsbook.analysis.spot.relative_data"
        )
    y = alt.Y(
        "indicator:N",
        title=None,
        sort=list(data["indicator"]),
        axis=alt.Axis(labelLimit=0, labelExpr=wrap_expr(30), labelFont=FONT),
    )
    x_title = "% of the CCG value"
    x = alt.X("relative:Q", title=x_title, scale=alt.Scale(zero=False))
    present = tuple(data["significance"].dropna().unique())
    errors = (
        alt.Chart(data)
        .mark_rule(color=INK)
        .encode(x=alt.X("relative_lower:Q", title=x_title), x2="relative_upper:Q", y=y)
    )
    points = (
        alt.Chart(data)
        .mark_circle(size=70, opacity=1, stroke=INK, strokeWidth=0.5)
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "significance:N",
                title="Against the CCG",
                scale=significance_scale(palette, present),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("indicator:N", title="Indicator"),
                alt.Tooltip("domain:N", title="Domain"),
                alt.Tooltip("locality_value:Q", title="Locality value", format=",.1f"),
                alt.Tooltip("ccg_value:Q", title="CCG value", format=",.1f"),
                alt.Tooltip("relative:Q", title="% of CCG value", format=",.1f"),
                alt.Tooltip("relative_lower:Q", title="Lower 95% CI (%)", format=",.1f"),
                alt.Tooltip("relative_upper:Q", title="Upper 95% CI (%)", format=",.1f"),
                alt.Tooltip("significance:N", title="Significance"),
            ],
        )
    )
    ref = (
        alt.Chart(pd.DataFrame({"relative": [100.0]}))
        .mark_rule(color="#2A6EBB", strokeWidth=1.5, strokeDash=[6, 3])
        .encode(x=x)
    )
    counts = data["significance"].value_counts()
    summary = ", ".join(f"{n} {s.lower()}" for s, n in counts.items())
    name = locality or "the locality"
    return fit(
        alt.layer(errors, ref, points).properties(
            width=width,
            height=max(row_height(data["indicator"], 30) * len(data), 120),
            title=alt.TitleParams(
                f"{name} relative to the CCG" if locality else "Relative to the CCG",
                anchor="start",
                font=FONT,
                subtitle="value as % of the CCG value, 95% confidence interval; "
                "dashed line: the CCG",
            ),
            description=(
                f"{name} on {len(data)} indicators as a percentage of the CCG value with "
                f"95% confidence intervals, against the CCG: {summary}."
            ),
        )
    )


def spend_outcome_scatter(
    data: pd.DataFrame,
    *,
    area_name: str,
    spend_title: str,
    outcome_title: str,
    low_is_good: bool = True,
    width: int = 460,
    height: int = 460,
) -> alt.VConcatChart:
    """An area and its peer group on spend (x) and an outcome (y, the axis turned so that up
    is better), SPOT-style: the quadrant lines at the group's means, the dotted ±1 SD and
    solid ±2 SD boxes, the outcome's 95% interval as a vertical line, the area a large black
    star and each peer numbered by its rank (names in the key below and in the tooltip).
    Both axes span ``mean ± e SD`` of the group, so the picture is the z-score picture in the
    data's own units.  ``data`` is :func:`nhsbook.analysis.gp_spend.chart_data` output."""
    need = {
        "point",
        "label",
        "name",
        "this",
        "spend",
        "value",
        "lower",
        "upper",
        "spend_z",
        "outcome_z",
        "quadrant",
        "spend_mean",
        "spend_sd",
        "value_mean",
        "value_sd",
    }
    if not need <= set(data.columns):
        raise ValueError(
            f"scatter data lacks {sorted(need - set(data.columns))}: use "
            "nhsbook.analysis.gp_spend.chart_data"
        )
    e = _extent(data["spend_z"], data["outcome_z"])
    sm, ss = float(data["spend_mean"].iloc[0]), float(data["spend_sd"].iloc[0])
    vm, vs = float(data["value_mean"].iloc[0]), float(data["value_sd"].iloc[0])
    xdom = [sm - e * ss, sm + e * ss]
    ydom = [vm - e * vs, vm + e * vs]
    xs = alt.Scale(domain=xdom, nice=False, zero=False)
    ys = alt.Scale(domain=ydom, nice=False, zero=False, reverse=low_is_good)

    def xq(field: str) -> alt.X:
        return alt.X(
            f"{field}:Q",
            scale=xs,
            title=spend_title.split("\n"),
            axis=alt.Axis(format="~s" if sm > 1e5 else ",.0f", tickCount=5),
        )

    def yq(field: str) -> alt.Y:
        return alt.Y(
            f"{field}:Q", scale=ys, title=outcome_title.split("\n"), axis=alt.Axis(tickCount=5)
        )

    # quadrants in data units: right = higher spend; "better" is up whichever way the axis runs
    up, down = (ydom[0], ydom[1]) if low_is_good else (ydom[1], ydom[0])
    shade = pd.DataFrame(
        {
            "quadrant": list(QUADRANT_COLOURS),
            "x0": [sm, xdom[0], sm, xdom[0]],
            "x1": [xdom[1], sm, xdom[1], sm],
            "y0": [vm, vm, vm, vm],
            "y1": [down, down, up, up],
        }
    )
    shade["fill"] = shade["quadrant"].map(lambda q: QUADRANT_COLOURS[q][0])
    background = (
        alt.Chart(shade)
        .mark_rect(opacity=0.7)
        .encode(
            x=xq("x0"),
            x2="x1:Q",
            y=yq("y0"),
            y2="y1:Q",
            color=alt.Color("fill:N", scale=None),
            tooltip=[alt.Tooltip("quadrant:N", title="Quadrant")],
        )
    )
    corner_pos = {  # (x, y, align) of each quadrant's name, inside its outer corner
        "Higher spend, worse outcome": (xdom[1], down, "right"),
        "Lower spend, worse outcome": (xdom[0], down, "left"),
        "Higher spend, better outcome": (xdom[1], up, "right"),
        "Lower spend, better outcome": (xdom[0], up, "left"),
    }
    corners = pd.DataFrame(
        [
            {"quadrant": q, "tx": x, "ty": y, "align": a, "lines": q.split(", ")}
            for q, (x, y, a) in corner_pos.items()
        ]
    )
    corners["ty"] = [y + 0.4 * vs * (1 if vm > y else -1) for y in corners["ty"]]  # inward
    corner = [
        alt.Chart(corners[corners["align"] == a])
        .mark_text(
            align=a,
            baseline="middle",
            fontSize=10,
            font=FONT,
            color="#555555",
            fontStyle="italic",
            lineHeight=11,
            dx=4 if a == "left" else -4,
        )
        .encode(x=xq("tx"), y=yq("ty"), text="lines:N")
        for a in ("left", "right")
    ]
    boxes = pd.DataFrame(
        {
            "x0": [sm - 2 * ss, sm - ss],
            "x1": [sm + 2 * ss, sm + ss],
            "y0": [vm - 2 * vs, vm - vs],
            "y1": [vm + 2 * vs, vm + vs],
        }
    )
    solid = (
        alt.Chart(boxes.iloc[[0]])
        .mark_rect(fill=None, stroke=INK, strokeWidth=1.2)
        .encode(x=xq("x0"), x2="x1:Q", y=yq("y0"), y2="y1:Q")
    )
    dotted = (
        alt.Chart(boxes.iloc[[1]])
        .mark_rect(fill=None, stroke=INK, strokeWidth=1, strokeDash=[2, 3])
        .encode(x=xq("x0"), x2="x1:Q", y=yq("y0"), y2="y1:Q")
    )
    means = pd.DataFrame({"spend": [sm], "value": [vm]})
    vline = alt.Chart(means).mark_rule(color="#777777").encode(x=xq("spend"))
    hline = alt.Chart(means).mark_rule(color="#777777").encode(y=yq("value"))
    tooltip = [
        alt.Tooltip("name:N", title="Area"),
        alt.Tooltip("label:N", title="Key"),
        alt.Tooltip("spend:Q", title="Spend (£)", format=",.2f"),
        alt.Tooltip("value:Q", title="Outcome", format=",.1f"),
        alt.Tooltip("lower:Q", title="Lower 95% CI", format=",.1f"),
        alt.Tooltip("upper:Q", title="Upper 95% CI", format=",.1f"),
        alt.Tooltip("spend_z:Q", title="Spend z", format="+.2f"),
        alt.Tooltip("outcome_z:Q", title="Outcome z (up = better)", format="+.2f"),
        alt.Tooltip("quadrant:N", title="Quadrant"),
    ]
    ci = (
        alt.Chart(data)
        .mark_rule(color="#555555", strokeWidth=1.5, clip=True)
        .encode(x=xq("spend"), y=yq("lower"), y2="upper:Q", tooltip=tooltip)
    )
    peers = data[~data["this"]]
    own = data[data["this"]]
    dots = (
        alt.Chart(peers)
        .mark_circle(size=90, color="#2166AC", opacity=0.9, stroke="#FFFFFF", strokeWidth=1)
        .encode(x=xq("spend"), y=yq("value"), tooltip=tooltip)
    )
    star = (
        alt.Chart(own)
        .mark_point(
            shape="diamond",
            size=260,
            filled=True,
            color="#000000",
            stroke="#FFFFFF",
            strokeWidth=1.5,
        )
        .encode(x=xq("spend"), y=yq("value"), tooltip=tooltip)
    )
    # the numbers clear of each other and of the points at every width (z space is the
    # chart's space: up = better, both axes mean ± e SD)
    offsets = label_offsets(
        data["spend_z"],
        data["outcome_z"],
        list(data["label"]),
        e,
        radius=pd.Series([7.0] * len(data)),
    )
    labelled = data.assign(
        label_dx=[round(o[0], 1) for o in offsets], label_dy=[round(o[1], 1) for o in offsets]
    )
    labels = (
        alt.Chart(labelled)
        .mark_text(
            align="center",
            baseline="middle",
            fontSize=11,
            font=FONT,
            fontWeight="bold",
            color=INK,
            dx=alt.ExprRef("datum.label_dx"),
            dy=alt.ExprRef("datum.label_dy"),
        )
        .encode(x=xq("spend"), y=yq("value"), text="label:N", tooltip=tooltip)
        .properties(name="spend_outcome_labels")
    )
    plot = alt.layer(
        background, *corner, solid, dotted, vline, hline, ci, dots, star, labels
    ).properties(width=width, height=height)
    keyed = data.sort_values("point")
    key_rows = pd.DataFrame(
        {
            "key": [
                ("◆ " if t else f"{p}  ") + n
                for p, n, t in zip(keyed["point"], keyed["name"], keyed["this"])
            ],
            "row": range(len(keyed)),
        }
    )
    key = (
        alt.Chart(key_rows)
        .mark_text(align="left", baseline="top", fontSize=11, font=FONT, color=INK, lineHeight=13)
        .encode(x=alt.value(0), y=alt.Y("row:O", axis=None), text="key_lines:N")
        .transform_calculate(key_lines=wrap_expr(34, "datum.key"))
        .properties(
            # short lines: the key must fit a phone's column beside the plot's axis (a view's
            # own title is not wrapped by the page renderer)
            width=width,
            height=row_height(key_rows["key"], 34, line_px=13) * len(key_rows),
            title=alt.TitleParams(
                ["◆ this area", "1–10: peers, most similar first"],
                anchor="start",
                fontSize=12,
                font=FONT,
            ),
        )
    )
    quadrant = str(own["quadrant"].iloc[0]).lower() if len(own) else "not placed"
    chart = alt.vconcat(plot, key, spacing=16).properties(
        title=alt.TitleParams(
            f"{area_name} and its similar 10",
            anchor="start",
            font=FONT,
            subtitle=[
                "lines: the group's means; dotted box ±1 SD,",
                "solid box ±2 SD; up = better outcome;",
                "vertical bars: 95% confidence intervals",
            ],
        ),
        description=(
            f"Spend and outcome scatter of {area_name} and {len(peers)} similar "
            f"areas: spend (x) against the outcome (y, up is better), the area "
            f"{quadrant}."
        ),
    )
    return fit(chart.configure_view(stroke=None), "vconcat", chrome=70, aspect=1.0, max=720)
