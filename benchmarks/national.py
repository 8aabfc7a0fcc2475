"""National scale: wall time and peak memory of the synthetic generator, loading + the gate,
the statistics step (every indicator for 6,500 practices) and, with ``--book``, the 106-page
national book build (books/national-synth.yml).

Targets (issue 10): statistics for all indicators of 6,500 practices <= 10 s; 106 CCG profile
pages built <= 10 min with peak memory <= 4 GiB.

Run: .venv/bin/python benchmarks/national.py [--book] [--jobs N]

Peak memory is the process tree's PSS (benchmarks/measure.py).  The book is built after the
tables of the earlier steps are released, as in a fresh ``nhsbook build``.  The figures are
also part of ``benchmarks/build.py``.
"""

from __future__ import annotations

import argparse
import gc

from measure import timed

from nhsbook.analysis import indicators
from nhsbook.build.book import build, validate_inputs
from nhsbook.config.book import load_book
from nhsbook.io import opendata
from nhsbook.synth import national as synth_national

BOOK = "national-synth"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--book", action="store_true", help="also build the 106-page national book (minutes)"
    )
    parser.add_argument("--jobs", type=int, default=None, help="notebook processes")
    args = parser.parse_args(argv)

    cfg = load_book(BOOK)
    opts = opendata.options(cfg)
    sizes = {k: int(v) for k, v in opts["synth"].items()}
    folder = cfg.root / opts["directory"]
    print(f"book {BOOK}: {sizes}, files in {folder}")
    timed("generator (generate + write 6 files)", lambda: synth_national.write(folder, **sizes))
    report = timed("gate: Great Expectations over the 7 inputs", lambda: validate_inputs(cfg))
    if not report.ok:
        print(report.to_text())
        return 1
    tables = timed("load: importers + national hierarchy", lambda: opendata.load(cfg))
    n_practices = int((tables.areas["area_type"] == "practice").sum())
    values = timed(
        f"statistics: all indicators, {n_practices:,} practices", lambda: indicators.compute(tables)
    )
    print(
        f"  {len(values):,} values for {len(tables.areas):,} areas, "
        f"{tables.metadata['indicator_id'].nunique()} indicators"
    )
    if args.book:
        del tables, values
        gc.collect()
        result = timed(
            "book: 106 CCG profile pages (validate..site)",
            lambda: build(BOOK, jobs=args.jobs, log=lambda *_: None),
        )
        for step, seconds in result.timings.items():
            print(f"  {step:<50} {seconds:8.2f} s")
        print(f"  {len(result.pages)} pages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
