"""The ``nhsbook`` command: validate, compute, build, open, new, synth, fetch."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from nhsbook import lab
from nhsbook.build import lock
from nhsbook.config import sources
from nhsbook.config.book import load_book
from nhsbook.core.safepath import UnsafePath
from nhsbook.newbook import NewBookError, write_book


def _validate(args: argparse.Namespace) -> int:
    # lazy: keeps numpy,pandas,scipy off this module's import
    from nhsbook.build.book import validate_inputs

    report = validate_inputs(load_book(args.book))
    print(report.to_text())
    return 0 if report.ok else 1


def _compute(args: argparse.Namespace) -> int:
    # lazy: keeps numpy,pandas,scipy off this module's import
    from nhsbook.pipeline.store import compute_and_store

    cfg = load_book(args.book)
    try:
        with lock.hold(
            cfg.root,
            cfg.name,
            command="compute",
            wait=_wait(args),
            log=lambda m: print(m, file=sys.stderr),
        ):
            computed = compute_and_store(cfg)
    except lock.LockBusy as exc:
        print(f"nhsbook compute: {exc}", file=sys.stderr)
        return lock.EXIT_BUSY
    print(f"{len(computed['values']):,} indicator values written to {cfg.cache_dir}")
    return 0


def _wait(args: argparse.Namespace) -> float | None:
    """How long to wait for the project lock: ``--no-wait`` 0, ``--wait S``, else no limit."""
    return 0.0 if args.no_wait else args.wait


def _build(args: argparse.Namespace) -> int:
    # lazy: keeps numpy,pandas,scipy off this module's import
    from nhsbook.build.book import BuildFailed, build

    if args.verbose:
        # lazy: keeps papermill off this module's import
        from nhsbook.build.engine import VERBOSE_ENV

        os.environ[VERBOSE_ENV] = "1"
    try:
        build(
            args.book,
            jobs=args.jobs,
            site=not args.no_site,
            scheduler=args.scheduler,
            force=args.force,
            wait=_wait(args),
        )
    except lock.LockBusy as exc:
        print(f"nhsbook build: {exc}", file=sys.stderr)
        return lock.EXIT_BUSY
    except BuildFailed as exc:
        print(f"nhsbook build: {exc}", file=sys.stderr)
        return 1
    return 0


def _synth(args: argparse.Namespace) -> int:
    if any(v is not None for v in (args.practices, args.ccgs, args.lsoas, args.out)):
        return _synth_national(args)
    # lazy: keeps numpy,pandas off this module's import
    from nhsbook.synth import practices as synth

    paths = synth.write(
        Path(args.data_dir), seed=synth.DEFAULT_SEED if args.seed is None else args.seed
    )
    for p in paths:
        print(f"wrote {p}")
    return 0


def _synth_national(args: argparse.Namespace) -> int:
    from nhsbook.synth import national as sn  # lazy: keeps numpy,pandas off this module's import

    sizes = {
        k: getattr(args, k) if getattr(args, k) is not None else v for k, v in sn.NATIONAL.items()
    }
    try:
        paths = sn.write(
            Path(args.out or "build/national-synth/data"),
            **sizes,
            seed=sn.DEFAULT_SEED if args.seed is None else args.seed,
        )
    except sn.SynthParameterError as exc:
        print(f"nhsbook synth: {exc}", file=sys.stderr)
        return 2
    for p in paths.values():
        print(f"wrote {p}")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    return sources.main(args.rest)


def _new(args: argparse.Namespace) -> int:
    area = args.area or args.icb or args.sub_icb
    kind = "icb_code" if args.icb else "sub_icb_code" if args.sub_icb else ""
    if not area:
        print("nhsbook new: give --area CODE (or --icb / --sub-icb)", file=sys.stderr)
        return 2
    try:
        path = write_book(
            args.loader, area, args.exports, name=args.name, force=args.force, kind=kind
        )
    except (NewBookError, FileNotFoundError) as exc:
        print(f"nhsbook new: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}; build it with: nhsbook build --book {path.stem}")
    return 0


def _open(args: argparse.Namespace) -> int:
    try:
        path = lab.parameterised_copy(args.notebook, args.area, args.book, force=args.force)
    except (ValueError, FileNotFoundError) as exc:  # OpenError, UnsafePath, a bad book
        print(f"nhsbook open: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0 if args.no_lab else lab.open_in_lab(path)


def _lock_options(p: argparse.ArgumentParser) -> None:
    """``--wait`` / ``--no-wait``: what to do while another build holds the project lock."""
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--wait",
        type=float,
        default=None,
        metavar="SECONDS",
        help="while another build of the project runs, wait at most SECONDS for "
        "it (default: wait until it finishes), then exit with status 75",
    )
    g.add_argument(
        "--no-wait",
        action="store_true",
        help="exit at once with status 75 if another build of the project runs",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nhsbook", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="run the Great Expectations gate over a book's inputs")
    p.add_argument("--book", default="default", help="book name in books/ or a .yml path")
    p.set_defaults(func=_validate)

    p = sub.add_parser("compute", help="compute every indicator for every area (parquet)")
    p.add_argument("--book", default="default")
    _lock_options(p)
    p.set_defaults(func=_compute)

    p = sub.add_parser("build", help="validate, compute, run notebooks per area, build site")
    p.add_argument("--book", default="default")
    p.add_argument(
        "--jobs", type=int, default=None, help="parallel notebook processes (default: one per core)"
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run each notebook as a task on a Dask distributed scheduler, e.g. tcp://host:8786",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="redo everything: the gate, compute, every notebook and the site",
    )
    p.add_argument("--no-site", action="store_true", help="skip the jupyter-book step")
    p.add_argument(
        "--verbose",
        action="store_true",
        help="show what the notebook kernels write to stderr (otherwise kept in "
        "build/logs/kernels.log)",
    )
    _lock_options(p)
    p.set_defaults(func=_build)

    p = sub.add_parser(
        "open",
        help="write a page's notebook for one area, parameterised, "
        "under work/ and open it in JupyterLab (the lab extra)",
    )
    p.add_argument("notebook", help="a notebook of notebooks/, e.g. jsna_profile")
    p.add_argument("--area", required=True, help="area code, e.g. E38000115")
    p.add_argument("--book", default="default", help="book name in books/ or a .yml path")
    p.add_argument(
        "--force", action="store_true", help="write the copy again even if work/ already holds one"
    )
    p.add_argument("--no-lab", action="store_true", help="only write the copy")
    p.set_defaults(func=_open)

    p = sub.add_parser(
        "synth",
        help="regenerate the default book's synthetic practices, or "
        "(with --practices/--ccgs/--lsoas/--out) a synthetic England",
    )
    p.add_argument("--data-dir", default="data/default")
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="default: nhsbook.synth.practices.DEFAULT_SEED (national: nhsbook.synth.national.DEFAULT_SEED)",
    )
    p.add_argument(
        "--practices",
        type=int,
        default=None,
        help="national synthetic England: number of practices (6500)",
    )
    p.add_argument("--ccgs", type=int, default=None, help="number of CCGs (106)")
    p.add_argument("--lsoas", type=int, default=None, help="number of LSOAs (32844)")
    p.add_argument(
        "--out", default=None, help="folder for the national files (build/national-synth/data)"
    )
    p.set_defaults(func=_synth)

    p = sub.add_parser("new", help="write a book file (books/<name>.yml) for your own area")
    p.add_argument("--loader", choices=["fingertips", "opendata"], required=True)
    p.add_argument(
        "--area", default=None, help="sub-ICB location (15M, E38…) or ICB (QJ2, E54…) code"
    )
    p.add_argument("--icb", default=None, help="ICB code (ODS QJ2 or ONS E54…)")
    p.add_argument("--sub-icb", default=None, help="sub-ICB location code (15M or E38…)")
    p.add_argument("--name", default=None, help="book name (default: <loader>-<code>)")
    p.add_argument("--force", action="store_true", help="overwrite an existing book file")
    p.add_argument("exports", nargs="*", help="Fingertips exports: registry keys, files or folders")
    p.set_defaults(func=_new)

    p = sub.add_parser(
        "fetch", help="get external datasets from a mirror or the publisher", add_help=False
    )
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=_fetch)

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "fetch":  # fetch parses its own options (nhsbook.config.sources.main)
        # lazy: keeps the registry's reading off the command line's start
        from nhsbook.config import sources

        return sources.main(argv[1:])
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UnsafePath as exc:  # a name or path that would leave the project: no traceback
        print(f"nhsbook {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
