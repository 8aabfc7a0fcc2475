"""Declarative charts: one function per chart type, a tidy DataFrame in, an ``alt.Chart`` out.

No I/O and no statistics here: every number a chart shows was computed before (by
:mod:`nhsbook.analysis.indicators`, :mod:`nhsbook.stats`, :mod:`nhsbook.analysis.finance` …); the functions only
encode it.  Submodules by concern; the chart functions are re-exported here.
"""

from __future__ import annotations

from nhsbook.charts.finance import (  # noqa: E402,F401
    change_bars,
    practice_budget_forecast,
    spend_trajectory,
    variance_bars,
    waterfall,
)
from nhsbook.charts.maps import SharedShapes, choropleth, map_grid, national_map, shape_data  # noqa: E402,F401
from nhsbook.charts.population import projection, pyramid  # noqa: E402,F401
from nhsbook.charts.profile import spine  # noqa: E402,F401
from nhsbook.charts.spot import (  # noqa: E402,F401
    relative_to_ccg,
    spend_outcome_scatter,
    spot_quadrant,
    zscore_bars,
)
from nhsbook.charts.trend import trend  # noqa: E402,F401
from nhsbook.charts.variation import compare_bars, funnel  # noqa: E402,F401
from nhsbook.charts.views import box_plot, inequality_bars, rug, scatter  # noqa: E402,F401
