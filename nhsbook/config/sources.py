"""External open datasets: the source registry, the offline mirror and the download cache.

``data/sources.yml`` lists every external dataset the book can read (ONS boundaries and lookups,
Indices of Deprivation, ONS population, NHS Digital GP and QOF files, Fingertips exports): its
publisher, licence and attribution, its path inside a mirror folder and its sha256. The files
themselves are never committed. They are read from

1. an **offline mirror** folder: ``NHSBOOK_MIRROR``, else ``nhsbook: mirror:`` in the repository's
   ``_config.yml`` (relative to the repository root). Tests and CI use ``../shared/data``;
2. else the **cache** (``NHSBOOK_CACHE``, default ``<repo>/build/cache/sources``), filled by
   ``nhsbook fetch`` from the mirror or from each entry's ``download_url``.

Every file is checked against its sha256 before it is handed out (:func:`locate`); the result of
a check is remembered per file (path, mtime, size, inode) so repeated calls are cheap.

    from nhsbook.config import sources
    path = sources.locate("imd2019_file1")          # Path, verified
    sources.fetch(["imd2019_file1"])                # mirror -> cache, or download -> cache
    sources.data_sources_markdown()                 # the book's Data sources registry section
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import re
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Mapping

import yaml

from nhsbook.core import page_inputs

__all__ = [
    "ChecksumMismatch",
    "DownloadError",
    "FetchError",
    "Licence",
    "MissingSource",
    "NotDownloadable",
    "RegistryError",
    "Source",
    "UnknownSource",
    "Via",
    "cache_dir",
    "data_sources_markdown",
    "fetch",
    "file_sha256",
    "package_digest",
    "load_licences",
    "load_registry",
    "locate",
    "main",
    "mirror_dir",
    "registry_path",
    "repo_root",
    "status",
    "verify",
]

MIRROR_ENV = "NHSBOOK_MIRROR"
CACHE_ENV = "NHSBOOK_CACHE"
ROOT_ENV = "NHSBOOK_ROOT"
CHUNK = 1 << 20
DOWNLOAD_TIMEOUT = 60.0
USER_AGENT = "nhsbook-fetch/0.1 (+python urllib)"

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# --------------------------------------------------------------------------------- errors


class RegistryError(ValueError):
    """``data/sources.yml`` is malformed (names the file and the entry)."""


class UnknownSource(KeyError):
    """A key that is not in the registry."""

    def __init__(self, keys: Iterable[str], known: Iterable[str]):
        self.keys = list(keys)
        super().__init__(
            f"unknown dataset key(s) {', '.join(self.keys)}; the registry has: "
            f"{', '.join(sorted(known))}"
        )

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class MissingSource(FileNotFoundError):
    """A dataset is neither in the mirror nor in the cache (the message says how to get it)."""

    def __init__(self, message: str, key: str = "", path: str = ""):
        super().__init__(message)
        self.key, self.path = key, path

    def __str__(self) -> str:
        return str(self.args[0])


class NotDownloadable(MissingSource):
    """``fetch`` was asked for a dataset with no ``download_url`` and no mirror holds it."""


class ChecksumMismatch(ValueError):
    """A file's sha256 differs from the registry's."""

    def __init__(self, path: Path | str, expected: str, actual: str, key: str = "", hint: str = ""):
        self.path, self.expected, self.actual, self.key = Path(path), expected, actual, key
        what = f" (dataset {key!r})" if key else ""
        message = (
            f"checksum mismatch for {path}{what}: expected sha256 {expected}, got sha256 {actual}"
        )
        super().__init__(message + (f". {hint}" if hint else ""))


class DownloadError(OSError):
    """A download failed (network, HTTP status, unsupported URL)."""

    def __str__(self) -> str:
        return str(self.args[0])


class FetchError(RuntimeError):
    """Several datasets could not be fetched; ``errors`` holds ``(key, exception)`` pairs."""

    def __init__(self, errors: list[tuple[str, BaseException]]):
        self.errors = errors
        lines = [f"{len(errors)} datasets could not be fetched:"]
        lines += [f"- {key}: {exc}" for key, exc in errors]
        super().__init__("\n".join(lines))


# --------------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Via:
    """The public repository snapshot a mirrored file was copied from."""

    repo: str
    commit: str
    path: str
    head: str = ""

    @property
    def url(self) -> str:
        """The snapshot on GitHub (the tree at ``commit``)."""
        return f"https://github.com/{self.repo}/tree/{self.commit}"


@dataclass(frozen=True)
class Source:
    """One external dataset (one file) of ``data/sources.yml``."""

    key: str
    title: str
    publisher: str
    publisher_url: str
    licence: str
    attribution: str
    path: str
    sha256: str
    bytes: int
    notes: str = ""
    vintage: str = ""
    coverage: str = ""
    rows: int | None = None
    copy: str = ""
    via: Via | None = None
    download_url: str = ""
    download_sha256: str = ""
    download_gzip: Mapping[str, Any] | None = None
    read_options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def filename(self) -> str:
        return PurePosixPath(self.path).name

    def under(self, folder: Path | str) -> Path:
        """Where this dataset sits inside a mirror or cache folder."""
        return Path(folder).joinpath(*PurePosixPath(self.path).parts)


@dataclass(frozen=True)
class Licence:
    """One entry of the registry's ``licences:`` section (attribution texts as published)."""

    key: str
    name: str
    short: str
    url: str
    covers: str
    attribution: tuple[str, ...]
    additional_attribution: tuple[str, ...] = ()
    notes: str = ""


_REQUIRED = (
    "title",
    "publisher",
    "publisher_url",
    "licence",
    "attribution",
    "path",
    "sha256",
    "bytes",
)
_OPTIONAL = (
    "notes",
    "vintage",
    "coverage",
    "rows",
    "copy",
    "via",
    "download_url",
    "download_sha256",
    "download_gzip",
    "read_options",
)
_SHA = re.compile(r"^[0-9a-f]{64}$")
_KEY = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_yaml_cache: dict[Path, tuple[tuple[int, int], Any]] = {}
_yaml_lock = threading.Lock()


def repo_root() -> Path:
    """``NHSBOOK_ROOT``, else the folder above the ``nhsbook`` package."""
    env = os.environ.get(ROOT_ENV)
    return Path(env).resolve() if env else Path(__file__).resolve().parents[2]


def registry_path() -> Path:
    return repo_root() / "data" / "sources.yml"


def _read_yaml(path: Path) -> Any:
    """Parsed YAML, re-read only when the file changes."""
    path = Path(path).resolve()
    st = path.stat()
    stamp = (st.st_mtime_ns, st.st_size)
    with _yaml_lock:
        hit = _yaml_cache.get(path)
        if hit and hit[0] == stamp:
            return hit[1]
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    with _yaml_lock:
        _yaml_cache[path] = (stamp, data)
    return data


def _registry_doc(path: Path | str | None) -> tuple[Path, dict]:
    path = Path(path) if path else registry_path()
    if not path.is_file():
        raise FileNotFoundError(f"source registry {path} not found")
    doc = _read_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("sources"), dict):
        raise RegistryError(f"{path}: expected a mapping with a `sources:` section")
    return path, doc


def _source(path: Path, key: str, raw: Any, licences: Mapping[str, Any]) -> Source:
    where = f"{path}: sources.{key}"
    if not _KEY.match(str(key)):
        raise RegistryError(f"{where}: keys are lower-case letters, digits and underscores")
    if not isinstance(raw, dict):
        raise RegistryError(f"{where}: expected a mapping")
    missing = [k for k in _REQUIRED if raw.get(k) in (None, "")]
    if missing:
        raise RegistryError(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(set(raw) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise RegistryError(f"{where}: unknown field(s) {', '.join(unknown)}")
    if not _SHA.match(str(raw["sha256"])):
        raise RegistryError(f"{where}: sha256 must be 64 lower-case hex digits")
    if raw.get("download_sha256") and not _SHA.match(str(raw["download_sha256"])):
        raise RegistryError(f"{where}: download_sha256 must be 64 lower-case hex digits")
    rel = PurePosixPath(str(raw["path"]))
    if rel.is_absolute() or ".." in rel.parts or "\\" in str(raw["path"]) or not rel.parts:
        raise RegistryError(
            f"{where}: path must be relative inside the mirror, got {raw['path']!r}"
        )
    if licences and raw["licence"] not in licences:
        raise RegistryError(
            f"{where}: licence {raw['licence']!r} is not in the `licences:` "
            f"section ({', '.join(licences)})"
        )
    via = raw.get("via")
    if via is not None:
        if not isinstance(via, dict) or not {"repo", "commit", "path"} <= set(via):
            raise RegistryError(f"{where}: via needs repo, commit and path")
        via = Via(
            repo=str(via["repo"]),
            commit=str(via["commit"]),
            path=str(via["path"]),
            head=str(via.get("head") or ""),
        )
    gz = raw.get("download_gzip")
    if gz is not None and (not isinstance(gz, dict) or "filename" not in gz):
        raise RegistryError(f"{where}: download_gzip needs at least `filename`")
    url = str(raw.get("download_url") or "")
    if url and urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise RegistryError(f"{where}: download_url must be http(s), got {url!r}")
    return Source(
        key=str(key),
        title=str(raw["title"]),
        publisher=str(raw["publisher"]),
        publisher_url=str(raw["publisher_url"]),
        licence=str(raw["licence"]),
        attribution=str(raw["attribution"]).strip(),
        path=str(rel),
        sha256=str(raw["sha256"]),
        bytes=int(raw["bytes"]),
        notes=str(raw.get("notes") or "").strip(),
        vintage=str(raw.get("vintage") or ""),
        coverage=str(raw.get("coverage") or ""),
        rows=None if raw.get("rows") is None else int(raw["rows"]),
        copy=str(raw.get("copy") or ""),
        via=via,
        download_url=url,
        download_sha256=str(raw.get("download_sha256") or ""),
        download_gzip=dict(gz) if gz else None,
        read_options=dict(raw.get("read_options") or {}),
    )


def load_registry(path: Path | str | None = None) -> dict[str, Source]:
    """Every dataset of the registry (default ``<repo>/data/sources.yml``), in file order."""
    path, doc = _registry_doc(path)
    licences = doc.get("licences") or {}
    out = {str(k): _source(path, k, v, licences) for k, v in doc["sources"].items()}
    paths: dict[str, str] = {}
    for src in out.values():
        if src.path in paths:
            raise RegistryError(
                f"{path}: {src.key} and {paths[src.path]} share the path {src.path}"
            )
        paths[src.path] = src.key
    return out


def load_licences(path: Path | str | None = None) -> dict[str, Licence]:
    """The registry's ``licences:`` section: name, URL and the exact attribution texts."""
    path, doc = _registry_doc(path)
    out = {}
    for key, raw in (doc.get("licences") or {}).items():
        if not isinstance(raw, dict) or not raw.get("name") or not raw.get("attribution"):
            raise RegistryError(f"{path}: licences.{key} needs a name and attribution")
        att = raw["attribution"]
        add = raw.get("additional_attribution") or []
        out[str(key)] = Licence(
            key=str(key),
            name=str(raw["name"]),
            short=str(raw.get("short") or raw["name"]),
            url=str(raw.get("url") or ""),
            covers=str(raw.get("covers") or ""),
            attribution=tuple([att] if isinstance(att, str) else map(str, att)),
            additional_attribution=tuple([add] if isinstance(add, str) else map(str, add)),
            notes=str(raw.get("notes") or "").strip(),
        )
    return out


# --------------------------------------------------------------------------------- settings


def _config_mirror(root: Path) -> Path | None:
    cfg = root / "_config.yml"
    if not cfg.is_file():
        return None
    try:
        doc = _read_yaml(cfg)
    except yaml.YAMLError as exc:
        raise RegistryError(f"{cfg}: not valid YAML ({exc})") from exc
    section = doc.get("nhsbook") if isinstance(doc, dict) else None
    value = section.get("mirror") if isinstance(section, dict) else None
    if not value:
        return None
    path = Path(os.path.expanduser(str(value)))
    return (path if path.is_absolute() else root / path).resolve()


def mirror_dir() -> Path | None:
    """The offline mirror: ``NHSBOOK_MIRROR`` (set but empty: no mirror), else ``nhsbook: mirror:``
    in ``<repo>/_config.yml`` (relative to the repository root), else ``None``."""
    env = os.environ.get(MIRROR_ENV)
    if env is not None:
        return Path(os.path.expanduser(env)).resolve() if env.strip() else None
    return _config_mirror(repo_root())


def _mirror_origin() -> str:
    if os.environ.get(MIRROR_ENV) is not None:
        return f"${MIRROR_ENV}"
    return "_config.yml nhsbook.mirror"


def cache_dir() -> Path:
    """Where ``fetch`` puts datasets: ``NHSBOOK_CACHE``, else ``<repo>/build/cache/sources``."""
    env = os.environ.get(CACHE_ENV)
    if env and env.strip():
        return Path(os.path.expanduser(env)).resolve()
    return repo_root() / "build" / "cache" / "sources"


# --------------------------------------------------------------------------------- checksums

_digests: dict[tuple[str, int, int, int], str] = {}
_digest_lock = threading.Lock()


def _stamp(path: Path) -> tuple[str, int, int, int]:
    st = path.stat()
    return (str(path.resolve()), st.st_mtime_ns, st.st_size, st.st_ino)


#: The nhsbook package, whose code computes every stored table and page.
PACKAGE = Path(__file__).resolve().parents[1]


def package_digest() -> str:
    """sha256 of nhsbook's Python source: each module's path and :func:`file_sha256`.

    Stored tables and pages are made again when the code that made them changed, not only
    when an input did (an analyst who updates nhsbook gets the new code's numbers).  Each
    file is read once while its (mtime, size, inode) stays the same, so a long-lived process
    still sees an edit."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(f"{path.relative_to(PACKAGE)}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def file_sha256(path: Path | str) -> str:
    """sha256 of a file; remembered per (path, mtime, size, inode), so a file is read once."""
    path = Path(path)
    stamp = _stamp(path)
    with _digest_lock:
        hit = _digests.get(stamp)
    if hit is not None:
        return hit
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    with _digest_lock:
        _digests[stamp] = digest
    return digest


def _remember(path: Path, digest: str) -> None:
    with _digest_lock:
        _digests[_stamp(path)] = digest


def verify(path: Path | str, src: Source, hint: str = "") -> Path:
    """``path`` if its sha256 is the registry's, else :class:`ChecksumMismatch`."""
    path = Path(path)
    actual = file_sha256(path)
    if actual != src.sha256:
        raise ChecksumMismatch(path, src.sha256, actual, key=src.key, hint=hint)
    return path


# --------------------------------------------------------------------------------- locate


def _registry(registry: Mapping[str, Source] | None) -> Mapping[str, Source]:
    return registry if registry is not None else load_registry()


def _lookup(key: str | Source, registry: Mapping[str, Source] | None) -> Source:
    if isinstance(key, Source):
        return key
    reg = _registry(registry)
    if key not in reg:
        raise UnknownSource([key], reg)
    return reg[key]


def _missing_message(src: Source, mirror: Path | None, cache: Path, origin: str) -> str:
    if mirror is None:
        mirror_state = "no mirror folder is set"
    elif not mirror.is_dir():
        mirror_state = f"the mirror folder {mirror} (from {origin}) does not exist"
    else:
        mirror_state = f"not in the mirror folder {mirror} (from {origin})"
    if src.download_url:
        fetch_line = (
            f"  1. run `nhsbook fetch {src.key}`: downloads it from its registered URL\n"
            f"     {src.download_url}\n     into the cache, checking its sha256;"
        )
    else:
        fetch_line = (
            f"  1. run `nhsbook fetch {src.key} --mirror DIR`: copies it into the cache "
            f"from a folder that holds it (this dataset has no direct download URL: get "
            f"it from {src.publisher_url} and use a mirror);"
        )
    return (
        f"dataset {src.key!r} ({src.title}) is not available: expected {src.path}\n"
        f"  - {mirror_state};\n  - not in the cache {cache} (never fetched).\n"
        f"Get it either way:\n{fetch_line}\n"
        f"  2. or set {MIRROR_ENV} (or `nhsbook: mirror:` in _config.yml) to a folder that holds "
        f"{src.path}."
    )


def locate(
    key: str | Source,
    *,
    mirror: Path | str | None = None,
    cache: Path | str | None = None,
    registry: Mapping[str, Source] | None = None,
) -> Path:
    """The verified file of dataset ``key``: from the mirror if it is there, else from the cache.

    Raises :class:`MissingSource` (naming both remedies) if neither holds it and
    :class:`ChecksumMismatch` if the copy found is not the registered file.
    """
    src = _lookup(key, registry)
    mirror_root = Path(mirror).resolve() if mirror is not None else mirror_dir()
    origin = "the mirror argument" if mirror is not None else _mirror_origin()
    cache_root = Path(cache) if cache is not None else cache_dir()
    if mirror_root is not None:
        candidate = src.under(mirror_root)
        if candidate.is_file():
            found = verify(
                candidate,
                src,
                hint=f"The mirror {mirror_root} holds a different "
                "file: replace it, or point the mirror elsewhere.",
            )
            page_inputs.record(
                found
            )  # read natively by some readers (GDAL): nhsbook.core.page_inputs
            return found
    candidate = src.under(cache_root)
    if candidate.is_file():
        found = verify(candidate, src, hint=f"Run `nhsbook fetch {src.key}` to fetch it again.")
        page_inputs.record(found)
        return found
    raise MissingSource(
        _missing_message(src, mirror_root, cache_root, origin), key=src.key, path=src.path
    )


def status(
    key: str | Source,
    *,
    mirror: Path | str | None = None,
    cache: Path | str | None = None,
    registry: Mapping[str, Source] | None = None,
) -> str:
    """Where a dataset is: ``"mirror"``, ``"cache"``, ``"missing"`` or ``"corrupt"``."""
    src = _lookup(key, registry)
    try:
        path = locate(src, mirror=mirror, cache=cache)
    except MissingSource:
        return "missing"
    except ChecksumMismatch:
        return "corrupt"
    mirror_root = Path(mirror).resolve() if mirror is not None else mirror_dir()
    if mirror_root is not None and path == src.under(mirror_root):
        return "mirror"
    return "cache"


# --------------------------------------------------------------------------------- fetch


class _Bar:
    """A thin wrapper over rich.progress (or nothing when progress is off): one bar per file in
    bytes, plus a count of datasets when there are several."""

    def __init__(self, enabled: bool, total: int):
        self.progress = None
        self.overall = None
        self.total = total
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                MofNCompleteColumn,
                Progress,
                ProgressColumn,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            class Amount(ProgressColumn):  # bytes for files, "n/m" for the dataset count
                def __init__(self) -> None:
                    super().__init__()
                    self.bytes, self.count, self.speed = (
                        DownloadColumn(),
                        MofNCompleteColumn(),
                        TransferSpeedColumn(),
                    )

                def render(self, task: Any) -> Any:
                    if task.fields.get("unit") == "datasets":
                        return self.count.render(task)
                    return self.bytes.render(task) + " " + self.speed.render(task)

            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                Amount(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )

    def __enter__(self) -> "_Bar":
        if self.progress is not None:
            self.progress.__enter__()
            if self.total > 1:
                self.overall = self.progress.add_task("datasets", total=self.total, unit="datasets")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)

    def task(self, description: str, total: int | None) -> Any:
        return self.progress.add_task(description, total=total) if self.progress else None

    def advance(self, task: Any, n: int) -> None:
        if self.progress is not None and task is not None:
            self.progress.advance(task, n)

    def done(self, task: Any, message: str) -> None:
        if self.progress is not None:
            if task is not None:
                self.progress.remove_task(task)
            if self.overall is not None:
                self.progress.advance(self.overall, 1)
            if message:
                self.progress.console.print(message, highlight=False)


def _temp_beside(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(fd)
    return Path(name)


def _install(tmp: Path, target: Path, src: Source) -> Path:
    """Atomically move a verified temp file into place (keeping a verified file already there)."""
    if target.is_file():
        try:
            verify(target, src)
            tmp.unlink(missing_ok=True)  # someone else finished first: never overwrite a good copy
            return target
        except ChecksumMismatch:
            pass
    os.replace(tmp, target)
    _remember(target, src.sha256)
    return target


def _copy_from_mirror(src: Source, origin: Path, target: Path, bar: _Bar) -> Path:
    tmp = _temp_beside(target)
    try:
        task = bar.task(f"copy {src.key}", origin.stat().st_size)
        h = hashlib.sha256()
        with open(origin, "rb") as fin, open(tmp, "wb") as fout:
            while chunk := fin.read(CHUNK):
                h.update(chunk)
                fout.write(chunk)
                bar.advance(task, len(chunk))
        if h.hexdigest() != src.sha256:
            raise ChecksumMismatch(
                origin,
                src.sha256,
                h.hexdigest(),
                key=src.key,
                hint="The mirror holds a different file: nothing was copied.",
            )
        bar.done(task, f"copied {src.key} from the mirror")
        return _install(tmp, target, src)
    finally:
        tmp.unlink(missing_ok=True)


def _download(src: Source, target: Path, bar: _Bar, timeout: float) -> Path:
    url = src.download_url
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise DownloadError(f"{src.key}: only http(s) downloads are supported, got {url!r}")
    tmp = _temp_beside(target)
    gz_tmp: Path | None = None
    try:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        h = hashlib.sha256()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp, open(tmp, "wb") as out:
                length = resp.headers.get("Content-Length")
                size = int(length) if length and length.isdigit() else None
                task = bar.task(f"download {src.key}", size)
                while chunk := resp.read(CHUNK):
                    h.update(chunk)
                    out.write(chunk)
                    bar.advance(task, len(chunk))
        except urllib.error.HTTPError as exc:
            raise DownloadError(f"{src.key}: HTTP {exc.code} {exc.reason} from {url}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DownloadError(f"{src.key}: could not download {url}: {reason}") from exc
        got = h.hexdigest()
        hint = (
            f"Downloaded from {url}; the file there is not the registered copy. Use a mirror "
            f"({MIRROR_ENV} or --mirror DIR) that holds {src.path}."
        )
        if src.download_sha256 and got != src.download_sha256:
            raise ChecksumMismatch(url, src.download_sha256, got, key=src.key, hint=hint)
        final = tmp
        if src.download_gzip:
            gz = src.download_gzip
            gz_tmp = _temp_beside(target)
            with open(tmp, "rb") as fin, open(gz_tmp, "wb") as raw_out:
                with gzip.GzipFile(
                    filename=str(gz.get("filename", src.filename)),
                    mode="wb",
                    compresslevel=int(gz.get("compresslevel", 9)),
                    fileobj=raw_out,
                    mtime=int(gz.get("mtime", 0)),
                ) as zout:
                    while chunk := fin.read(CHUNK):
                        zout.write(chunk)
            final = gz_tmp
            hint = (
                f"The download from {url} matched, but gzip-compressing it here did not "
                f"reproduce the registered bytes (zlib {zlib.ZLIB_RUNTIME_VERSION}). "
                "Use a mirror."
            )
        actual = file_sha256(final)
        if actual != src.sha256:
            raise ChecksumMismatch(url, src.sha256, actual, key=src.key, hint=hint)
        bar.done(task, f"downloaded {src.key}")
        return _install(final, target, src)
    finally:
        tmp.unlink(missing_ok=True)
        if gz_tmp is not None:
            gz_tmp.unlink(missing_ok=True)


def _fetch_one(
    src: Source, mirror_root: Path | None, cache_root: Path, bar: _Bar, timeout: float
) -> tuple[Path, str]:
    target = src.under(cache_root)
    if target.is_file():
        try:
            verify(target, src)
            bar.done(None, "")
            return target, "present"
        except ChecksumMismatch:
            pass  # corrupt copy: fetch it again (replaced atomically below)
    if mirror_root is not None:
        origin = src.under(mirror_root)
        if origin.is_file():
            if origin.resolve() == target.resolve():
                raise ChecksumMismatch(
                    origin,
                    src.sha256,
                    file_sha256(origin),
                    key=src.key,
                    hint="The mirror is the cache folder itself.",
                )
            return _copy_from_mirror(src, origin, target, bar), "copied"
    if not src.download_url:
        where = (
            f"the mirror {mirror_root} does not hold {src.path}"
            if mirror_root is not None
            else "no mirror is set"
        )
        raise NotDownloadable(
            f"dataset {src.key!r} ({src.title}) has no direct download URL (the registered file "
            f"is a {src.copy or 'prepared'} copy) and {where}. Use a mirror: `nhsbook fetch "
            f"{src.key} --mirror DIR` or set {MIRROR_ENV} (or `nhsbook: mirror:` in _config.yml) "
            f"to a folder holding {src.path}. Publisher: {src.publisher_url}",
            key=src.key,
            path=src.path,
        )
    return _download(src, target, bar, timeout), "downloaded"


def _fetch(
    keys: Iterable[str] | None,
    mirror: Path | str | None,
    cache: Path | str | None,
    progress: bool,
    registry: Mapping[str, Source] | None,
    timeout: float,
) -> list[tuple[Source, Path, str]]:
    reg = _registry(registry)
    if keys is None:
        selected = list(reg.values())
    else:
        keys = [keys] if isinstance(keys, str) else list(keys)
        unknown = [k for k in keys if k not in reg]
        if unknown:
            raise UnknownSource(unknown, reg)
        selected = [reg[k] for k in dict.fromkeys(keys)]
    mirror_root = Path(mirror).resolve() if mirror is not None else mirror_dir()
    cache_root = Path(cache).resolve() if cache is not None else cache_dir()
    done: list[tuple[Source, Path, str]] = []
    errors: list[tuple[str, BaseException]] = []
    with _Bar(progress, len(selected)) as bar:
        for src in selected:
            try:
                path, action = _fetch_one(src, mirror_root, cache_root, bar, timeout)
                done.append((src, path, action))
            except (MissingSource, ChecksumMismatch, DownloadError, OSError) as exc:
                errors.append((src.key, exc))
    if len(errors) == 1:
        raise errors[0][1]
    if errors:
        raise FetchError(errors)
    return done


def fetch(
    keys: Iterable[str] | str | None = None,
    *,
    mirror: Path | str | None = None,
    cache: Path | str | None = None,
    progress: bool = True,
    registry: Mapping[str, Source] | None = None,
    timeout: float = DOWNLOAD_TIMEOUT,
) -> list[Path]:
    """Put datasets (all if ``keys`` is None) into the cache; returns their cache paths.

    A dataset already in the cache with the right sha256 is left alone. Otherwise (absent or
    corrupt) it is copied from the mirror (``mirror``, else the configured one) if that holds it,
    else downloaded from its ``download_url``; either way into a temporary file that is checked and
    then renamed into place. A dataset with no ``download_url`` needs a mirror
    (:class:`NotDownloadable`). Every dataset is attempted; one failure is re-raised as is, several
    as :class:`FetchError`.
    """
    return [path for _, path, _ in _fetch(keys, mirror, cache, progress, registry, timeout)]


# --------------------------------------------------------------------------------- CLI


def _list(reg: Mapping[str, Source], keys: list[str], mirror: Path | None, cache: Path) -> int:
    selected = [reg[k] for k in keys] if keys else list(reg.values())
    rows = [(s.key, s.licence, s.path, status(s, mirror=mirror, cache=cache)) for s in selected]
    head = ("key", "licence", "path", "present")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(3)]
    for r in [head, *rows]:
        print(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}")
    counts = {s: sum(r[3] == s for r in rows) for s in ("mirror", "cache", "missing", "corrupt")}
    print(
        f"\n{len(rows)} datasets: "
        + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        + f" (mirror: {mirror or 'none'}; cache: {cache})"
    )
    return 0 if not counts["corrupt"] else 1


def main(argv: list[str] | None = None) -> int:
    """``nhsbook fetch [KEY ...] [--mirror DIR] [--list]``."""
    parser = argparse.ArgumentParser(
        prog="nhsbook fetch",
        description="Get the external open datasets of data/sources.yml into the cache "
        f"(default build/cache/sources, or ${CACHE_ENV}): copied from an offline "
        f"mirror (--mirror, ${MIRROR_ENV} or _config.yml nhsbook.mirror) or "
        "downloaded, and checked against their sha256.",
    )
    parser.add_argument(
        "keys", nargs="*", metavar="KEY", help="dataset keys (default: every dataset)"
    )
    parser.add_argument(
        "--mirror", metavar="DIR", help="copy from this folder instead of downloading"
    )
    parser.add_argument(
        "--cache",
        metavar="DIR",
        help=f"cache folder (default: ${CACHE_ENV} or build/cache/sources)",
    )
    parser.add_argument(
        "--list",
        action="store_true",
        help="list the datasets (key, licence, path, whether present) and exit",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help or a usage error
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        reg = load_registry()
        unknown = [k for k in args.keys if k not in reg]
        if unknown:
            raise UnknownSource(unknown, reg)
        mirror = Path(args.mirror).resolve() if args.mirror else mirror_dir()
        cache = Path(args.cache).resolve() if args.cache else cache_dir()
        if args.mirror and not mirror.is_dir():
            print(f"nhsbook fetch: the mirror folder {mirror} does not exist", file=sys.stderr)
            return 2
        if args.list:
            return _list(reg, args.keys, mirror, cache)
        done = _fetch(args.keys or None, mirror, cache, not args.quiet, reg, DOWNLOAD_TIMEOUT)
    except UnknownSource as exc:
        print(f"nhsbook fetch: {exc}", file=sys.stderr)
        return 2
    except (RegistryError, ChecksumMismatch, FetchError, OSError) as exc:
        print(f"nhsbook fetch: {exc}", file=sys.stderr)
        return 1
    counts = {a: sum(d[2] == a for d in done) for a in ("copied", "downloaded", "present")}
    print(
        f"{len(done)} datasets in {cache}: {counts['copied']} copied from the mirror, "
        f"{counts['downloaded']} downloaded, {counts['present']} already there"
    )
    return 0


# --------------------------------------------------------------------------------- Data sources

_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
_TABLE_ESCAPE = re.compile(r"([\\`*_\[\]<>|~$])")
_PROSE_ESCAPE = re.compile(r"([\\`*_<>~$|])")


def _escape(text: str, table: bool) -> str:
    """Markdown-escape text, keeping `code spans` (inside which only | needs escaping in tables)."""
    text = " ".join(str(text).split()) if table else str(text)
    pattern = _TABLE_ESCAPE if table else _PROSE_ESCAPE
    out, pos = [], 0
    for m in _CODE_SPAN.finditer(text):
        out.append(pattern.sub(r"\\\1", text[pos : m.start()]))
        code = m.group(2).replace("|", "\\|") if table else m.group(2)
        out.append(f"{m.group(1)}{code}{m.group(1)}")
        pos = m.end()
    out.append(pattern.sub(r"\\\1", text[pos:]))
    escaped = "".join(out)
    return escaped if table else escaped.replace("](", "]\\(")


def _cell(text: str) -> str:
    return _escape(text, table=True)


def _prose(text: str) -> str:
    return _escape(text, table=False)


def _link(text: str, url: str, table: bool = True) -> str:
    if not url:
        return _escape(text, table)
    safe = urllib.parse.quote(url, safe=":/?#@!$&'*+,;=%-._~")
    return f"[{_escape(text, table)}](<{safe}>)"


def data_sources_markdown(
    registry: Mapping[str, Source] | None = None, licences: Mapping[str, Licence] | None = None
) -> str:
    """The registry part of the book's *Data sources* page (MyST markdown): a table of every
    dataset (publisher, licence, vintage and notes), where each copy came from, and each licence
    with its attribution texts as published."""
    reg = _registry(registry)
    lic = licences if licences is not None else load_licences()
    used = set(s.licence for s in reg.values())
    lines = [
        f"The book can read {len(reg)} external open datasets, listed in `data/sources.yml` with "
        "their publisher, licence, attribution and sha256. They are not part of the repository: "
        "`nhsbook fetch` copies them from an offline mirror or downloads them into "
        "`build/cache/sources`, and every file is checked against its sha256 before use.",
        "",
        "| Dataset | Publisher | Licence | Vintage and notes |",
        "|---|---|---|---|",
    ]
    for s in reg.values():
        licence = lic[s.licence].short if s.licence in lic else s.licence
        vintage = f"**{_cell(s.vintage)}**. " if s.vintage else ""
        lines.append(
            f"| {_cell(s.title)} (`{s.key}`) | {_link(s.publisher, s.publisher_url)} | "
            f"{_cell(licence)} | {vintage}{_cell(s.notes)} |"
        )
    lines += [
        "",
        "### Where the copies come from",
        "",
        "Each file was copied from a snapshot of a public GitHub repository, named below with its "
        "commit; the *copy* column says how the file relates to the file there.",
        "",
        "| Dataset | File | Copied from | Copy | sha256 |",
        "|---|---|---|---|---|",
    ]
    for s in reg.values():
        if s.via:
            via = f"{_link(f'{s.via.repo} @ {s.via.commit[:7]}', s.via.url)}: {_cell(s.via.path)}"
        else:
            via = ""
        lines.append(
            f"| `{s.key}` | {_cell(s.path)} | {via} | {_cell(s.copy)} | `{s.sha256[:12]}…` |"
        )
    lines += [
        "",
        "### Licences and attribution",
        "",
        "Keep these with any re-use of the data. Each dataset's full attribution is in "
        "`data/sources.yml`.",
        "",
    ]
    for key in sorted(used - set(lic)):
        lines += [f"#### {_prose(key)}", "", "(This licence is not described in the registry.)", ""]
    for key, li in lic.items():
        keys = [s.key for s in reg.values() if s.licence == key]
        if not keys:
            continue
        lines += [f"#### {_prose(li.name)}", ""]
        if li.url:
            lines += [f"Licence: <{li.url}>", ""]
        if li.covers:
            lines += [
                f"Covers {_prose(li.covers)} ({len(keys)} datasets: "
                + ", ".join(f"`{k}`" for k in keys)
                + ").",
                "",
            ]
        lines += ["Attribution:", ""]
        for text in li.attribution:
            lines += [f"> {_prose(text)}", ""]
        if li.additional_attribution:
            lines += ["Add:", ""]
            for text in li.additional_attribution:
                lines += [f"> {_prose(text)}", ""]
                users = [s.key for s in reg.values() if text in s.attribution]
                if users:
                    lines += [f"(for {', '.join(f'`{k}`' for k in users)})", ""]
        if li.notes:
            lines += [_prose(li.notes), ""]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
