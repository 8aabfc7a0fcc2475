"""Incremental builds: redo only what changed since the last build.

* **Gate**: a passing validation report is kept in ``build/<book>/gate.json`` keyed by the
  sha256 of every input, every suite in ``expectations/`` and the ``nhsbook`` source; while the
  key is unchanged the gate is not run again (:func:`gate_key`, :class:`CachedReport`).
* **Pages**: each page's fingerprint is the sha256 of its notebook file, its parameters, the
  book configuration and the ``nhsbook`` source (:func:`page_key`), plus the files the page
  read last time it ran, recorded automatically (:mod:`nhsbook.core.page_inputs`) with their sha256.  A
  page whose key, every input and every output are unchanged is not run again.
* **Site**: the key of the site is the size and modification time of every file under
  ``book/`` (files are only written when their content changes), ``_config.yml`` and the
  ``nhsbook`` source; the site step is skipped while it matches the published site.

State lives in ``build/state/`` (``pages.json``, ``site.json``, ``digests.json`` and the deps
file of every page under ``deps/``).  File digests are cached by path, size and modification
time (:class:`Digests`), so a warm rebuild hashes nothing it hashed before.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from nhsbook.config import sources
from nhsbook.config.book import BookConfig
from nhsbook.core import page_inputs


def state_dir(root: Path) -> Path:
    return root / "build" / "state"


def load_json(path: Path, default):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return default


def write_json(path: Path, data) -> None:
    """Write ``data`` atomically (a killed build leaves the previous state)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` unless the file already holds it (keeping its time); True if written."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def hash_of(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class Digests:
    """sha256 of files, cached by (size, mtime_ns) in ``build/state/digests.json``."""

    def __init__(self, root: Path) -> None:
        self.path = state_dir(root) / "digests.json"
        self.cache: dict[str, list] = load_json(self.path, {})
        self.dirty = False

    def __call__(self, path: str | Path) -> str:
        """The file's sha256, or ``"missing"``."""
        p = str(path)
        try:
            st = os.stat(p)
        except OSError:
            return "missing"
        hit = self.cache.get(p)
        if hit and hit[0] == st.st_size and hit[1] == st.st_mtime_ns:
            return hit[2]
        self.cache[p] = [st.st_size, st.st_mtime_ns, sources.file_sha256(p)]
        self.dirty = True
        return self.cache[p][2]

    def save(self) -> None:
        if self.dirty:
            write_json(self.path, self.cache)
            self.dirty = False


def book_digest(cfg: BookConfig) -> str:
    """The book configuration as a page sees it: every field except the project root and the
    page sets (a page's own presence is in its parameters; adding or removing other pages
    does not change it), with the area types that have pages (pages name them)."""
    return hash_of(
        repr(dataclasses.replace(cfg, root=Path("."), page_sets=())), cfg.page_area_types
    )


# ------------------------------------------------------------------------------------ gate


def gate_key(cfg: BookConfig, inputs: dict[str, Path], digests: Digests) -> str:
    """sha256 of the inputs, the data folder's files, the suites and the package source."""
    files = {str(p) for p in inputs.values()}
    if cfg.data.is_dir():
        files.update(str(p) for p in cfg.data.rglob("*") if p.is_file())
    suites = sorted((cfg.root / "expectations").glob("*.json"))
    return hash_of(
        cfg.name,
        book_digest(cfg),
        sources.package_digest(),
        sorted((f, digests(f)) for f in files),
        [(s.name, digests(s)) for s in suites],
    )


@dataclass
class CachedReport:
    """A passing validation report, as kept from the last gate (same reading interface)."""

    markdown: str
    text: str
    datasets: list = field(default_factory=list)
    ok: bool = True

    def to_markdown(self) -> str:
        return self.markdown

    def to_text(self) -> str:
        return self.text


def gate_file(cfg: BookConfig) -> Path:
    return cfg.cache_dir / "gate.json"


def cached_gate(cfg: BookConfig, key: str) -> CachedReport | None:
    """The kept report when the gate passed with this key."""
    kept = load_json(gate_file(cfg), {})
    if kept.get("key") != key:
        return None
    return CachedReport(kept["markdown"], kept["text"], list(range(kept.get("datasets", 0))))


def keep_gate(cfg: BookConfig, key: str, report) -> None:
    """Keep a passing report (never a failing one)."""
    if report.ok:
        write_json(
            gate_file(cfg),
            {
                "key": key,
                "markdown": report.to_markdown(),
                "text": report.to_text(),
                "datasets": len(report.datasets),
            },
        )


# ----------------------------------------------------------------------------------- pages


def page_key(cfg: BookConfig, notebook: Path, params: dict, package: str, digests: Digests) -> str:
    """A page's fingerprint before its inputs: notebook, parameters, book and package."""
    return hash_of(digests(notebook), params, book_digest(cfg), package)


@dataclass
class PageState:
    """What the last run of every page in ``book/`` recorded (``build/state/pages.json``)."""

    root: Path
    pages: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path) -> "PageState":
        return cls(root, load_json(state_dir(root) / "pages.json", {}))

    def save(self) -> None:
        write_json(state_dir(self.root) / "pages.json", self.pages)

    def deps_file(self, page_id: str) -> Path:
        return state_dir(self.root) / "deps" / f"{page_id}.jsonl"

    def is_fresh(self, page_id: str, key: str, output: Path, digests: Digests) -> bool:
        """The page's output exists and nothing it was built from changed."""
        rec = self.pages.get(page_id)
        if not rec or rec.get("key") != key or rec.get("reads") is None or not output.is_file():
            return False
        if any(not Path(p).is_file() for p in rec.get("wrote", [])):
            return False
        return all(digests(p) == d for p, d in rec["reads"].items())

    def record(
        self, page_id: str, key: str, extra: Path, digests: Digests, fallback: Iterable[str]
    ) -> None:
        """Store a run: the files it read (from its deps file; every input in ``fallback``
        when the page recorded none) with their digests, and the files it wrote."""
        found = page_inputs.read(self.deps_file(page_id))
        reads, wrote = found if found else (set(fallback), set())
        extra_s = str(extra) + os.sep
        reads = {p for p in reads - wrote if not p.startswith(extra_s)}
        self.pages[page_id] = {
            "key": key,
            "reads": {p: digests(p) for p in sorted(reads)},
            "wrote": sorted(p for p in wrote if os.path.isfile(p)),
            "recorded": found is not None,
        }


# ------------------------------------------------------------------------------------ site


def site_key(cfg: BookConfig, package: str) -> str:
    """Size and modification time of every source file of the site, with the configuration
    (and the book's ``publish_notebooks``)."""
    book = cfg.book_dir
    items = []
    for dirpath, dirnames, filenames in os.walk(book):
        if Path(dirpath) == book:
            dirnames[:] = [d for d in dirnames if d != "_build"]
        for name in filenames:
            p = os.path.join(dirpath, name)
            st = os.stat(p)
            items.append((os.path.relpath(p, book), st.st_size, st.st_mtime_ns))
    config = (cfg.root / "_config.yml").read_bytes()
    return hash_of(
        sorted(items),
        hashlib.sha256(config).hexdigest(),
        package,
        f"publish_notebooks={cfg.publish_notebooks}",
    )
