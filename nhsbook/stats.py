"""Public-health statistics with the national (Fingertips / PHEindicatormethods) methods.

Every function here is vectorised: it accepts scalars, lists, numpy arrays or pandas Series and
returns pandas objects aligned to the input index where the input has one.  The methods and
formulas follow ``docs/conventions.md`` (shared folder), which records the definitions used by
OHID Fingertips and the R package PHEindicatormethods 2.1.0.  The code is written from those
published formulas; none of it is taken from the GPL-3 R package.

Conventions used throughout
---------------------------
* ``conf`` is a fraction (0.95, 0.998); ``z = Φ⁻¹(1 − (1 − conf)/2)``.
* Invalid *row-level* input (negative counts, denominators <= 0, a count above its denominator
  for proportions, missing values) never produces a number: that row's value and limits are NaN
  (and, for the grouped methods, the ``value_note`` says why).  Where the national package has
  its own rule for such input, it is followed instead and stated in the docstring (a missing
  DSR band count counts as 0; a life-expectancy group missing an age band is NA on its own;
  ``mean_ci`` leaves missing values out of n).
* Invalid *structure* (mismatched lengths or indexes, unknown polarity labels, unknown or
  duplicated age bands, DSR groups with different band sets, unknown columns) raises
  :class:`ValueError` naming the argument.
* ``docs/methods.md`` (repository) lists, method by method, where these functions agree with
  PHEindicatormethods and Fingertips and each known difference with its reason.

References
----------
* PHEindicatormethods 2.1.0 (UKHSA, GPL-3): https://github.com/ukhsa-collaboration/PHEindicatormethods
* Fingertips Public Health Technical Guidance:
  https://fingertips.phe.org.uk/static-reports/public-health-technical-guidance/
* APHO Technical Briefing 3: Commonly used public health statistics and their confidence
  intervals (Eayres D, 2008).

Where each family lives
-----------------------
This module is the public statistics API (``from nhsbook import stats``); it holds no method
of its own.  The methods live in :mod:`nhsbook.methods`, one module per method family (as
PHEindicatormethods has one file per method), and every name they define is re-exported here:

* ``methods.proportions``: :func:`wilson_limits`, :func:`proportion_ci` (Wilson score).
* ``methods.rates``: :func:`byars_limits`, :func:`rate_ci` (exact Poisson below 10, Byar's).
* ``methods.dsr``: :func:`dsr` (Dobson limits), :data:`ESP2013`.
* ``methods.isr``: :func:`expected_counts`, :func:`isratio`, :func:`isr`.
* ``methods.life_expectancy``: :func:`life_expectancy` (Chiang II, Silcocks),
  :data:`LE_AGE_BANDS`, :data:`LE_START_AGES`, :data:`LE_MIN_POPULATION`.
* ``methods.means``: :func:`mean_ci` (Student's t).
* ``methods.funnels``: :func:`funnel_limits`, :func:`funnel_significance`,
  :data:`FUNNEL_METHODS`.
* ``methods.quantiles``: :func:`quantile_class`, :func:`percentile`.
* ``methods.sii``: :func:`sii` (slope and relative index of inequality).
* ``methods.trend``: :func:`recent_trend`, :data:`TREND_THRESHOLD`.
* ``methods.compare``: :func:`compare` (against a comparator), :func:`zscore` (against peers).
* ``methods.aggregation``: :func:`aggregate` (roll-ups), :func:`suppress` (counts 1-4),
  :data:`SUPPRESSION_NOTE`.
* ``methods._common``: :func:`z_value`, :func:`conf_label` and the input handling every family
  shares (``_to_array``, ``_broadcast``, ``_check_conf``, ...).

The private helpers are re-exported too, so that every ``stats.X`` that resolved when the
methods were one file still does.
"""

from __future__ import annotations

from nhsbook.methods._common import (  # noqa: F401  (ArrayLike: a type)  # noqa: F401  (private: re-exported for existing callers)
    ArrayLike,
    _band_codes,
    _broadcast,
    _check_band_structure,
    _check_conf,
    _describe_group,
    _group_ids,
    _groupby_list,
    _require_columns,
    _to_array,
    _wrap,
    conf_label,
    z_value,
)
from nhsbook.methods.aggregation import SUPPRESSION_NOTE, aggregate, suppress
from nhsbook.methods.compare import _POLARITY_LABELS, compare, zscore  # noqa: F401
from nhsbook.methods.dsr import (  # noqa: F401
    _NOTE_DSR_MISSING,
    _NOTE_DSR_SMALL,
    _NOTE_INVALID_DSR,
    ESP2013,
    _bands_by_start_age,
    _dsr_weights,
    dsr,
)
from nhsbook.methods.funnels import (  # noqa: F401
    _FUNNEL_MULT,
    _NOTE_DSR_FUNNEL,
    FUNNEL_METHODS,
    _byar_inverse,
    _byar_lower,
    _byar_upper,
    _check_proportion_target,
    _funnel_counts,
    _funnel_method,
    _monotone_byar,
    funnel_limits,
    funnel_significance,
)
from nhsbook.methods.isr import expected_counts, isr, isratio
from nhsbook.methods.life_expectancy import (  # noqa: F401
    _NOTE_LE_INVALID,
    _NOTE_LE_MISSING,
    _NOTE_LE_NO90,
    _NOTE_LE_NOSURV,
    _NOTE_LE_SMALL,
    _NOTE_LE_WIDE,
    LE_AGE_BANDS,
    LE_MIN_POPULATION,
    LE_START_AGES,
    _life_table,
    life_expectancy,
)
from nhsbook.methods.means import mean_ci
from nhsbook.methods.proportions import _unwrap_pair, _wilson, proportion_ci, wilson_limits  # noqa: F401
from nhsbook.methods.quantiles import percentile, quantile_class
from nhsbook.methods.rates import _EXACT_BELOW, _count_limits, byars_limits, rate_ci  # noqa: F401
from nhsbook.methods.sii import (  # noqa: F401
    _VALUE_TYPES,
    _group_rng,
    _sfx,
    _sii_fit,
    _sii_group,
    sii,
)
from nhsbook.methods.trend import TREND_THRESHOLD, _ls_slope, recent_trend  # noqa: F401

__all__ = [
    "ESP2013",
    "LE_AGE_BANDS",
    "LE_START_AGES",
    "LE_MIN_POPULATION",
    "SUPPRESSION_NOTE",
    "z_value",
    "conf_label",
    "wilson_limits",
    "byars_limits",
    "proportion_ci",
    "rate_ci",
    "dsr",
    "expected_counts",
    "isr",
    "isratio",
    "life_expectancy",
    "mean_ci",
    "compare",
    "zscore",
    "funnel_limits",
    "funnel_significance",
    "FUNNEL_METHODS",
    "quantile_class",
    "percentile",
    "sii",
    "aggregate",
    "suppress",
    "recent_trend",
    "TREND_THRESHOLD",
]
