"""Safe publishing: the disclosure scan and the atomic swap of the published site."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nhsbook.config.book import copy_project
from nhsbook.build import publish
from nhsbook.build.book import BuildFailed, run_site
from nhsbook.pages.renderer import render


def _page(tmp: Path, name: str, body: str) -> None:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<html><head></head><body>{body}</body></html>", encoding="utf-8")


def test_scan_passes_the_built_default_site(site, computed):
    assert publish.scan(site, computed["metadata"]) == []


def test_scan_finds_a_small_count_in_a_csv(tmp_path):
    (tmp_path / "data" / "X").mkdir(parents=True)
    pd.DataFrame({"Indicator": ["a", "b"], "Count": ["12", "3"]}).to_csv(
        tmp_path / "data" / "X" / "t.csv", index=False
    )
    found = publish.scan(tmp_path)
    assert len(found) == 1 and found[0].column == "Count" and found[0].value == "3"
    assert "data/X/t.csv" in str(found[0])


def test_scan_finds_a_small_count_in_an_html_table(tmp_path):
    table = (
        "<table><thead><tr><th>Indicator</th><th>Count</th></tr></thead><tbody>"
        "<tr><td>a</td><td>1,204</td></tr><tr><td>b</td><td><b>4</b></td></tr>"
        "</tbody></table>"
    )
    _page(tmp_path, "areas/P1/page.html", table)
    found = publish.scan(tmp_path)
    assert [(f.column, f.value) for f in found] == [("Count", "4")]


def test_scan_finds_small_counts_in_embedded_chart_data(tmp_path, monkeypatch):
    import altair as alt

    monkeypatch.delenv("NHSBOOK_PAGE", raising=False)
    spec = (
        alt.Chart(pd.DataFrame({"area": ["a", "b"], "count": [2, 30]}))
        .mark_bar()
        .encode(x="count:Q", y="area:N")
        .to_dict()
    )
    _page(tmp_path, "areas/P1/chart.html", render(spec)["text/html"])
    found = publish.scan(tmp_path)
    assert len(found) == 1 and found[0].value == 2 and "chart 1" in found[0].where


def test_scan_finds_counts_derivable_from_value_and_denominator(tmp_path):
    meta = pd.DataFrame(
        {
            "indicator_id": ["P", "R", "S"],
            "method": ["proportion", "crude_rate", "isr"],
            "multiplier": [100.0, 1000.0, 100000.0],
            "reference_value": [float("nan"), float("nan"), 2000.0],
        }
    )
    rows = pd.DataFrame(
        {
            "indicator_id": ["P", "P", "R", "S", "S"],
            # 3/150 = 2%; 30/150 = 20%; 2 per 1,000 of 1,000 = 2 events; ISR 2000×(3/3) → 3 obs
            "value": [2.0, 20.0, 2.0, 2000.0, 2000.0],
            "denominator": [150, 150, 1000, 3.0, 30.0],
        }
    )
    rows.to_csv(tmp_path / "v.csv", index=False)
    found = publish.scan(tmp_path, meta)
    assert sorted(f.where for f in found) == ["CSV row 0", "CSV row 2", "CSV row 3"]
    assert all("derivable" in f.rule for f in found)


def _pdf(path: Path, lines: list[str]) -> None:
    """A minimal one-page PDF (Helvetica) with one line of text per entry."""
    text = " ".join(f"1 0 0 1 72 {720 - 20 * k} Tm ({line}) Tj" for k, line in enumerate(lines))
    stream = f"BT /F1 12 Tf {text} ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for k, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % k + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out))


def test_scan_reads_pdf_text(tmp_path):
    _pdf(
        tmp_path / "reports" / "X.pdf",
        [
            "Emergency admissions: count 3 in 2012",
            "Counts from 1 to 4 are suppressed.",
            "Practices: 4",
        ],
    )
    assert "count 3" in publish.pdf_text(tmp_path / "reports" / "X.pdf")
    found = publish.scan(tmp_path)
    assert [(f.file, f.where) for f in found] == [("reports/X.pdf", "PDF text")]
    assert "count 3" in str(found[0].value)


def _notebook(path: Path, outputs: list[dict], markdown: str = "") -> None:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": markdown}] if markdown else []
    cells += [
        {"cell_type": "code", "metadata": {}, "execution_count": k, "source": "x", "outputs": [o]}
        for k, o in enumerate(outputs, 1)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}),
        encoding="utf-8",
    )


@pytest.mark.parametrize(
    "output, where",
    [
        (
            {
                "output_type": "display_data",
                "metadata": {},
                "data": {
                    "text/html": "<table><tr><th>Area</th><th>Count</th></tr>"
                    "<tr><td>a</td><td>2</td></tr></table>"
                },
            },
            "output 1 table 1",
        ),
        (
            {
                "output_type": "display_data",
                "metadata": {},
                "data": {"text/markdown": "| Area | Count |\n|---|---|\n| a | 2 |\n"},
            },
            "markdown table 1",
        ),
        (
            {
                "output_type": "display_data",
                "metadata": {},
                "data": {"text/markdown": "The practice had **2 deaths** in 2012."},
            },
            "cell 1 output 1",
        ),
        (
            {
                "output_type": "execute_result",
                "metadata": {},
                "execution_count": 1,
                "data": {"text/plain": "  Area  Count\n0    a     12\n1    b      2"},
            },
            "text table",
        ),
        (
            {"output_type": "stream", "name": "stdout", "text": ["observed 2 of 340\n"]},
            "cell 1 output 1",
        ),
        (
            {
                "output_type": "display_data",
                "metadata": {},
                "data": {"application/json": {"rows": [{"area": "a", "count": 2}]}},
            },
            "rows",
        ),
        (
            {
                "output_type": "display_data",
                "metadata": {},
                "data": {
                    "image/svg+xml": "<svg xmlns='http://www.w3.org/2000/svg'><text>Count: 2</text>"
                    "</svg>"
                },
            },
            "SVG text",
        ),
    ],
)
def test_scan_reads_every_notebook_output_type(tmp_path, output, where):
    _notebook(tmp_path / "_sources" / "areas" / "P1" / "page.ipynb", [output])
    found = publish.scan(tmp_path)
    assert len(found) == 1, found
    assert found[0].file.startswith("_sources/areas/P1/page.ipynb") and where in (
        f"{found[0].file} {found[0].where}"
    )


def test_scan_reads_notebook_markdown_sources(tmp_path):
    _notebook(
        tmp_path / "_sources" / "x.ipynb",
        [],
        markdown="Only 3 admissions were recorded (counts from 1 to 4 are hidden).",
    )
    found = publish.scan(tmp_path)
    assert [f.where for f in found] == ["cell 1 source"]
    assert "Only 3 admissions" in found[0].value


def test_scan_reads_svg_text(tmp_path):
    """Free-text counts anywhere in an SVG; small integers among the data labels of a chart
    whose data carry a count column (by role); never axis ticks."""
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg'>"
        "<g class='mark-group role-axis'><g class='mark-text role-axis-label'>"
        "<text>1</text><text>2</text></g></g>"
        "<g class='mark-text role-mark'><text>3</text><text>12</text></g></svg>"
    )
    folder = tmp_path / "charts" / "P1"
    folder.mkdir(parents=True)
    (folder / "page-1.svg").write_text(svg)
    assert publish.scan(tmp_path) == []  # no data says these are counts
    pd.DataFrame({"area": ["a", "b"], "count": ["Supp.", "12"]}).to_csv(
        folder / "page-1.csv", index=False
    )
    found = publish.scan(tmp_path)
    assert [(f.file, f.where, f.value) for f in found] == [
        ("charts/P1/page-1.svg", "SVG data label", "3")
    ]
    (folder / "page-2.svg").write_text(
        "<svg xmlns='http://www.w3.org/2000/svg'><text>Deaths: 4</text></svg>"
    )
    assert any(f.file == "charts/P1/page-2.svg" for f in publish.scan(tmp_path))


def test_count_columns_come_from_the_data_model():
    from nhsbook.core.model import column_role, count_columns

    table = pd.DataFrame(
        {
            "Count (2012)": ["3"],
            "Registered population": ["4"],
            "Practices": ["2"],
            "c": ["1"],
            "Number of practices": ["3"],
        }
    )
    assert count_columns(table.columns) == ["Count (2012)", "c"]
    assert column_role("Lower 95% CI") == "lower_95" and column_role("l998") == "lower_998"
    found = publish.check_table(table, "x.csv", "CSV")
    assert [f.column for f in found] == ["Count (2012)", "c"]


def test_scan_finds_counts_implied_by_ratio_dsr_and_limits(tmp_path):
    meta = pd.DataFrame(
        {
            "indicator_id": ["Q", "D", "R"],
            "method": ["ratio", "dsr", "crude_rate"],
            "multiplier": [100.0, 100_000.0, 1000.0],
            "reference_value": [np.nan] * 3,
            "name": ["q", "d", "r"],
            "period": ["2012"] * 3,
        }
    )
    from nhsbook import stats

    bands = list(stats.ESP2013.index)
    ages = pd.DataFrame({"age_band": bands, "count": [0] * 17 + [5, 7], "denominator": [1000] * 19})
    d = stats.dsr(ages).iloc[0]  # 12 deaths: publishable
    r = stats.rate_ci(3, 2_000.0, multiplier=1000.0).iloc[0]
    pd.DataFrame(
        {
            "indicator_id": ["Q", "D", "R"],
            "value": [2.0 / 80 * 100, round(d["value"], 4), round(r["value"], 3)],
            "denominator": [80, np.nan, np.nan],
            "lower_95": [np.nan, round(d["lower"], 4), round(r["lower"], 3)],
            "upper_95": [np.nan, round(d["upper"], 4), round(r["upper"], 3)],
        }
    ).to_csv(tmp_path / "v.csv", index=False)
    found = publish.scan(tmp_path, meta)
    assert [(f.where, f.value) for f in found] == [("CSV row 0", 2), ("CSV row 2", 3)]
    assert "Byar's/exact Poisson inverted" in found[1].rule


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


def test_a_failed_disclosure_scan_publishes_nothing(default_book, site, computed, monkeypatch):
    before = os.readlink(default_book.site_dir)
    index = (default_book.site_dir / "index.html").read_bytes()
    monkeypatch.setattr(
        publish,
        "scan",
        lambda *a, **k: [
            publish.Finding("areas/SYN01/x.csv", "CSV row 0", "Count", "3", "count from 1 to 4")
        ],
    )
    with pytest.raises(BuildFailed, match="disclosure check failed.*previous site is unchanged"):
        run_site(default_book, computed["metadata"])
    assert os.readlink(default_book.site_dir) == before
    assert (default_book.site_dir / "index.html").read_bytes() == index
    assert not any((default_book.root / "build" / "staging").glob("default-*"))


def test_killing_a_build_leaves_the_previous_site(root, tmp_path):
    """A copy of the project with a published site; `nhsbook build` is killed mid-way."""
    copy = tmp_path / "proj"
    copy_project(root, copy)
    old = copy / "build" / "sites" / "site-old"
    _page(old, "index.html", "the previous site")
    published = copy / "book" / "_build" / "html"
    published.parent.mkdir(parents=True)
    published.symlink_to(os.path.relpath(old, published.parent))
    env = {**os.environ, "NHSBOOK_ROOT": str(copy)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "nhsbook.cli", "build", "--jobs", "1"],
        cwd=copy,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not any((copy / "book" / "areas").glob("*/*.ipynb")):
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert any((copy / "book" / "areas").glob("*/*.ipynb")), "the build never reached notebooks"
    assert os.readlink(published) == os.path.relpath(old, published.parent)
    assert (published / "index.html").read_text().count("the previous site")
