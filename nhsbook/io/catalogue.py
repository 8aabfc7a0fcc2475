"""The dataset catalogue of the embedded default's finance and performance chapters: dataset
name (also its Great Expectations suite) -> file under the book's data folder.

One list, read by the loader (:data:`nhsbook.io.embedded.DATASETS`, and so the validation
gate) and by the chapters that read the files (:data:`nhsbook.analysis.finance.FILES`,
:data:`nhsbook.analysis.performance.FILES`); it imports nothing of nhsbook.
"""

from __future__ import annotations

#: Finance (seed 001's tables and seed 004's practice budgets).
FINANCE_FILES: dict[str, str] = {
    "finance_organisations": "finance/organisations.csv",
    "finance_discrepancies": "finance/seed_discrepancies.csv",
    "finance_position": "finance/financial_position.csv",
    "finance_uplift": "finance/baseline_uplift.csv",
    "finance_ccg_baselines": "finance/ccg_baselines.csv",
    "finance_plan": "finance/financial_plan.csv",
    "finance_qipp": "finance/qipp_schemes.csv",
    "finance_pbc_published": "finance/pbc_published.csv",
    "finance_pbc_budget": "finance/pbc_budget_synthetic.csv",
    "finance_practices": "finance/practices_synthetic.csv",
    "finance_practice_ledger": "finance/practice_ledger_synthetic.csv",
}

#: Performance against targets (seed 001).
PERFORMANCE_FILES: dict[str, str] = {
    "performance_health_check": "performance/health_check.csv",
    "performance_ratings": "performance/ratings.csv",
    "performance_rating_summary": "performance/rating_summary.csv",
    "performance_vital_signs": "performance/vital_signs.csv",
    "performance_sop_targets": "performance/sop_targets.csv",
}
#: The optional monthly results of the performance chapter: validated by the gate and read
#: when the book's data folder has the file (``io.embedded.dataset_paths``).
ACTUALS_FILE = "performance/sop_actuals.csv"
OPTIONAL_FILES: dict[str, str] = {"performance_sop_actuals": ACTUALS_FILE}
