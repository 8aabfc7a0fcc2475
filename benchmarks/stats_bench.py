"""Benchmark nhsbook.stats on a million rows.

Run: ``.venv/bin/python benchmarks/stats_bench.py [--rows 1000000] [--repeat 3]``

Steps timed:
* ``rate_ci`` on N rows (counts 0..~2,000, so both the exact (< 10) and Byar's branches run);
* ``dsr`` on ~N rows = N/19 groups x 19 age bands (two key columns), Dobson limits;
* ``proportion_ci`` and ``funnel_limits`` (rate, Byar's method) on N rows for context.

Each step is timed (best of ``--repeat`` wall-clock runs) without tracing, then run once more
under ``tracemalloc`` for the peak Python/numpy memory it allocates (numpy reports its buffers to
tracemalloc).  The process's maximum resident set size is printed at the end.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nhsbook import stats  # noqa: E402
from nhsbook.core.model import AGE_BANDS  # noqa: E402


def make_rates(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    denom = rng.integers(100, 200_000, size=n).astype("float64")
    count = rng.poisson(denom * rng.uniform(0.0001, 0.01, size=n)).astype("float64")
    return count, denom


def make_dsr(n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    n_groups = max(1, n_rows // len(AGE_BANDS))
    codes = np.array([f"E{i:08d}" for i in range(n_groups)], dtype=object)
    pop = rng.integers(50, 20_000, size=(n_groups, len(AGE_BANDS))).astype("float64")
    rate = np.geomspace(0.0005, 0.15, len(AGE_BANDS))[None, :]
    count = rng.poisson(pop * rate).astype("float64")
    return pd.DataFrame(
        {
            "area_code": np.repeat(codes, len(AGE_BANDS)),
            "period": "2021",
            "age_band": np.tile(np.array(AGE_BANDS, dtype=object), n_groups),
            "count": count.ravel(),
            "denominator": pop.ravel(),
        }
    )


def measure(label: str, fn, repeat: int) -> dict[str, object]:
    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rows = len(out) if out is not None else 0
    return {"step": label, "wall_s": best, "peak_mib": peak / 2**20, "result_rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(2024)

    count, denom = make_rates(args.rows, rng)
    count_s, denom_s = pd.Series(count), pd.Series(denom)
    dsr_data = make_dsr(args.rows, rng)
    prop_count = np.minimum(count, denom)
    n_groups = dsr_data["area_code"].nunique()

    results = [
        measure(
            f"rate_ci, {args.rows:,} rows (Series)",
            lambda: stats.rate_ci(count_s, denom_s),
            args.repeat,
        ),
        measure(
            f"dsr, {len(dsr_data):,} rows = {n_groups:,} groups x 19 bands",
            lambda: stats.dsr(dsr_data, groupby=["area_code", "period"]),
            args.repeat,
        ),
        measure(
            f"proportion_ci, {args.rows:,} rows (arrays)",
            lambda: stats.proportion_ci(prop_count, denom),
            args.repeat,
        ),
        measure(
            f"funnel_limits rate (Byar's), {args.rows:,} denominators",
            lambda: stats.funnel_limits(denom, 250.0, kind="rate"),
            args.repeat,
        ),
    ]
    width = max(len(r["step"]) for r in results)
    print(f"{'step':<{width}}  {'wall (s)':>9}  {'peak alloc (MiB)':>16}  {'rows out':>10}")
    for r in results:
        print(
            f"{r['step']:<{width}}  {r['wall_s']:>9.3f}  {r['peak_mib']:>16.1f}  "
            f"{r['result_rows']:>10,}"
        )
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process max RSS: {maxrss:.0f} MiB (includes the generated input data)")
    check = stats.dsr(dsr_data.iloc[: 19 * 3], groupby=["area_code", "period"])
    assert check["value"].notna().all(), "benchmark DSR sanity check failed"


if __name__ == "__main__":
    main()
