"""National scale: wall time and peak memory of the synthetic generator, loading + the gate,
the statistics step (every indicator for 6,500 practices) and, with ``--book``, the 106-page
national book build (books/national-synth.yml).

Targets (issue 10): statistics for all indicators of 6,500 practices <= 10 s; 106 CCG profile
pages built <= 10 min with peak memory <= 4 GiB.

Run: .venv/bin/python benchmarks/national.py [--book] [--jobs N]

Peak memory is the largest sum, over this process and all its descendants (notebook workers
and kernels), of each process's proportional set size (PSS: private memory plus its share of
pages shared with others, so forked workers are not counted twice; RSS where PSS is not
available), sampled every 0.25 s by psutil.  The book is built after the tables of the earlier
steps are released, as in a fresh ``nhsbook build``.
"""

from __future__ import annotations

import argparse
import gc
import threading
import time

import psutil

from nhsbook import indicators, synth_national
from nhsbook.build import build, validate_inputs
from nhsbook.config import load_book
from nhsbook.io import opendata

BOOK = "national-synth"


class TreeMemory:
    """Peak PSS (else RSS) of this process and its descendants during the ``with`` block."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()

    def _sample(self) -> int:
        me = psutil.Process()
        total = 0
        for proc in [me, *me.children(recursive=True)]:
            try:
                total += proc.memory_full_info().pss
            except (psutil.Error, AttributeError):
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> "TreeMemory":
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())


def timed(label: str, fn):
    with TreeMemory() as mem:
        t0 = time.perf_counter()
        out = fn()
        wall = time.perf_counter() - t0
    print(f"{label:<52} {wall:8.2f} s   peak memory {mem.peak / 2**20:8.0f} MiB", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", action="store_true",
                        help="also build the 106-page national book (minutes)")
    parser.add_argument("--jobs", type=int, default=None, help="notebook processes")
    args = parser.parse_args(argv)

    cfg = load_book(BOOK)
    opts = opendata.options(cfg)
    sizes = {k: int(v) for k, v in opts["synth"].items()}
    folder = cfg.root / opts["directory"]
    print(f"book {BOOK}: {sizes}, files in {folder}")
    timed("generator (generate + write 6 files)",
          lambda: synth_national.write(folder, **sizes))
    report = timed("gate: Great Expectations over the 7 inputs", lambda: validate_inputs(cfg))
    if not report.ok:
        print(report.to_text())
        return 1
    tables = timed("load: importers + national hierarchy", lambda: opendata.load(cfg))
    n_practices = int((tables.areas["area_type"] == "practice").sum())
    values = timed(f"statistics: all indicators, {n_practices:,} practices",
                   lambda: indicators.compute(tables))
    print(f"  {len(values):,} values for {len(tables.areas):,} areas, "
          f"{tables.metadata['indicator_id'].nunique()} indicators")
    if args.book:
        del tables, values
        gc.collect()
        result = timed("book: 106 CCG profile pages (validate..site)",
                       lambda: build(BOOK, jobs=args.jobs, log=lambda *_: None))
        for step, seconds in result.timings.items():
            print(f"  {step:<50} {seconds:8.2f} s")
        print(f"  {len(result.pages)} pages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
