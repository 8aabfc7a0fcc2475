"""Time the default book's build steps and print wall time and peak memory for each.

Run: .venv/bin/python benchmarks/build.py
"""

from __future__ import annotations

import resource
import time
import tracemalloc

from nhsbook.build import build, validate_inputs
from nhsbook.config import load_book
from nhsbook.store import load_tables
from nhsbook import indicators


def peak_rss_mib() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def timed(label: str, fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<44} {wall:8.2f} s   python peak {peak / 2**20:8.1f} MiB")
    return out


def main() -> None:
    cfg = load_book("default")
    timed("validation gate (incl. GX import)", lambda: validate_inputs(cfg))
    tables = timed("load inputs", lambda: load_tables(cfg))
    timed("statistics step: compute all indicators", lambda: indicators.compute(tables))
    result = timed("full build (validate..site)", lambda: build("default", log=lambda *_: None))
    for step, seconds in result.timings.items():
        print(f"  {step:<42} {seconds:8.2f} s")
    own, children = peak_rss_mib()
    print(f"peak RSS: this process {own:.0f} MiB, largest child {children:.0f} MiB")


if __name__ == "__main__":
    main()
