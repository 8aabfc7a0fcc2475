"""Importer of NHS England's "NHS Payments to General Practice, England 2022-23" (one row per
practice paid in the year, UTF-8 with a BOM), as published.

The publisher's headers are mislabelled: ``CCG Code`` holds the **sub-ICB location** (ODS code,
e.g. ``15M``), ``Sub ICB NAME`` its name, and ``Code`` / ``CCG NAME`` the practice's **PCN**
(code ``U#####`` or ``Unknown or no PCN``).  :func:`read_payments_2223` renames them to what
they hold.

Payment lines read (pounds, 2022-23):

* ``Total NHS Payments to General Practice``: every payment line of the file summed, *before*
  the deductions for pensions, levies and prescription charge income, and without the covid
  (vaccination, support, long covid) and PCN (workforce, leadership, support, …) lines.  This is
  the numerator of NHS England's own "Average payments per registered patient" and "per weighted
  patient" (checked: it reproduces the published registered-patient average of every practice to
  the penny);
* ``Deductions for Pensions, Levies and Prescription Charge Income`` and ``Total NHS Payments to
  General Practice Minus Deductions`` (kept for the download, not used for the spend measure).

List sizes: ``Number of Registered Patients (Last Known Figure)`` and ``Number of Weighted
Patients (Last Known Figure)`` (Carr-Hill weighted: the global sum formula's need weights).

Refused, naming the file, the line (header = line 1) and the column: a missing column, a cell
that is not a number, a practice code that is not an ODS practice code, a sub-ICB code that is
not an ODS sub-ICB code (``15M`` or ``D4U1Y``), an unknown region, a practice twice.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nhsbook.io.current import _codes, _numbers, _read, _unique

REGISTERED = "Number of Registered Patients (Last Known Figure)"
WEIGHTED = "Number of Weighted Patients (Last Known Figure)"
TOTAL = "Total NHS Payments to General Practice"
DEDUCTIONS = "Deductions for Pensions, Levies and Prescription Charge Income"
NET = "Total NHS Payments to General Practice Minus Deductions"
AVERAGE_REGISTERED = "Average payments per registered patient"
AVERAGE_WEIGHTED = "Average payments per weighted patient"
COLUMNS: tuple[str, ...] = (
    "NHS England (Region) code",
    "CCG Code",
    "Sub ICB NAME",
    "Code",
    "CCG NAME",
    "Practice Code",
    "Practice Name",
    REGISTERED,
    WEIGHTED,
    AVERAGE_REGISTERED,
    AVERAGE_WEIGHTED,
    TOTAL,
    DEDUCTIONS,
    NET,
)
REGIONS = ("Y56", "Y58", "Y59", "Y60", "Y61", "Y62", "Y63")
YEAR = "2022-23"


def read_payments_2223(path: str | Path) -> pd.DataFrame:
    """One row per practice: ``practice_code``, ``practice_name``, ``sub_icb_ods`` (the
    publisher's ``CCG Code``), ``sub_icb_name``, ``pcn_code``, ``pcn_name``, ``region_code``,
    ``registered``, ``weighted``, ``total_payments``, ``deductions``, ``net_payments``,
    ``published_avg_registered``, ``published_avg_weighted`` (module docstring); the index is
    the file's line number."""
    path = Path(path)
    raw = _read(path, COLUMNS, "NHS Payments to General Practice 2022-23")
    _codes(raw, "Practice Code", r"[A-Z][0-9A-Z][0-9]{4}", path, "an ODS practice code")
    _codes(
        raw,
        "CCG Code",
        r"[0-9]{2}[A-Z]|[A-Z][0-9][A-Z][0-9][A-Z]",
        path,
        "an ODS sub-ICB location code (e.g. 15M or D4U1Y)",
    )
    _codes(
        raw,
        "NHS England (Region) code",
        "|".join(REGIONS),
        path,
        f"an NHS England region code ({', '.join(REGIONS)})",
    )
    nums = {
        c: _numbers(raw, c, path)
        for c in (
            REGISTERED,
            WEIGHTED,
            TOTAL,
            DEDUCTIONS,
            NET,
            AVERAGE_REGISTERED,
            AVERAGE_WEIGHTED,
        )
    }
    for c in (REGISTERED, WEIGHTED):
        bad = nums[c] < 0
        if bad.any():
            raise ValueError(
                f"{path}: column {c!r}, line(s) {raw.index[bad][:10].tolist()}: a list size is >= 0"
            )
    _unique(raw, ["Practice Code"], path, "each practice must appear once")
    return pd.DataFrame(
        {
            "practice_code": raw["Practice Code"],
            "practice_name": raw["Practice Name"],
            "sub_icb_ods": raw["CCG Code"],
            "sub_icb_name": raw["Sub ICB NAME"],
            "pcn_code": raw["Code"],
            "pcn_name": raw["CCG NAME"],
            "region_code": raw["NHS England (Region) code"],
            "registered": nums[REGISTERED],
            "weighted": nums[WEIGHTED],
            "total_payments": nums[TOTAL],
            "deductions": nums[DEDUCTIONS],
            "net_payments": nums[NET],
            "published_avg_registered": nums[AVERAGE_REGISTERED],
            "published_avg_weighted": nums[AVERAGE_WEIGHTED],
        },
        index=raw.index,
    )
