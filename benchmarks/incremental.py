"""Incremental builds of the default book: cold build, warm rebuild with nothing changed, and a
rebuild after one finance input changed, each as ``nhsbook build`` in a temporary copy of the
project (the real ``book/`` is untouched).  Prints wall time, peak memory of the whole process
tree (the build, its workers and their kernels: sum of RSS, sampled every 0.2 s) and how many
notebooks ran.

Run: NHSBOOK_MIRROR=/path/to/mirror .venv/bin/python benchmarks/incremental.py [--book default]
     [--jobs N] [--keep]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]


def tree_rss(proc: psutil.Process) -> int:
    """Resident memory of a process and all its descendants, in bytes."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def run_build(project: Path, book: str, jobs: int | None) -> tuple[float, float, str]:
    """Wall seconds, peak tree RSS (MiB) and the build's output."""
    cmd = [sys.executable, "-m", "nhsbook.cli", "build", "--book", book]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    env = {**os.environ, "NHSBOOK_ROOT": str(project)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=project, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        ps = psutil.Process(proc.pid)
        while not stop.is_set():
            try:
                peak = max(peak, tree_rss(ps))
            except psutil.NoSuchProcess:
                return
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"build failed ({proc.returncode}):\n{out[-3000:]}")
    return wall, peak / 2**20, out


def ran(out: str) -> str:
    m = re.search(r"ran (\d+) of (\d+) notebooks", out)
    return f"{m[1]} of {m[2]} notebooks" if m else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", default="default")
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the temporary project")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="nhsbook-bench-"))
    project = tmp / "proj"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(
        ".venv", "build", "_build", ".git", "areas", "_extra", "*.egg-info", "__pycache__",
        ".pytest_cache", ".hypothesis"))
    print(f"project copy: {project}; cores: {os.cpu_count()}; "
          f"load average: {os.getloadavg()[0]:.1f}")
    print(f"{'build':<40} {'wall':>9} {'peak RSS':>12}  notebooks")
    try:
        for label, change in (("cold build", None), ("warm rebuild, nothing changed", None),
                              ("one finance input changed", "finance")):
            if change == "finance":
                path = project / "data" / "default" / "finance" / "baseline_uplift.csv"
                path.write_text(path.read_text(encoding="utf-8").replace(
                    "Re-ablement monies", "Reablement monies"), encoding="utf-8")
            wall, peak, out = run_build(project, args.book, args.jobs)
            print(f"{label:<40} {wall:8.1f}s {peak:9.0f} MiB  {ran(out)}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
