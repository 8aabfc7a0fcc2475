"""Safe publishing: the disclosure scan and the atomic swap of the published site."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from nhsbook import publish
from nhsbook.build import BuildFailed, run_site
from nhsbook.site import render


def _page(tmp: Path, name: str, body: str) -> None:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<html><head></head><body>{body}</body></html>", encoding="utf-8")


def test_scan_passes_the_built_default_site(site, computed):
    assert publish.scan(site, computed["metadata"]) == []


def test_scan_finds_a_small_count_in_a_csv(tmp_path):
    (tmp_path / "data" / "X").mkdir(parents=True)
    pd.DataFrame({"Indicator": ["a", "b"], "Count": ["12", "3"]}).to_csv(
        tmp_path / "data" / "X" / "t.csv", index=False)
    found = publish.scan(tmp_path)
    assert len(found) == 1 and found[0].column == "Count" and found[0].value == "3"
    assert "data/X/t.csv" in str(found[0])


def test_scan_finds_a_small_count_in_an_html_table(tmp_path):
    table = ("<table><thead><tr><th>Indicator</th><th>Count</th></tr></thead><tbody>"
             "<tr><td>a</td><td>1,204</td></tr><tr><td>b</td><td><b>4</b></td></tr>"
             "</tbody></table>")
    _page(tmp_path, "areas/P1/page.html", table)
    found = publish.scan(tmp_path)
    assert [(f.column, f.value) for f in found] == [("Count", "4")]


def test_scan_finds_small_counts_in_embedded_chart_data(tmp_path, monkeypatch):
    import altair as alt
    monkeypatch.delenv("NHSBOOK_PAGE", raising=False)
    spec = alt.Chart(pd.DataFrame({"area": ["a", "b"], "count": [2, 30]})).mark_bar().encode(
        x="count:Q", y="area:N").to_dict()
    _page(tmp_path, "areas/P1/chart.html", render(spec)["text/html"])
    found = publish.scan(tmp_path)
    assert len(found) == 1 and found[0].value == 2 and "chart 1" in found[0].where


def test_scan_finds_counts_derivable_from_value_and_denominator(tmp_path):
    meta = pd.DataFrame({"indicator_id": ["P", "R", "S"], "method": ["proportion",
                                                                       "crude_rate", "isr"],
                         "multiplier": [100.0, 1000.0, 100000.0],
                         "reference_value": [float("nan"), float("nan"), 2000.0]})
    rows = pd.DataFrame({
        "indicator_id": ["P", "P", "R", "S", "S"],
        # 3/150 = 2%; 30/150 = 20%; 2 per 1,000 of 1,000 = 2 events; ISR 2000×(3/3) → 3 obs
        "value": [2.0, 20.0, 2.0, 2000.0, 2000.0],
        "denominator": [150, 150, 1000, 3.0, 30.0]})
    rows.to_csv(tmp_path / "v.csv", index=False)
    found = publish.scan(tmp_path, meta)
    assert sorted(f.where for f in found) == ["CSV row 0", "CSV row 2", "CSV row 3"]
    assert all("derivable" in f.rule for f in found)


def test_swap_replaces_the_link_and_removes_old_sites(tmp_path):
    sites, published = tmp_path / "build" / "sites", tmp_path / "book" / "_build" / "html"
    first = tmp_path / "stage1"
    _page(first, "index.html", "one")
    publish.swap(first, published, sites)
    assert published.is_symlink() and (published / "index.html").read_text().count("one")
    time.sleep(1.1)
    second = tmp_path / "stage2"
    _page(second, "index.html", "two")
    target = publish.swap(second, published, sites)
    assert (published / "index.html").read_text().count("two")
    assert [p.name for p in sites.iterdir()] == [target.name]


def test_a_failed_disclosure_scan_publishes_nothing(default_book, site, computed,
                                                    monkeypatch):
    before = os.readlink(default_book.site_dir)
    index = (default_book.site_dir / "index.html").read_bytes()
    monkeypatch.setattr(publish, "scan", lambda *a, **k: [
        publish.Finding("areas/SYN01/x.csv", "CSV row 0", "Count", "3", "count from 1 to 4")])
    with pytest.raises(BuildFailed, match="disclosure check failed.*previous site is "
                                          "unchanged"):
        run_site(default_book, computed["metadata"])
    assert os.readlink(default_book.site_dir) == before
    assert (default_book.site_dir / "index.html").read_bytes() == index
    assert not any((default_book.root / "build" / "staging").glob("default-*"))


def test_killing_a_build_leaves_the_previous_site(root, tmp_path):
    """A copy of the project with a published site; `nhsbook build` is killed mid-way."""
    copy = tmp_path / "proj"
    ignore = shutil.ignore_patterns(".venv", "build", "_build", ".git", "areas", "_extra")
    shutil.copytree(root, copy, ignore=ignore)
    old = copy / "build" / "sites" / "site-old"
    _page(old, "index.html", "the previous site")
    published = copy / "book" / "_build" / "html"
    published.parent.mkdir(parents=True)
    published.symlink_to(os.path.relpath(old, published.parent))
    env = {**os.environ, "NHSBOOK_ROOT": str(copy)}
    proc = subprocess.Popen([sys.executable, "-m", "nhsbook.cli", "build", "--jobs", "1"],
                            cwd=copy, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and not any((copy / "book" / "areas").glob("*/*.ipynb")):
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert any((copy / "book" / "areas").glob("*/*.ipynb")), "the build never reached notebooks"
    assert os.readlink(published) == os.path.relpath(old, published.parent)
    assert (published / "index.html").read_text().count("the previous site")
