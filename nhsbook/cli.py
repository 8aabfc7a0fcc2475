"""The ``nhsbook`` command: validate, compute, build, synth, fetch."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _validate(args: argparse.Namespace) -> int:
    from .build import validate_inputs
    from .config import load_book
    report = validate_inputs(load_book(args.book))
    print(report.to_text())
    return 0 if report.ok else 1


def _compute(args: argparse.Namespace) -> int:
    from .config import load_book
    from .store import compute_and_store
    cfg = load_book(args.book)
    computed = compute_and_store(cfg)
    print(f"{len(computed['values']):,} indicator values written to {cfg.cache_dir}")
    return 0


def _build(args: argparse.Namespace) -> int:
    from .build import BuildFailed, build
    try:
        build(args.book, jobs=args.jobs, site=not args.no_site, scheduler=args.scheduler,
              force=args.force)
    except BuildFailed as exc:
        print(f"nhsbook build: {exc}", file=sys.stderr)
        return 1
    return 0


def _synth(args: argparse.Namespace) -> int:
    from . import synth
    paths = synth.write(Path(args.data_dir), seed=args.seed)
    for p in paths:
        print(f"wrote {p}")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from . import sources
    return sources.main(args.rest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nhsbook", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="run the Great Expectations gate over a book's inputs")
    p.add_argument("--book", default="default", help="book name in books/ or a .yml path")
    p.set_defaults(func=_validate)

    p = sub.add_parser("compute", help="compute every indicator for every area (parquet)")
    p.add_argument("--book", default="default")
    p.set_defaults(func=_compute)

    p = sub.add_parser("build", help="validate, compute, run notebooks per area, build site")
    p.add_argument("--book", default="default")
    p.add_argument("--jobs", type=int, default=None,
                   help="parallel notebook processes (default: one per core)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run each notebook as a task on a Dask distributed scheduler, "
                        "e.g. tcp://host:8786")
    p.add_argument("--force", action="store_true",
                   help="redo everything: the gate, compute, every notebook and the site")
    p.add_argument("--no-site", action="store_true", help="skip the jupyter-book step")
    p.set_defaults(func=_build)

    from .synth import DEFAULT_SEED
    p = sub.add_parser("synth", help="regenerate the default book's synthetic practices")
    p.add_argument("--data-dir", default="data/default")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.set_defaults(func=_synth)

    p = sub.add_parser("fetch", help="get external datasets from a mirror or the publisher",
                       add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=_fetch)

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "fetch":   # fetch parses its own options (nhsbook.sources.main)
        from . import sources
        return sources.main(argv[1:])
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
