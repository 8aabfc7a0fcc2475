"""What a published table shows of a suppressed cell: the rule every page, download and
report applies to computed rows (:func:`apply`), and the flag it reads (:func:`is_suppressed`).

The pipeline decides which cells are suppressed (:func:`nhsbook.analysis.disclosure.protect`: counts
1-4 and every cell from which one could be worked out) and records it in the ``suppressed``
column; this module only publishes that decision, so the analysis modules (indicators,
variation, views) can apply it without importing the pipeline.  Rows computed outside a
build (no ``suppressed`` column) get the primary rule of :func:`nhsbook.stats.suppress`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nhsbook import stats

#: Columns of a value withheld when its cell is suppressed.
WITHHELD = ("count", "denominator", "value", "lower_95", "upper_95", "lower_998", "upper_998")


def is_suppressed(rows: pd.DataFrame) -> pd.Series:
    """The pipeline's flag when the rows carry it, else the primary rule (counts 1-4)."""
    if "suppressed" in rows.columns:
        return rows["suppressed"].astype("boolean").fillna(False).astype(bool)
    return pd.to_numeric(rows["count"], errors="coerce").between(1, 4).fillna(False)


def apply(rows: pd.DataFrame) -> pd.DataFrame:
    """The published view of computed rows: suppressed cells' count, denominator, value and
    limits blanked, significance "Not compared".  Rows without the pipeline's flag (tables
    computed outside a build) get the primary rule of :func:`nhsbook.stats.suppress`."""
    if "suppressed" not in rows.columns:
        out = stats.suppress(rows)
        if "denominator" in out.columns:
            out["denominator"] = out["denominator"].where(~out["suppressed"])
    else:
        out = rows.copy()
        flag = out["suppressed"]
        mask = flag.to_numpy(copy=True) if flag.dtype == bool else is_suppressed(out).to_numpy()
        out["suppressed"] = mask
        hide = mask.any()
        for col in WITHHELD:
            if col in out.columns:
                # as ``pd.to_numeric(…).astype("float64").where(~mask)``, without pandas'
                # overhead (a page's key messages apply this to small tables many times)
                cells = out[col]
                if cells.dtype != np.float64:
                    cells = pd.to_numeric(cells, errors="coerce").astype("float64")
                elif not hide:  # already float64 and nothing to blank
                    continue
                cells = cells.to_numpy(copy=True)
                cells[mask] = np.nan
                out[col] = cells
    if "significance" in out.columns:
        out.loc[out["suppressed"].to_numpy(dtype=bool), "significance"] = "Not compared"
    return out
