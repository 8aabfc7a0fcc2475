"""A small Sphinx extension for the book (``_config.yml``: ``sphinx.extra_extensions``).

jupyter-book 1.0.4 writes sphinx-thebe's configuration script twice into every page (a
theme's page-context handler adds it again after the other handlers have run), so browsers
log "Identifier 'THEBE_JS_URL' has already been declared".  When the HTML build finishes,
this extension removes repeated identical inline ``<script>`` elements from each page's head,
and names the navigation's chapter toggles (``<summary>`` without text) for screen readers.

It also carries the ``jupyter-book`` step of the test hook (:mod:`nhsbook.testhook`): with
``NHSBOOK_TEST_PAUSE=jupyter-book:<file>`` Sphinx pauses when it has written every page and
not yet its search index (the ``html-collect-pages`` event).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_INLINE = re.compile(r"^\s*<script>[^<]*</script>\s*$")


def dedupe_inline_scripts(text: str) -> str:
    """``text`` with second and later copies of identical one-line inline scripts removed
    (only before ``</head>``)."""
    head, sep, body = text.partition("</head>")
    seen: set[str] = set()
    lines = []
    for line in head.split("\n"):
        if _INLINE.match(line):
            key = line.strip()
            if key in seen:
                continue
            seen.add(key)
        lines.append(line)
    return "\n".join(lines) + sep + body


#: The theme's chapter toggles in the navigation have no text for screen readers.
_BARE_SUMMARY = '<summary><span class="toctree-toggle" role="presentation">'
_NAMED_SUMMARY = ('<summary aria-label="Show or hide this chapter\'s pages">'
                  '<span class="toctree-toggle" role="presentation">')


def _build_finished(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        fixed = dedupe_inline_scripts(text).replace(_BARE_SUMMARY, _NAMED_SUMMARY)
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")


def _test_pause(app):
    from . import testhook
    testhook.pause("jupyter-book")
    return []


def setup(app):
    app.connect("build-finished", _build_finished)
    if os.environ.get("NHSBOOK_TEST_PAUSE", "").startswith("jupyter-book:"):
        app.connect("html-collect-pages", _test_pause)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
