"""Project housekeeping that keeps the two set-up commands true."""

from __future__ import annotations

import re
import tomllib

import yaml


def _names(specs):
    return {re.split(r"[<>=!\[ ]", s, maxsplit=1)[0].lower().replace("_", "-") for s in specs}


def test_environment_yml_matches_pyproject(root):
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    wanted = _names(
        project["dependencies"]
        + [d for extra in ("test", "lab") for d in project["optional-dependencies"][extra]]
    )
    env = yaml.safe_load((root / "environment.yml").read_text())
    conda = {d for d in env["dependencies"] if isinstance(d, str)}
    pip = [
        d
        for section in env["dependencies"]
        if isinstance(section, dict)
        for d in section.get("pip", [])
        if not d.startswith("-e")
    ]
    have = _names(conda | set(pip)) - {"python", "pip"}
    assert have == wanted


def test_readme_set_up_is_make_book_then_make_test(root):
    readme = (root / "README.md").read_text()
    assert readme.index("make book") < readme.index("make test")
    ci = (root / ".ci" / "run").read_text()
    assert "make test" in ci


def test_the_lock_pins_every_dependency_with_hashes(root):
    """requirements.lock (what `make install` installs, --require-hashes) pins each
    dependency of pyproject.toml and its test extra to one version, each with its hashes."""
    import re

    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    wanted = _names(project["dependencies"] + project["optional-dependencies"]["test"])
    text = (root / "requirements.lock").read_text()
    pins = re.findall(
        r"^([A-Za-z0-9_.\-]+)==(\S+) \\\n((?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)",
        text,
        flags=re.M,
    )
    pinned = _names(name for name, _, _ in pins)
    assert wanted <= pinned, sorted(wanted - pinned)
    lines = [line for line in text.splitlines() if re.match(r"^[A-Za-z0-9_.\-]+[=<>~!]", line)]
    assert len(lines) == len(pins)  # every requirement is pinned with ==, hashed
    makefile = (root / "Makefile").read_text()
    assert "--require-hashes -r requirements.lock" in makefile
