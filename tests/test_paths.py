"""Paths stay inside the project (issue 20): book names, area codes, notebook names and every
path of a book file are refused before anything is read, written or removed, and the only
deletion of the package (``safepath.remove_tree``) runs only under ``build/``."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nhsbook.build import book as build_mod
from nhsbook.build.book import BuildFailed, plan_pages
from nhsbook.config.book import load_book
from nhsbook.core import safepath
from nhsbook.core.safepath import UnsafePath, check_name, inside, remove_tree

ROOT = Path(__file__).resolve().parents[1]

GOOD = """\
name: {name}
title: A test book
loader: embedded
data: {data}
pages:
  - part: Areas
    area_types: [ccg]
    notebooks: [{notebook}]
"""


def _tree(folder: Path) -> set[str]:
    """Every path under ``folder`` (links not followed), to show that nothing was created."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.fixture()
def project(tmp_path, monkeypatch):
    """A throw-away project (``books/``, ``_config.yml``, ``data/``) beside a sentinel folder
    that a traversal would reach: ``<tmp>/sentinel`` is ``build/jupyter-book/../../../sentinel``
    of the project."""
    root = tmp_path / "project"
    (root / "books").mkdir(parents=True)
    (root / "data" / "default").mkdir(parents=True)
    (root / "_config.yml").write_text("title: test\n", encoding="utf-8")
    sentinel = tmp_path / "sentinel"
    sentinel.mkdir()
    (sentinel / "keep.txt").write_text("precious", encoding="utf-8")
    monkeypatch.setenv("NHSBOOK_ROOT", str(root))
    monkeypatch.setenv("NHSBOOK_MIRROR", str(tmp_path / "mirror"))
    return root, sentinel


def _book(root: Path, text: str, file: str = "evil.yml") -> Path:
    path = root / "books" / file
    path.write_text(text, encoding="utf-8")
    return path


def _assert_untouched(root: Path, sentinel: Path, before: set[str]) -> None:
    assert (sentinel / "keep.txt").read_text(encoding="utf-8") == "precious"
    assert _tree(root) == before, "something was created or removed in the project"


def test_a_good_book_loads(project):
    root, _ = project
    path = _book(
        root, GOOD.format(name="fine-book_1.0", data="data/default", notebook="jsna_profile")
    )
    cfg = load_book(str(path), root=root)
    assert cfg.name == "fine-book_1.0" and cfg.data == (root / "data" / "default").resolve()


def test_a_book_file_parsed_once_is_checked_at_every_load_and_read_again_when_changed(project):
    """Issue 26: a process parses a book file once while the file is unchanged (a page loads
    its book two or three times), but every load still checks every name and path, each
    caller gets its own copy, and a file rewritten with a bad path is refused."""
    import os

    root, sentinel = project
    path = _book(root, GOOD.format(name="once", data="data/default", notebook="jsna_profile"))
    first = load_book(str(path), root=root)
    first.population_comparator["evil"] = "changed in place"
    again = load_book(str(path), root=root)
    assert again == load_book(str(path), root=root) and again.page_sets
    assert "evil" not in again.population_comparator
    stat = path.stat()
    path.write_text(GOOD.format(name="once", data="../sentinel", notebook="jsna_profile"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the same time as before
    with pytest.raises(UnsafePath, match="data"):
        load_book(str(path), root=root)


# --- book files: name, data, notebooks, area codes, registry keys, opendata paths ----------

BAD_BOOKS = [
    # (what the book file says, what the error must say)
    (
        {"name": "../../../somewhere"},
        r"'name' '\.\./\.\./\.\./somewhere' contains a path "
        r"separator",
    ),
    ({"name": ".."}, r"'name' '\.\.' contains '\.\.'"),
    ({"name": "a/b"}, r"'name' 'a/b' contains a path separator"),
    ({"name": '"x\\n"'}, r"'name' 'x\\n' contains a control character"),
    ({"name": "a..b"}, r"'name' 'a\.\.b' contains '\.\.'"),
    ({"name": ".hidden"}, r"'name' '\.hidden' does not start with a letter or digit"),
    ({"name": "x" * 101}, r"'name' 'x+' is 101 characters long"),
    ({"name": "[a, b]"}, r"'name' must be text, got list"),
    ({"data": "../../etc"}, r"'data' '\.\./\.\./etc': '\.\.' contains '\.\.'"),
    (
        {"data": "/etc"},
        r"'data' '/etc' resolves to /etc, outside .*; expected a path inside "
        r"the project, the mirror or the book file.s folder",
    ),
    ({"data": "data/./default/../../../sentinel"}, r"'data' .*: '\.\.' contains '\.\.'"),
    (
        {"notebook": "../jsna_profile"},
        r"page set 1: notebook '\.\./jsna_profile' contains a "
        r"path separator",
    ),
    (
        {"notebook": "sub/jsna_profile"},
        r"page set 1: notebook 'sub/jsna_profile' contains a "
        r"path separator",
    ),
]


@pytest.mark.parametrize(
    "change,message",
    BAD_BOOKS,
    ids=[f"{next(iter(c))}={next(iter(c.values()))[:20]!r}" for c, _ in BAD_BOOKS],
)
def test_bad_names_and_paths_of_a_book_file_are_refused_first(project, change, message):
    root, sentinel = project
    fields = {"name": "ok", "data": "data/default", "notebook": "jsna_profile", **change}
    path = _book(root, GOOD.format(**fields))
    before = _tree(root)
    with pytest.raises(UnsafePath, match=message) as err:
        load_book(str(path), root=root)
    assert str(path) in str(err.value), "the error names the book file"
    _assert_untouched(root, sentinel, before)


def test_absolute_paths_outside_the_project_and_symlinks_out_are_refused(project):
    root, sentinel = project
    before = _tree(root)
    path = _book(root, GOOD.format(name="ok", data=sentinel, notebook="jsna_profile"))
    with pytest.raises(
        UnsafePath,
        match=rf"'data' '{re.escape(str(sentinel))}' resolves to "
        r".*sentinel, outside",
    ):
        load_book(str(path), root=root)
    # a link inside the project that leads out is followed, and refused
    (root / "data" / "link").symlink_to(sentinel)
    path.write_text(GOOD.format(name="ok", data="data/link", notebook="jsna_profile"))
    with pytest.raises(
        UnsafePath,
        match=r"'data' 'data/link' resolves to .*sentinel, "
        r"outside",
    ):
        load_book(str(path), root=root)
    (root / "data" / "link").unlink()
    _assert_untouched(root, sentinel, before | {"books/evil.yml"})


def test_the_mirror_is_an_allowed_root_for_data(project, tmp_path):
    root, _ = project
    (tmp_path / "mirror" / "x").mkdir(parents=True)
    path = _book(
        root, GOOD.format(name="ok", data=tmp_path / "mirror" / "x", notebook="jsna_profile")
    )
    assert load_book(str(path), root=root).data == (tmp_path / "mirror" / "x").resolve()


@pytest.mark.parametrize(
    "code,message",
    [
        ('"SYN04\\n"', r"area code 'SYN04\\n' contains a control character"),
        ('"../x"', r"area code '\.\./x' contains a path separator"),
        ('"a/b"', r"area code 'a/b' contains a path separator"),
        ('".."', r"area code '\.\.' contains '\.\.'"),
        ('"a\\\\b"', r"area code 'a\\\\b' contains a path separator"),
        ('"x y"', r"area code 'x y' contains ' '"),
    ],
)
def test_area_codes_listed_in_a_book_file_are_refused(project, code, message):
    root, sentinel = project
    path = _book(
        root,
        "name: ok\ntitle: t\nloader: embedded\ndata: data/default\npages:\n"
        f"  - part: Finance\n    areas: {{{code}: Somewhere}}\n"
        "    notebooks: [finance]\n",
    )
    before = _tree(root)
    with pytest.raises(UnsafePath, match=f"{re.escape(str(path))}: page set 1: {message}"):
        load_book(str(path), root=root)
    _assert_untouched(root, sentinel, before)


def test_comparator_source_and_opendata_paths_are_checked(project):
    root, sentinel = project
    head = "name: ok\ntitle: t\nloader: opendata\ndata: books/evil.yml\n"
    cases = [
        (
            "population_comparator: {name: X, source: ../../x}\n",
            r"'population_comparator: source' \(a registry key\) '\.\./\.\./x' contains a path "
            r"separator",
        ),
        (
            "opendata: {ccg_code: all, directory: ../../sentinel}\n",
            r"'opendata: directory' '\.\./\.\./sentinel': '\.\.' contains '\.\.'",
        ),
        (
            f"opendata: {{ccg_code: all, directory: {sentinel}}}\n",
            r"'opendata: directory' .* outside",
        ),
        (
            "opendata: {ccg_code: all, files: {qof_prevalence: /etc/passwd}}\n",
            r"'opendata: files: qof_prevalence' '/etc/passwd' resolves to /etc/passwd, outside",
        ),
    ]
    for body, message in cases:
        path = _book(root, head + body)
        before = _tree(root)
        with pytest.raises(UnsafePath, match=message):
            load_book(str(path), root=root)
        _assert_untouched(root, sentinel, before)


def test_a_book_reference_that_is_not_a_name_is_refused(project):
    root, sentinel = project
    with pytest.raises(
        UnsafePath,
        match=r"book name \(books/<name>\.yml\) '\.\./\.\./x' "
        r"contains a path separator",
    ):
        load_book("../../x", root=root)


# --- build --force with a crafted book -----------------------------------------------------


def test_build_force_with_a_traversing_name_deletes_nothing_outside(project, monkeypatch, capsys):
    """``name: ../../../sentinel`` makes ``build/jupyter-book/<name>`` the sentinel folder
    and ``build/<name>`` a folder beside the project: the build stops in ``load_book``, before
    the gate, with the project and the sentinel exactly as they were."""
    root, sentinel = project
    assert (root / "build" / "jupyter-book" / "../../../sentinel").resolve() == sentinel.resolve()
    _book(root, GOOD.format(name="../../../sentinel", data="data/default", notebook="jsna_profile"))
    before = _tree(root)

    def gate(*_a, **_k):
        raise AssertionError("the gate ran with an unsafe book")

    monkeypatch.setattr(build_mod, "validate_inputs", gate)
    monkeypatch.setattr(build_mod.inc, "gate_key", gate)
    for _ in range(2):  # the reported attack needed a second build
        with pytest.raises(
            UnsafePath, match="'name' '../../../sentinel' contains a path separator"
        ):
            build_mod.build("evil", force=True)
    _assert_untouched(root, sentinel, before)

    from nhsbook.cli import main

    assert main(["build", "--book", "evil", "--force"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nhsbook build: ") and "Traceback" not in err
    assert "evil.yml: 'name' '../../../sentinel' contains a path separator" in err
    _assert_untouched(root, sentinel, before)


# --- codes from data, at plan time -----------------------------------------------------------


@pytest.mark.parametrize(
    "code,message",
    [
        ("SYN04\n", "contains a control character"),
        ("../x", "contains a path separator"),
        ("a/b", "contains a path separator"),
        ("..", "contains '..'"),
    ],
)
def test_area_codes_from_data_are_refused_at_plan_time(computed, default_book, code, message):
    areas = computed["areas"].copy()
    areas.loc[areas["area_code"] == "ND-DRO", "area_code"] = code
    with pytest.raises(BuildFailed, match=re.escape(f"area code {code!r} {message}")) as err:
        plan_pages(default_book, areas)
    assert "row 4 of the area table: locality 'Dronfield'" in str(err.value)


def test_a_code_from_data_is_reported_with_its_file_and_line(tmp_path, computed, monkeypatch):
    """The input file and line holding the bad code are named (here a quoted field with a
    newline, which the CSV reader reads as ``SYN04\\n``)."""
    root = tmp_path / "project"
    shutil.copytree(ROOT / "data" / "default", root / "data" / "default")
    (root / "books").mkdir()
    areas_csv = root / "data" / "default" / "areas.csv"
    lines = areas_csv.read_text(encoding="utf-8").splitlines(keepends=True)
    row = next(i for i, line in enumerate(lines) if line.startswith("ND-DRO,"))
    lines[row] = lines[row].replace("ND-DRO,", '"SYN04\n",', 1)
    areas_csv.write_text("".join(lines), encoding="utf-8")
    book = _book(
        root,
        GOOD.format(name="ok", data="data/default", notebook="jsna_profile").replace(
            "[ccg]", "[ccg, locality]"
        ),
    )
    cfg = load_book(str(book), root=root)
    areas = computed["areas"].copy()
    areas.loc[areas["area_code"] == "ND-DRO", "area_code"] = "SYN04\n"
    with pytest.raises(BuildFailed) as err:
        plan_pages(cfg, areas)
    assert f"{areas_csv}: line {row + 1}: area code 'SYN04\\n' contains a control character" in str(
        err.value
    )


def test_run_notebook_and_csv_downloads_refuse_unsafe_names(tmp_path):
    from nhsbook.pages import area as pages

    with pytest.raises(UnsafePath, match=r"area code '\.\./\.\./x' contains a path separator"):
        build_mod.run_notebook("jsna_profile", "../../x", "X", "default", str(tmp_path))
    import pandas as pd

    with pytest.raises(UnsafePath, match=r"CSV name '\.\./x' contains a path separator"):
        pages.publish_csv(pd.DataFrame({"a": [10]}), "SYN01", "../x")
    with pytest.raises(UnsafePath, match=r"area code of t\.csv 'SYN01\\n' contains a control"):
        pages.publish_csv(pd.DataFrame({"a": [10]}), "SYN01\n", "t")
    assert not any(tmp_path.iterdir())


def test_a_state_file_naming_files_outside_deletes_nothing(project):
    root, sentinel = project
    from nhsbook.build import incremental as inc

    path = _book(root, GOOD.format(name="ok", data="data/default", notebook="jsna_profile"))
    cfg = load_book(str(path), root=root)
    state = inc.PageState(
        root,
        {
            "SYN01/jsna_profile": {"wrote": [str(sentinel / "keep.txt")]},
            "../../../sentinel/keep": {},
        },
    )
    for page_id in state.pages:
        with pytest.raises(
            BuildFailed, match="names files outside the book and build folders.*nothing was deleted"
        ):
            build_mod._remove_page_outputs(cfg, page_id, state)
    assert (sentinel / "keep.txt").read_text() == "precious"


# --- remove_tree: the only deletion ------------------------------------------------------


def test_remove_tree_deletes_under_build_without_following_links(tmp_path):
    root, sentinel = tmp_path / "p", tmp_path / "sentinel"
    (sentinel).mkdir()
    (sentinel / "keep.txt").write_text("precious")
    folder = root / "build" / "jupyter-book" / "default"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "f.txt").write_text("x")
    (folder / "out").symlink_to(sentinel)  # a link inside the tree is removed, not followed
    assert remove_tree(folder, root) is True
    assert not folder.exists() and (sentinel / "keep.txt").read_text() == "precious"
    assert remove_tree(folder, root) is False  # nothing left to delete
    generated = root / "book" / "areas"
    generated.mkdir(parents=True)
    assert remove_tree(generated, root) and not generated.exists()


def test_remove_tree_refuses_a_symlink_in_build_pointing_outside(tmp_path):
    root, sentinel = tmp_path / "p", tmp_path / "sentinel"
    sentinel.mkdir()
    (sentinel / "keep.txt").write_text("precious")
    (root / "build" / "jupyter-book").mkdir(parents=True)
    link = root / "build" / "jupyter-book" / "evil"
    link.symlink_to(sentinel)
    with pytest.raises(
        UnsafePath,
        match=rf"refusing to delete {re.escape(str(link))}: it is "
        r"a symbolic link \(to .*sentinel\)",
    ):
        remove_tree(link, root, ignore_errors=True)
    # a link on the way: build/sites -> the sentinel, then build/sites/<old site>
    (sentinel / "old").mkdir()
    (root / "build" / "sites").symlink_to(sentinel)
    with pytest.raises(
        UnsafePath,
        match=r"it resolves to .*sentinel/old, outside the "
        r"project's build/ folder",
    ):
        remove_tree(root / "build" / "sites" / "old", root)
    assert (sentinel / "keep.txt").read_text() == "precious" and (sentinel / "old").is_dir()


@pytest.mark.parametrize(
    "rel",
    [
        "build",
        ".",
        "..",
        "book",
        "book/_static",
        "book/_extra",
        "data",
        "build/../data",
        "build/x/../../book",
        "../sentinel",
        "book/areas/SYN01",
    ],
)
def test_remove_tree_refuses_everything_but_build_and_the_generated_folders(tmp_path, rel):
    root = tmp_path / "p"
    for folder in ("build/x", "book/_static", "book/_extra/data", "book/areas/SYN01", "data"):
        (root / folder).mkdir(parents=True)
    (tmp_path / "sentinel").mkdir()
    before = _tree(tmp_path)
    with pytest.raises(
        UnsafePath,
        match="refusing to delete .*: it is not under the "
        "project's build/ folder nor a generated folder",
    ):
        remove_tree(root / rel, root)
    assert _tree(tmp_path) == before


def test_the_package_deletes_folders_only_through_remove_tree():
    """``shutil.rmtree`` appears in one module of the package: safepath."""
    callers = sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "nhsbook").rglob("*.py")
        if "rmtree(" in p.read_text(encoding="utf-8")
    )
    assert callers == ["nhsbook/core/safepath.py"]


# --- the name pattern ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["E38000229", "SYN04", "5N7", "DERBYSHIRE-CLUSTER", "derbyshire-2021", "a.b_c-d", 2021]
)
def test_safe_names(value):
    assert check_name(value, "x") == str(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        ".",
        "..",
        "a..b",
        "-a",
        "_a",
        ".a",
        "a/b",
        "a\\b",
        "SYN04\n",
        "\nSYN04",
        "a\x00b",
        "a\tb",
        "a\u200bb",
        "é",
        "x" * 101,
        None,
        1.5,
        True,
        ["a"],
    ],
)
def test_unsafe_names(value):
    assert not safepath.is_safe_name(value)
    with pytest.raises(UnsafePath, match="expected letters, digits"):
        check_name(value, "x", "f.yml", 3)


def test_inside_follows_links_and_dotdot(tmp_path):
    (tmp_path / "root" / "a").mkdir(parents=True)
    (tmp_path / "out").mkdir()
    (tmp_path / "root" / "link").symlink_to(tmp_path / "out")
    root = tmp_path / "root"
    assert inside(root / "a", root) and inside(root, root)
    assert inside(root / "not-yet" / "x", root)
    assert not inside(root / ".." / "out", root)
    assert not inside(root / "link" / "x", root)
    assert inside(root / "link", root, None, tmp_path / "out")
    assert not inside(os.sep, root)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet="aZ09._-/\\\n\x00 ", max_size=12)))
def test_property_a_name_that_passes_is_one_folder_inside_its_parent(value):
    """Property: any text either is refused or names exactly one new entry of its parent
    (never the parent itself, never above it, never split by a separator or a newline)."""
    parent = Path("/project/build")
    try:
        name = check_name(value, "x")
    except UnsafePath:
        return
    child = parent / name
    assert child.parent == parent and child.name == name == value
    assert os.path.normpath(child) == str(child) and len(name) <= safepath.MAX_NAME
    assert name.isascii() and name.isprintable() and ".." not in name


def test_the_pattern_is_anchored_at_the_very_end():
    """``$`` matches before a final newline, so ``^…$`` let ``SYN04\\n`` through."""
    assert safepath.SAFE_NAME.match("SYN04") and not safepath.SAFE_NAME.match("SYN04\n")
    assert build_mod.SAFE_CODE is safepath.SAFE_NAME
