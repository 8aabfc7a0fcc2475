"""Paths stay inside the project: safe names, containment proofs and the one deletion.

A book's ``name``, its area codes, its notebook names and the registry keys it names become
folder and file names (``build/<name>/``, ``build/jupyter-book/<name>/``,
``book/areas/<code>/<notebook>.ipynb``, ``book/_extra/data/<code>/<table>.csv``, the state
files of ``build/state/``).  Each must be a **safe name** (:data:`SAFE_NAME`): letters,
digits, ``.``, ``-`` and ``_``, starting with a letter or digit, no ``..`` anywhere, at most
:data:`MAX_NAME` characters; so no separator, no control character (a trailing newline
included: the pattern is anchored with ``\\A…\\Z``, not ``^…$``), never ``.`` or ``..``.

Every path a book file gives (``data:``, ``opendata: directory:`` and ``files:``) is
checked by :func:`check_path`: relative paths are made of safe names only, and the resolved
path (symbolic links followed) must lie under one of the allowed roots (the project, the
mirror, the book file's own folder), proved by :func:`inside`.

:func:`remove_tree` is the only place the package calls :func:`shutil.rmtree`.  It refuses
unless the path, both as written and resolved, lies **strictly under** ``<project>/build/``
or is exactly one of the generated folders of ``book/`` (:data:`GENERATED_BOOK_FOLDERS`),
and refuses a symbolic link (wherever it points).  Inside the tree, ``shutil.rmtree``
removes symbolic links without following them (``shutil.rmtree.avoids_symlink_attacks`` on
Linux).
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from pathlib import Path

#: A name that is safe as one folder or file name on every platform the book builds on.
SAFE_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]*\Z")
#: Longest safe name (file systems allow 255 bytes; ``<name>-<pid>-<time>`` and suffixes
#: are added to some).
MAX_NAME = 100
#: What a safe name is, for error messages.
EXPECTED = (
    f"letters, digits, '.', '-' and '_' only, starting with a letter or digit, "
    f"no '..', at most {MAX_NAME} characters"
)

#: Folders of ``book/`` that hold build outputs only (papermill's notebooks, chart files and
#: CSV downloads) and that :func:`nhsbook.build.book.build` empties when it has no record of what
#: they hold (``--force``, or no ``build/state/pages.json``).  Everything else under ``book/``
#: is a source (``_landing.md``, ``methods.md``, ``_static/``) and is never deleted.
GENERATED_BOOK_FOLDERS = ("areas", "_extra/data", "_extra/charts")


class UnsafePath(ValueError):
    """A name or path from a book file or its data would leave the project (or is not a
    safe file name); the message names the file, key or line and what was expected."""


def _where(what: str, file: object = None, line: int | None = None) -> str:
    where = f"{file}: " if file else ""
    if line is not None:
        where += f"line {line}: "
    return where + what


def _reason(text: str) -> str | None:
    """Why ``text`` is not a safe name (``None`` when it is)."""
    if not text:
        return "is empty"
    if any(unicodedata.category(c).startswith("C") for c in text):
        return "contains a control character"
    if "/" in text or "\\" in text:
        return "contains a path separator"
    if ".." in text:
        return "contains '..'"
    if len(text) > MAX_NAME:
        return f"is {len(text)} characters long"
    if not SAFE_NAME.match(text):
        bad = sorted({c for c in text if not (c.isascii() and (c.isalnum() or c in "._-"))})
        if bad:
            return "contains " + ", ".join(repr(c) for c in bad)
        return "does not start with a letter or digit"
    return None


def is_safe_name(value: object) -> bool:
    """True when ``value`` (text, or an integer) is a safe name (see :func:`check_name`)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return False
    return _reason(str(value)) is None


def check_name(value: object, what: str, file: object = None, line: int | None = None) -> str:
    """``value`` as text when it is a safe name, else :class:`UnsafePath` naming ``file``,
    ``line`` and ``what`` (e.g. ``"'name'"``, ``"area code"``), why, and what is expected.

    A safe name matches :data:`SAFE_NAME` (``\\A[A-Za-z0-9][A-Za-z0-9._-]*\\Z``), holds no
    ``..`` and is at most :data:`MAX_NAME` characters: so no separator, no control character
    (``'SYN04\\n'`` is refused), never ``.`` or ``..``.  Integers (YAML reads ``name: 2021``
    as one) are taken as their digits; other types are refused."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise UnsafePath(
            _where(
                f"{what} must be text, got {type(value).__name__} {value!r}; expected {EXPECTED}",
                file,
                line,
            )
        )
    text = str(value)
    reason = _reason(text)
    if reason:
        raise UnsafePath(_where(f"{what} {text!r} {reason}; expected {EXPECTED}", file, line))
    return text


def _resolved(path: Path | str) -> Path:
    return Path(os.path.abspath(os.path.expanduser(str(path)))).resolve()


def _under(path: Path, root: Path, strictly: bool = False) -> bool:
    return (not strictly and path == root) or root in path.parents


def inside(path: Path | str, *roots: Path | str | None) -> bool:
    """True when ``path``, resolved (``..`` removed and symbolic links followed, also of
    folders that do not exist yet), is one of ``roots`` (resolved alike) or lies under one.
    ``None`` roots are ignored (e.g. no mirror)."""
    target = _resolved(path)
    return any(_under(target, _resolved(r)) for r in roots if r is not None)


def check_path(
    value: object,
    what: str,
    *,
    base: Path,
    roots: list[Path | None],
    file: object = None,
    allowed: str = "the project or the mirror",
) -> Path:
    """The resolved path of a path given by a book file (``data:``, ``opendata:
    directory:``…), else :class:`UnsafePath` naming ``file`` and ``what``.

    A relative ``value`` is taken from ``base`` (the project root) and must be made of safe
    names (:func:`check_name`: so no ``..``, no control character); absolute or relative,
    the resolved path must lie under one of ``roots`` (:func:`inside`)."""
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise UnsafePath(_where(f"{what} must be a path, got {value!r}", file))
    text = str(value)
    if any(unicodedata.category(c).startswith("C") for c in text):
        raise UnsafePath(_where(f"{what} {text!r} contains a control character", file))
    path = Path(os.path.expanduser(text))
    if not path.is_absolute():
        for part in Path(text).parts:
            if _reason(part):
                raise UnsafePath(
                    _where(
                        f"{what} {text!r}: {part!r} {_reason(part)}; a relative path is made of "
                        f"names of {EXPECTED} (taken from the project root {base})",
                        file,
                    )
                )
        path = base / path
    if not inside(path, *roots):
        real = [_resolved(r) for r in roots if r is not None]
        shown = list(
            dict.fromkeys(str(r) for r in real if not any(o != r and o in r.parents for o in real))
        )
        raise UnsafePath(
            _where(
                f"{what} {text!r} resolves to {_resolved(path)}, outside "
                f"{' and '.join(shown)}; expected a path inside {allowed}",
                file,
            )
        )
    return _resolved(path)


def deletable(path: Path | str, root: Path | str) -> str | None:
    """Why :func:`remove_tree` would refuse ``path`` for the project ``root`` (``None``
    when it may be removed)."""
    path, root = Path(path), Path(root)
    build = root / "build"
    book = [root / "book" / f for f in GENERATED_BOOK_FOLDERS]

    def allowed(p: Path, b: Path, generated: list[Path]) -> bool:
        return _under(p, b, strictly=True) or p in generated

    lexical = Path(os.path.abspath(path))
    if not allowed(lexical, Path(os.path.abspath(build)), [Path(os.path.abspath(g)) for g in book]):
        return "it is not under the project's build/ folder nor a generated folder of book/"
    if path.is_symlink():
        return f"it is a symbolic link (to {os.readlink(path)})"
    if not allowed(_resolved(path), _resolved(build), [_resolved(g) for g in book]):
        return (
            f"it resolves to {_resolved(path)}, outside the project's build/ folder "
            f"{_resolved(build)} (a symbolic link on the way)"
        )
    return None


def remove_tree(path: Path | str, root: Path | str, *, ignore_errors: bool = False) -> bool:
    """Delete the folder ``path`` of the project ``root`` (``shutil.rmtree``) once it is
    proved to lie strictly under ``<root>/build/`` — as written and resolved, with no
    symbolic link on the way — or to be one of :data:`GENERATED_BOOK_FOLDERS` of
    ``<root>/book/``; raises :class:`UnsafePath` otherwise (also with ``ignore_errors``,
    which only ignores errors of the deletion itself).  Returns False when there was
    nothing to delete."""
    why = deletable(path, root)
    if why:
        raise UnsafePath(
            f"refusing to delete {path}: {why}; nhsbook only deletes folders "
            f"under {Path(root) / 'build'} and the generated folders "
            f"{', '.join('book/' + f for f in GENERATED_BOOK_FOLDERS)}"
        )
    if not os.path.lexists(path):
        return False
    shutil.rmtree(path, ignore_errors=ignore_errors)
    return True
