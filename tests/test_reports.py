"""PDF board reports (issue 25) and where the evidence points: the reports the build
publishes, read back with pypdf, and the ranked priorities behind them.

The built default site comes from the session fixture ``site`` (built once, shared with the
other site tests); these tests add a few seconds (pypdf reads 44 small PDFs; two reports are
typeset again).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader

from nhsbook.build import publish, report
from nhsbook.config.book import load_book
from nhsbook.core import fmt
from nhsbook.pages import messages
from nhsbook.pipeline import priorities

CCG = "E38000115"
#: Markup of typst, markdown and HTML, in an area and an indicator name.
EVIL = (
    '#set page(fill: red) = Head *bold* _it_ $x^2$ <lbl> @ref // c /* d */ '
    '\\ https://evil.example [link] `raw` ~ -- ... #{1 + 1} "q" \'s <script>'
)


def _norm(text: str) -> str:
    """Text without white space: typst breaks lines at spaces but also after ``-`` and
    ``/``, where pypdf then reads a line break."""
    return "".join(text.split())


def _text(path: Path) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(str(path)).pages]


@pytest.fixture(scope="module")
def reports(site, default_book, computed) -> dict[str, Path]:
    codes = report.report_codes(default_book, computed["areas"])
    return {c: site / "reports" / f"{c}.pdf" for c in codes}


@pytest.fixture(scope="module")
def tables(default_book, computed):
    return messages.load_tables(default_book, computed)


def test_every_area_with_pages_has_a_report_within_the_page_limit(reports, computed, default_book):
    areas = computed["areas"]
    expected = areas.loc[areas["area_type"].isin(["ccg", "locality", "practice"]), "area_code"]
    assert set(reports) == set(expected) and len(reports) == 44
    for code, path in reports.items():
        assert path.is_file(), f"{code}: no report in the site"
        assert path.read_bytes()[:5] == b"%PDF-"
        pages = len(PdfReader(str(path)).pages)
        assert 2 <= pages <= default_book.report_max_pages, (code, pages)


def test_ccg_report_carries_name_messages_evidence_and_every_seed_figure(
    reports, tables, root, computed
):
    pages = _text(reports[CCG])
    text = _norm(" ".join(pages))
    assert "NHS North Derbyshire CCG" in pages[0]
    from nhsbook.pages.area import AreaPage

    area = AreaPage.from_tables(tables["book"], tables, CCG)  # the population's page
    said = [messages.headline(tables, CCG)] + [
        s
        for page in ("profile", "population", "variation", "spot")
        for s in messages.key_messages(
            tables, CCG, page, **({"area_page": area} if page == "population" else {})
        )
    ]
    assert len(said) >= 5
    for sentence in said:
        assert _norm(sentence) in text, sentence
    for _, r in priorities.for_area(computed["priorities"], CCG).iterrows():
        assert _norm(r["title"]) in text and _norm(r["evidence"]) in text
    # the spine table: the seed's Number and Rate of all 53 indicators, as the pages show
    # them; a figure the pipeline suppressed (secondary suppression: A31, C17 and C19, whose
    # counts could otherwise be worked out from the localities') shows as Supp., as on the page
    from nhsbook.analysis import indicators

    seed = pd.read_csv(root / "data" / "default" / "seed_profile.csv")
    assert len(seed) == 53
    rows = pd.concat(
        [
            indicators.profile_table(computed["values"], computed["metadata"], CCG, p)
            for p in ("adult", "child")
        ]
    )
    withheld = set(rows.loc[rows["suppressed"], "indicator_id"])
    assert withheld == {"A31", "C17", "C19"}
    assert text.count("Supp.") >= 2 * len(withheld)
    for _, r in seed[~seed["indicator_id"].isin(withheld)].iterrows():
        assert fmt.number(r["ccg_value"], 1) in text, (r["indicator_id"], r["ccg_value"])
        if pd.notna(r["ccg_count"]):
            assert fmt.count(r["ccg_count"]) in text, (r["indicator_id"], r["ccg_count"])
    for section in (
        "Key messages",
        "Where the evidence points",
        "Adult profile",
        "Child profile",
        "Population",
        "Practice variation",
        "Spend and outcome (SPOT)",
        "Finance",
        "Definitions and sources",
    ):
        assert _norm(section) in text, section
    # in the order
    order = [
        text.index(_norm(s))
        for s in (
            "Key messages",
            "Where the evidence points",
            "Adult profile",
            "Population",
            "Practice variation",
            "Spend and outcome (SPOT)",
            "Definitions and sources",
        )
    ]
    assert order == sorted(order)
    assert _norm("Open Government Licence") in text


def test_every_page_of_a_synthetic_book_says_synthetic_and_is_numbered(reports):
    for code, path in reports.items():
        pages = _text(path)
        for i, page in enumerate(pages, 1):
            assert "Synthetic data" in page, (code, i)
            assert f"Page {i} of {len(pages)}" in page, (code, i)
            assert code in page


def test_fonts_are_embedded(reports):
    for code in (CCG, "ND-DRO", "SYN05"):
        reader = PdfReader(str(reports[code]))
        seen = 0
        for page in reader.pages:
            fonts = page["/Resources"].get("/Font", {})
            for ref in fonts.values():
                font = ref.get_object()
                for desc in font.get("/DescendantFonts", [font]):
                    fd = desc.get_object()["/FontDescriptor"].get_object()
                    assert any(k in fd for k in ("/FontFile", "/FontFile2", "/FontFile3")), (
                        code,
                        font["/BaseFont"],
                    )
                    seen += 1
        assert seen


def test_reports_show_no_count_from_1_to_4_and_the_scan_reads_them(reports, tmp_path, computed):
    folder = tmp_path / "site" / "reports"
    folder.mkdir(parents=True)
    for path in reports.values():
        shutil.copy(path, folder / path.name)
    assert publish.scan(tmp_path / "site", computed["metadata"], areas=computed["areas"]) == []
    # a report stating a small count is caught like a page (and stops the publish)
    pdf = report._compile("= Bad report\n\nDeaths: 3 in the year.\n", tmp_path)
    (folder / "BAD.pdf").write_bytes(pdf)
    found = publish.scan(tmp_path / "site")
    assert [f.file for f in found] == ["reports/BAD.pdf"] and "Deaths: 3" in found[0].value


def _context(cfg, computed, tables, code, **changes) -> report.Context:
    areas = computed["areas"].copy()
    for col, value in changes.items():
        areas.loc[areas["area_code"] == code, col] = value
    return report.Context(
        cfg,
        areas.set_index("area_code", drop=False).loc[code],
        areas,
        computed["metadata"],
        computed["priorities"],
        tables,
        cfg.book_dir / "_extra",
        report.published_date(cfg),
    )


def test_markup_in_names_renders_literally(tmp_path, default_book, computed, tables):
    meta = computed["metadata"].copy()
    meta.loc[meta["indicator_id"] == "A04", "name"] = EVIL
    prio = computed["priorities"].copy()
    prio.loc[prio["area_code"] == "ND-DRO", "title"] = EVIL
    ctx = _context(default_book, {**computed, "metadata": meta}, tables, "ND-DRO", area_name=EVIL)
    ctx.priorities = prio
    pdf = report._compile(report.source(ctx), ctx.extra)
    path = tmp_path / "evil-report.pdf"
    path.write_bytes(pdf)
    pages = _text(path)
    text = _norm(" ".join(pages))
    assert text.count(_norm(EVIL)) >= 3  # title, footer and the evidence item
    assert all(_norm(EVIL) in _norm(p) for p in pages)  # the running footer on every page
    assert len(pages) >= 2


def test_a_report_is_rebuilt_only_when_its_inputs_change(site, default_book, computed):
    from nhsbook.build import incremental

    digests = incremental.Digests(default_book.root)
    quiet = []
    assert report.build_reports(default_book, computed, digests, quiet.append) == {}
    before = {
        c: p.stat().st_mtime_ns
        for c, p in (
            (c, default_book.book_dir / "_extra" / "reports" / f"{c}.pdf") for c in (CCG, "ND-DRO")
        )
    }
    prio = computed["priorities"].copy()
    first = prio.index[prio["area_code"] == "ND-DRO"][0]
    prio.loc[first, "evidence"] += " (changed)"
    try:
        made = report.build_reports(
            default_book, {**computed, "priorities": prio}, digests, quiet.append
        )
        assert set(made) == {"ND-DRO"} and made["ND-DRO"] < 2
        after = default_book.book_dir / "_extra" / "reports"
        assert (after / f"{CCG}.pdf").stat().st_mtime_ns == before[CCG]
        assert "(changed)" in _norm(" ".join(_text(after / "ND-DRO.pdf")))
    finally:  # back to the published state
        assert set(report.build_reports(default_book, computed, digests, quiet.append)) == {
            "ND-DRO"
        }


def test_book_schema_switches_reports_off_and_picks_sections(
    tmp_path, root, computed, default_book, tables
):
    text = (root / "books" / "default.yml").read_text(encoding="utf-8")
    data = (root / "data" / "default").resolve()
    text = text.replace("data: data/default", f"data: {data}")
    off = tmp_path / "off.yml"
    off.write_text(text + "\nreports: false\n", encoding="utf-8")
    cfg = load_book(str(off), root=root)
    assert not cfg.reports and report.report_codes(cfg, computed["areas"]) == []
    picked = tmp_path / "picked.yml"
    picked.write_text(
        text + "\nreports:\n  sections: [sources, spine]\n  max_pages: 6\n", encoding="utf-8"
    )
    cfg = load_book(str(picked), root=root)
    assert cfg.report_sections == ("spine", "sources") and cfg.report_max_pages == 6
    src = report.source(_context(cfg, computed, tables, CCG))
    assert "= Adult profile" in src and "= Definitions and sources" in src
    assert "= Where the evidence points" not in src and "= Key messages" not in src
    assert "= Population" not in src
    bad = tmp_path / "bad.yml"
    bad.write_text(text + "\nreports:\n  sections: [spine, appendix]\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.yml: reports: sections must be"):
        load_book(str(bad), root=root)


# --- where the evidence points --------------------------------------------------------


def _cand(kind: str, weight: float, title: str = "") -> dict:
    return {
        "kind": kind,
        "weight": weight,
        "title": title or f"{kind} {weight}",
        "evidence": "",
        "page": "",
    }


def test_ranking_rule():
    ranked = priorities.rank(
        [
            _cand("worse", 900.0),
            _cand("variation", 5.0),
            _cand("worse", np.nan),
            _cand("spot", 2.5),
            _cand("overspend", 100.0),
            _cand("worse_worsening", 10.0),
            _cand("worse_worsening", 50.0),
            _cand("variation", 9.0),
        ]
    )
    assert [c["title"] for c in ranked] == [
        "worse_worsening 50.0",
        "worse_worsening 10.0",
        "spot 2.5",  # three priorities
        "variation 9.0",
        "overspend 100.0",
    ]  # one quick win of each
    assert [c["group"] for c in ranked] == ["priority"] * 3 + ["quick win"] * 2
    assert [c["rank"] for c in ranked] == [1, 2, 3, 4, 5]
    # without better evidence, worse indicators by people affected, unknown counts last
    ranked = priorities.rank([_cand("worse", np.nan), _cand("worse", 5.0), _cand("worse", 70.0)])
    assert [c["weight"] for c in ranked][:2] == [70.0, 5.0] and np.isnan(ranked[2]["weight"])
    assert priorities.rank([]) == []


def test_priorities_of_the_ccg_come_from_the_books_evidence(computed):
    table = computed["priorities"]
    assert set(table["area_code"]) >= {CCG, "ND-DRO", "SYN05"}
    rows = priorities.for_area(table, CCG)
    assert (rows["group"] == "priority").sum() <= priorities.MAX_PRIORITIES
    prof = computed["values"]
    prof = prof[(prof["area_code"] == CCG) & prof["significance"].isin(priorities.WORSE)]
    worse = rows[rows["kind"].isin(["worse", "worse_worsening"])]
    assert len(worse) == min(3, len(prof)) > 0
    # the largest counts of the significantly worse indicators, largest first
    assert worse["weight"].tolist() == sorted(prof["count"].dropna(), reverse=True)[:3]
    for _, r in worse.iterrows():
        assert r["page"] == f"areas/{CCG}/jsna_profile"
        assert fmt.count(r["weight"]) in r["evidence"]
    wins = rows[rows["group"] == "quick win"]
    assert list(wins["kind"]) == ["variation", "overspend"]
    assert wins.iloc[0]["page"] == f"areas/{CCG}/practice_variation"
    assert re.search(r"\d+ of 38 practices outside the 99\.8% limits", wins.iloc[0]["evidence"])
    # the CCG has no financial position of its own: the cluster's largest overspend
    assert "NHS Derbyshire cluster" in wins.iloc[1]["title"]
    assert wins.iloc[1]["page"] == "areas/DERBYSHIRE-CLUSTER/finance"


def test_web_chapter_opens_with_the_list_and_pages_link_the_report(site):
    page = (site / "areas" / CCG / "jsna_profile.html").read_text(encoding="utf-8")
    assert "Where the evidence points" in page
    assert page.index("Where the evidence points") < page.index("Adult profile")
    for nb in (
        "jsna_profile",
        "population",
        "practice_variation",
        "spot",
        "maps",
        "overview",
        "inequalities",
        "finance",
    ):
        html = (site / "areas" / CCG / f"{nb}.html").read_text(encoding="utf-8")
        assert f'href="../../reports/{CCG}.pdf"' in html, nb
    landing = (site / "index.html").read_text(encoding="utf-8")
    assert f'href="reports/{CCG}.pdf"' in landing and 'href="reports/SYN05.pdf"' in landing
