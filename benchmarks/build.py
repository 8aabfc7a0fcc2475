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


def site_report(site) -> None:
    """Size of the built site: total, by kind of file, and the largest pages."""
    files = [p for p in site.rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    print(f"site: {len(files):,} files, {total / 2**20:.1f} MiB")
    kinds: dict[str, int] = {}
    for p in files:
        kinds[p.suffix or "(none)"] = kinds.get(p.suffix or "(none)", 0) + p.stat().st_size
    for suffix, size in sorted(kinds.items(), key=lambda kv: -kv[1])[:6]:
        print(f"  {suffix:<8} {size / 2**20:8.1f} MiB")
    pages = sorted((p for p in files if p.suffix == ".html"), key=lambda p: -p.stat().st_size)
    for p in pages[:3]:
        print(f"  largest page {p.relative_to(site)}: {p.stat().st_size / 2**10:,.0f} KiB")


def main() -> None:
    cfg = load_book("default")
    timed("validation gate (incl. GX import)", lambda: validate_inputs(cfg))
    tables = timed("load inputs", lambda: load_tables(cfg))
    timed("statistics step: compute all indicators", lambda: indicators.compute(tables))
    result = timed("full build (validate..site)", lambda: build("default", log=lambda *_: None))
    for step, seconds in result.timings.items():
        print(f"  {step:<42} {seconds:8.2f} s")
    site_report(cfg.site_dir)
    own, children = peak_rss_mib()
    print(f"peak RSS: this process {own:.0f} MiB, largest child {children:.0f} MiB")


if __name__ == "__main__":
    main()
