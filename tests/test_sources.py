"""The source registry (data/sources.yml), the offline mirror, the cache and `nhsbook fetch`.

The real open data are read through the shared mirror (never copied into the repository); the
download path is exercised against an http.server on 127.0.0.1 serving a temporary folder.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import http.server
import os
import re
import shutil
import threading
from pathlib import Path

import pytest

from nhsbook.config import sources

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(
    os.environ.get("NHSBOOK_SHARED", Path(__file__).resolve().parents[1].parent / "shared")
)
SHARED = (SHARED if SHARED.is_absolute() else ROOT / SHARED).resolve()
MIRROR = SHARED / "data"

SMALL = "qof2021_mapping_indicators"  # 3.7 kB, has a download_url
SMALL_2 = "ccg20_stp20_england"  # 12 kB, has a download_url
NO_URL = "lsoa11_ward19_lad19_holdout"  # 17 kB, filtered copy: no download_url
GZIPPED = "epraccur_nov2021"  # fetched by re-gzipping the downloaded CSV


@pytest.fixture(scope="module")
def mirror(shared) -> Path:
    """The shared data folder (conftest's ``shared`` fails the run if it is missing)."""
    return shared / "data"


@pytest.fixture(scope="module")
def registry():
    return sources.load_registry()


@pytest.fixture(scope="module")
def licences():
    return sources.load_licences()


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """Every test gets its own cache; the mirror comes from _config.yml unless a test sets it."""
    for var in (
        "NHSBOOK_MIRROR",
        "NHSBOOK_ROOT",
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NHSBOOK_CACHE", str(tmp_path / "cache"))


def _small_mirror(tmp_path: Path, registry, keys) -> Path:
    """A mirror folder holding copies of a few small datasets (in tmp, never in the repo)."""
    folder = tmp_path / "mirror"
    for key in keys:
        src = registry[key]
        target = src.under(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src.under(MIRROR), target)
    return folder


def _leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*.part")] if folder.exists() else []


# ------------------------------------------------------------------------- the registry


def test_registry_covers_every_file_in_the_mirror(mirror, registry):
    """Every file of the mirror is registered, except the current/ folder (2024-2026 data),
    whose files are registered as books use them (25: the ICB book's, with the Census 2021
    TS007A populations, the sub-ICB boundaries of the national maps, the peers' rurality
    and district lookups and the SPOT page's payments to general practice 2022-23; the county
    book's ONS series and boundaries; the Fingertips book's exports)."""
    on_disk = sorted(
        p.relative_to(mirror).as_posix()
        for p in mirror.rglob("*")
        if p.is_file() and not p.name.startswith("PROVENANCE")
    )
    registered = sorted(s.path for s in registry.values())
    older = [p for p in registered if not p.startswith("current/")]
    assert older == [p for p in on_disk if not p.startswith("current/")]
    assert len(older) == 47
    current = [p for p in registered if p.startswith("current/")]
    assert set(current) <= set(on_disk) and len(current) == 25
    assert any(p.startswith("other_areas/") for p in registered)


def test_every_entry_has_licence_attribution_and_publisher_url(registry, licences):
    assert set(licences) == {"OGL-3.0", "CC-BY-4.0 + OGL-3.0", "OPL-3.0"}
    for s in registry.values():
        assert s.licence in licences, s.key
        assert s.title and s.publisher and s.attribution, s.key
        assert re.match(r"https?://[^\s|]+$", s.publisher_url), s.key
        # the entry carries its licence's required attribution text, verbatim
        for text in licences[s.licence].attribution:
            assert text in s.attribution, s.key
        assert s.via is not None and re.fullmatch(r"[0-9a-f]{40}", s.via.commit), s.key
        assert s.vintage and s.notes and s.copy, s.key
        if s.download_url:
            raw = f"https://raw.githubusercontent.com/{s.via.repo}/{s.via.commit}/"
            assert s.download_url.startswith(raw), s.key
        if s.download_gzip:
            assert s.download_sha256 and s.path.endswith(".gz"), s.key
    hoc = {s.key for s in registry.values() if Path(s.path).name.startswith("hoc_")}
    assert hoc == {s.key for s in registry.values() if s.licence == "OPL-3.0"} and len(hoc) == 2
    bounds = {s.key for s in registry.values() if "boundaries/" in s.path}
    assert bounds == {s.key for s in registry.values() if s.licence == "CC-BY-4.0 + OGL-3.0"}
    geojson = "https://github.com/martinjc/UK-GeoJSON"
    assert all(registry[k].publisher_url == geojson for k in bounds)
    assert registry["imd2019_file1"].read_options == {"encoding": "utf-8-sig", "thousands": ","}
    assert registry["epraccur_nov2021"].read_options == {"header": None}


def test_registry_checksums_and_sizes_match_the_mirror(mirror, registry):
    for s in registry.values():
        path = s.under(mirror)
        assert path.stat().st_size == s.bytes, s.key
        assert sources.file_sha256(path) == s.sha256, s.key


def test_bad_registry_entries_are_rejected(tmp_path, registry):
    good = registry[SMALL]
    entry = {
        f.name: getattr(good, f.name)
        for f in dataclasses.fields(good)
        if f.name
        in (
            "title",
            "publisher",
            "publisher_url",
            "licence",
            "attribution",
            "path",
            "sha256",
            "bytes",
        )
    }
    import yaml

    def write(**changes):
        doc = {
            "sources": {"x": {**entry, **changes}},
            "licences": {good.licence: {"name": "n", "attribution": ["a"]}},
        }
        path = tmp_path / "sources.yml"
        path.write_text(yaml.safe_dump(doc), encoding="utf-8")
        return path

    assert sources.load_registry(write())["x"].sha256 == good.sha256
    for bad in (
        {"path": "../escape.csv"},
        {"sha256": "abc"},
        {"attribution": ""},
        {"licence": "WTFPL"},
        {"colour": "blue"},
        {"download_url": "ftp://x/y"},
    ):
        with pytest.raises(sources.RegistryError):
            sources.load_registry(write(**bad))


# ------------------------------------------------------------------------- settings and locate


def test_settings_come_from_env_then_config(monkeypatch, tmp_path, mirror):
    assert sources.repo_root() == ROOT
    assert sources.mirror_dir() == (ROOT / "../shared/data").resolve()  # _config.yml
    monkeypatch.setenv("NHSBOOK_MIRROR", str(tmp_path))
    assert sources.mirror_dir() == tmp_path.resolve()
    monkeypatch.setenv("NHSBOOK_MIRROR", "")  # set but empty: none
    assert sources.mirror_dir() is None
    monkeypatch.delenv("NHSBOOK_CACHE")
    assert sources.cache_dir() == ROOT / "build" / "cache" / "sources"

    # another root: its own _config.yml, a relative mirror resolved against that root
    root = tmp_path / "repo"
    (root / "data").mkdir(parents=True)
    shutil.copyfile(ROOT / "data" / "sources.yml", root / "data" / "sources.yml")
    rel = os.path.relpath(mirror, root)
    (root / "_config.yml").write_text(f"title: x\nnhsbook:\n  mirror: {rel}\n", encoding="utf-8")
    monkeypatch.setenv("NHSBOOK_ROOT", str(root))
    monkeypatch.delenv("NHSBOOK_MIRROR")
    assert sources.mirror_dir() == mirror.resolve()
    assert sources.cache_dir() == root.resolve() / "build" / "cache" / "sources"
    assert sources.locate(SMALL) == sources.load_registry()[SMALL].under(mirror.resolve())
    (root / "_config.yml").write_text("title: x\n", encoding="utf-8")
    assert sources.mirror_dir() is None


def test_locate_reads_every_dataset_from_the_mirror_env(monkeypatch, mirror, registry):
    monkeypatch.setenv("NHSBOOK_MIRROR", str(mirror))
    for s in registry.values():
        path = sources.locate(s.key)
        assert path == s.under(mirror.resolve()) and path.is_file()

    # the verification is remembered per (path, mtime, size): no file is hashed again
    def no_hashing(*args, **kwargs):
        raise AssertionError("hashed again")

    monkeypatch.setattr(sources.hashlib, "file_digest", no_hashing)
    path = sources.locate("imd2019_file1")
    assert path.name == "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz"
    assert sources.status("imd2019_file1") == "mirror"


def test_unknown_key(monkeypatch, mirror):
    monkeypatch.setenv("NHSBOOK_MIRROR", str(mirror))
    with pytest.raises(sources.UnknownSource, match="no_such_dataset"):
        sources.locate("no_such_dataset")


def test_missing_source_names_the_dataset_and_both_remedies(monkeypatch, tmp_path, registry):
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    monkeypatch.setenv("NHSBOOK_MIRROR", str(empty))
    src = registry["imd2019_file1"]
    with pytest.raises(sources.MissingSource) as info:
        sources.locate(src.key)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert src.key in message and src.title in message and src.path in message
    assert f"nhsbook fetch {src.key}" in message and src.download_url in message
    assert "NHSBOOK_MIRROR" in message and "_config.yml" in message and str(empty) in message

    monkeypatch.setenv("NHSBOOK_MIRROR", "")
    with pytest.raises(sources.MissingSource) as info:
        sources.locate(NO_URL)
    message = str(info.value)
    assert "no mirror folder is set" in message
    assert f"nhsbook fetch {NO_URL} --mirror DIR" in message and "no direct download URL" in message
    assert "NHSBOOK_MIRROR" in message and "_config.yml" in message
    assert sources.status(NO_URL) == "missing"


def test_corrupt_copy_in_a_mirror_raises_checksum_mismatch(monkeypatch, tmp_path, registry):
    folder = _small_mirror(tmp_path, registry, [SMALL])
    src = registry[SMALL]
    bad = src.under(folder)
    bad.write_bytes(bad.read_bytes().replace(b"Atrial fibrillation", b"Atrial fibri11ation"))
    monkeypatch.setenv("NHSBOOK_MIRROR", str(folder))
    with pytest.raises(sources.ChecksumMismatch) as info:
        sources.locate(SMALL)
    err = info.value
    assert err.expected == src.sha256 and err.actual == sources.file_sha256(bad) != src.sha256
    assert str(bad) in str(err) and src.sha256 in str(err) and err.actual in str(err)
    assert sources.status(SMALL) == "corrupt"


# ------------------------------------------------------------------------- fetch from a mirror


def test_fetch_copies_from_a_mirror_into_the_cache_once(monkeypatch, tmp_path, registry):
    keys = [SMALL, SMALL_2, NO_URL]
    folder = _small_mirror(tmp_path, registry, keys)
    cache = tmp_path / "fetched"
    paths = sources.fetch(keys, mirror=folder, cache=cache, progress=False)
    assert paths == [registry[k].under(cache.resolve()) for k in keys]
    for key, path in zip(keys, paths):
        assert path.read_bytes() == registry[key].under(folder).read_bytes()
    before = [(p.stat().st_ino, p.stat().st_mtime_ns) for p in paths]

    shutil.rmtree(folder)  # a second call needs nothing from the mirror
    again = sources.fetch(keys, mirror=folder, cache=cache, progress=False)
    assert again == paths
    assert [(p.stat().st_ino, p.stat().st_mtime_ns) for p in paths] == before
    assert not _leftovers(cache)

    # locate now finds the cached copies (no mirror set)
    monkeypatch.setenv("NHSBOOK_MIRROR", "")
    assert sources.locate(SMALL, cache=cache) == paths[0]
    assert sources.status(SMALL, cache=cache) == "cache"


def test_fetch_replaces_a_corrupt_cached_copy_but_never_copies_a_corrupt_mirror(tmp_path, registry):
    folder = _small_mirror(tmp_path, registry, [SMALL])
    cache = tmp_path / "fetched"
    (path,) = sources.fetch([SMALL], mirror=folder, cache=cache, progress=False)
    path.write_bytes(path.read_bytes()[:100])  # truncated in the cache
    with pytest.raises(sources.ChecksumMismatch, match="nhsbook fetch"):
        sources.locate(SMALL, mirror=tmp_path / "nowhere", cache=cache)
    assert sources.fetch(SMALL, mirror=folder, cache=cache, progress=False) == [path]
    assert sources.file_sha256(path) == registry[SMALL].sha256

    src = registry[SMALL_2]
    bad = src.under(folder)
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text("FID,CCG20CD\n1,E38000016\n", encoding="utf-8")
    with pytest.raises(sources.ChecksumMismatch, match="nothing was copied"):
        sources.fetch([SMALL_2], mirror=folder, cache=cache, progress=False)
    assert not src.under(cache).exists() and not _leftovers(cache)


def test_fetch_without_mirror_or_download_url_says_to_use_a_mirror(tmp_path, monkeypatch):
    monkeypatch.setenv("NHSBOOK_MIRROR", "")
    with pytest.raises(sources.NotDownloadable) as info:
        sources.fetch([NO_URL], cache=tmp_path / "c", progress=False)
    assert "no direct download URL" in str(info.value) and "--mirror" in str(info.value)
    assert "NHSBOOK_MIRROR" in str(info.value)
    with pytest.raises(sources.FetchError) as info:  # several failures are reported together
        sources.fetch([NO_URL, "lsoa2011_boundaries_holdout"], cache=tmp_path / "c", progress=False)
    assert [k for k, _ in info.value.errors] == [NO_URL, "lsoa2011_boundaries_holdout"]


# ------------------------------------------------------------------------- fetch by download


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_root(tmp_path):
    """An http.server on 127.0.0.1 (port chosen by the OS) serving a temporary folder."""
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root))
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="test-http", daemon=True
    )
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def patched_registry(monkeypatch, registry):
    """Point some entries' download_url somewhere else (via a monkeypatched load_registry)."""
    patched = dict(registry)

    def point(key: str, url: str):
        patched[key] = dataclasses.replace(registry[key], download_url=url)
        return patched[key]

    monkeypatch.setattr(sources, "load_registry", lambda path=None: patched)
    monkeypatch.setenv("NHSBOOK_MIRROR", "")  # no mirror: fetch must download
    return point


def test_fetch_downloads_from_a_loopback_server(tmp_path, http_root, patched_registry, registry):
    www, base = http_root
    src = registry[SMALL]
    shutil.copyfile(src.under(MIRROR), www / "indicators.csv")
    patched_registry(SMALL, f"{base}/indicators.csv")
    cache = tmp_path / "downloaded"
    (path,) = sources.fetch([SMALL], cache=cache, progress=True, timeout=10)
    assert path == src.under(cache.resolve())
    assert path.read_bytes() == src.under(MIRROR).read_bytes()
    stamp = (path.stat().st_ino, path.stat().st_mtime_ns)
    (www / "indicators.csv").unlink()  # already there: no second download
    assert sources.fetch([SMALL], cache=cache, progress=False, timeout=10) == [path]
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == stamp
    assert sources.locate(SMALL, cache=cache) == path


def test_fetch_gzips_a_download_into_the_registered_bytes(
    tmp_path, http_root, patched_registry, registry
):
    www, base = http_root
    src = registry[GZIPPED]
    (www / "epraccur.csv").write_bytes(gzip.decompress(src.under(MIRROR).read_bytes()))
    patched_registry(GZIPPED, f"{base}/epraccur.csv")
    (path,) = sources.fetch(GZIPPED, cache=tmp_path / "c", progress=False, timeout=10)
    assert sources.file_sha256(path) == src.sha256


def test_a_wrong_or_missing_download_is_an_error_and_leaves_nothing(
    tmp_path, http_root, patched_registry
):
    www, base = http_root
    (www / "wrong.csv").write_text("INDICATOR_CODE\nAF001\n", encoding="utf-8")
    patched_registry(SMALL, f"{base}/wrong.csv")
    patched_registry(SMALL_2, f"{base}/absent.csv")
    cache = tmp_path / "c"
    with pytest.raises(sources.ChecksumMismatch) as info:
        sources.fetch([SMALL], cache=cache, progress=False, timeout=10)
    assert f"{base}/wrong.csv" in str(info.value)
    with pytest.raises(sources.DownloadError, match="HTTP 404"):
        sources.fetch([SMALL_2], cache=cache, progress=False, timeout=10)
    files = [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []
    assert files == []


# ------------------------------------------------------------------------- the CLI


def test_cli_list_and_fetch(monkeypatch, capsys, tmp_path, mirror, registry):
    monkeypatch.setenv("NHSBOOK_MIRROR", str(mirror))
    assert sources.main(["--list"]) == 0
    out = capsys.readouterr().out
    for s in registry.values():
        line = next(row for row in out.splitlines() if row.split()[:1] == [s.key])
        assert s.licence in line and s.path in line and line.rstrip().endswith("mirror")
    assert "72 datasets: 72 mirror" in out  # 47 + 25 current/ files (test above)

    folder = _small_mirror(tmp_path, registry, [SMALL])
    cache = tmp_path / "cli-cache"
    assert sources.main([SMALL, "--mirror", str(folder), "--cache", str(cache), "-q"]) == 0
    assert "1 copied from the mirror" in capsys.readouterr().out
    assert registry[SMALL].under(cache).is_file()
    nowhere = str(tmp_path / "x")
    assert sources.main(["--list", SMALL, "--mirror", nowhere, "--cache", str(cache)]) == 2
    assert sources.main(["--list", SMALL, "--mirror", str(folder), "--cache", str(cache)]) == 0
    assert sources.main(["no_such_dataset"]) == 2
    assert "unknown dataset" in capsys.readouterr().err
    monkeypatch.setenv("NHSBOOK_MIRROR", "")
    assert sources.main([NO_URL, "--cache", str(cache), "-q"]) == 1
    assert "no direct download URL" in capsys.readouterr().err
    assert sources.main(["--help"]) == 0


# ------------------------------------------------------------------------- the Data sources page


def _table_rows(md: str, header: str) -> list[str]:
    lines = md.splitlines()
    start = lines.index(header)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def _cells(row: str) -> int:
    """Number of cells in a table row, counting only unescaped pipes."""
    return len(re.findall(r"(?<!\\)\|", row)) - 1


def test_data_sources_markdown_lists_every_dataset_and_licence(registry, licences):
    md = sources.data_sources_markdown()
    assert "Open Government Licence v3.0" in md
    assert "Creative Commons Attribution 4.0" in md
    assert "Open Parliament Licence v3.0" in md
    for li in licences.values():  # attribution texts, verbatim
        for text in li.attribution + li.additional_attribution:
            assert text in md, text
    rows = _table_rows(md, "| Dataset | Publisher | Licence | Vintage and notes |")
    assert len(rows) == len(registry)
    assert all(_cells(r) == 4 for r in rows)
    for s in registry.values():
        assert f"(`{s.key}`)" in md and s.publisher_url in md
    copies = _table_rows(md, "| Dataset | File | Copied from | Copy | sha256 |")
    assert len(copies) == len(registry) and all(_cells(r) == 5 for r in copies)


def test_data_sources_markdown_escapes_table_breaking_text(registry, licences):
    tricky = dataclasses.replace(
        registry[SMALL],
        title="A | B * C_d [x](y) <b>",
        publisher="P|Q",
        vintage="2020|21",
        notes="line one\nline two | with `a|b` code and a \\ backslash",
    )
    md = sources.data_sources_markdown({SMALL: tricky}, licences)
    (row,) = _table_rows(md, "| Dataset | Publisher | Licence | Vintage and notes |")
    assert _cells(row) == 4
    assert "A \\| B \\* C\\_d \\[x\\](y) \\<b\\>" in row and "`a\\|b`" in row
    markdown_it = pytest.importorskip("markdown_it")
    html = markdown_it.MarkdownIt("commonmark").enable("table").render(md)
    assert html.count("<td>") == 4 + 5
    assert "A | B * C_d [x](y) &lt;b&gt;" in html and "line one line two" in html


def test_markdown_renders_as_two_tables(registry):
    markdown_it = pytest.importorskip("markdown_it")
    md = sources.data_sources_markdown()
    html = markdown_it.MarkdownIt("commonmark").enable("table").render(md)
    assert html.count("<table>") == 2
    assert html.count("<tr>") == 2 * (len(registry) + 1)
    assert html.count("<td>") == len(registry) * (4 + 5)
