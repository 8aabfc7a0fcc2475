"""A small Sphinx extension for the book (``_config.yml``: ``sphinx.extra_extensions``).

jupyter-book 1.0.4 writes sphinx-thebe's configuration script twice into every page (a
theme's page-context handler adds it again after the other handlers have run), so browsers
log "Identifier 'THEBE_JS_URL' has already been declared".  When the HTML build finishes,
this extension removes repeated identical inline ``<script>`` elements from each page's head,
and names the navigation's chapter toggles (``<summary>`` without text) for screen readers.

Lighter, wider pages (:func:`_config_inited`, :func:`full_width`): the vega bundle is left
out of every page's head (the chart renderer loads it where a chart is drawn), notebook
sources are published only when the book sets ``publish_notebooks: true``, and area pages
have no secondary column.  No unused bundles (:func:`prune_static`, issue 26): the theme's
translation files, its Font Awesome script (the theme's CSS draws the same icons from the
web font) and the fonts no page uses are not published.

It also carries the ``jupyter-book`` step of the test hook (:mod:`nhsbook.build.testhook`): with
``NHSBOOK_TEST_PAUSE=jupyter-book:<file>`` Sphinx pauses when it has written every page and
not yet its search index (the ``html-collect-pages`` event).

Names are data: sphinx-book-theme 1.1 puts each page's title into the page as plain text
(``context["pagetitle"] = title.astext()``, written unescaped by ``<h1>{{ pagetitle }}</h1>``
of its print header; likewise ``root_title`` in the navigation), so a page titled by an area
name holding ``<script>`` would run it.  :func:`escape_titles` escapes those context values
after the theme has set them.  Sphinx 7.4's search page inserts each result's title with
``innerHTML``, also when the result was found by a section title, which the search index
holds as plain text: the published ``searchtools.js`` escapes those titles first
(:data:`SEARCH_FIXES`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from nhsbook.build import testhook
from nhsbook.core.escape import html
from nhsbook.core.safepath import remove_tree

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
_NAMED_SUMMARY = (
    '<summary aria-label="Show or hide this chapter\'s pages">'
    '<span class="toctree-toggle" role="presentation">'
)


#: Page-context values that sphinx-book-theme sets as plain text but its templates write as
#: HTML.
PLAIN_CONTEXT = ("pagetitle", "root_title", "page_description")


def escape_titles(app, pagename, templatename, context, doctree) -> None:
    """HTML-escape the theme's plain-text context values (:data:`PLAIN_CONTEXT`)."""
    for key in PLAIN_CONTEXT:
        value = context.get(key)
        if isinstance(value, str) and not hasattr(value, "__html__"):
            context[key] = html(value)


#: Sphinx 7.4's search script: a result found by a section title (the index's ``alltitles``,
#: plain text) is inserted with ``innerHTML`` like the document titles (``titles``, which
#: the index holds as HTML); the plain-text title is escaped first.
_ESCAPE_JS = (
    'const _nhsbookEscape = (s) => String(s).replace(/&/g, "&amp;")'
    '.replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")'
    ".replace(/'/g, \"&#39;\");  // nhsbook: names are data\n"
)
SEARCH_FIXES = (
    (
        "            titles[file] !== title ? `${titles[file]} > ${title}` : title,",
        "            titles[file] !== title ? `${titles[file]} > "
        "${_nhsbookEscape(title)}` : _nhsbookEscape(title),",
    ),
)


def fix_search_script(text: str) -> str:
    """Sphinx's ``searchtools.js`` with section titles escaped before they are inserted as
    HTML (:data:`SEARCH_FIXES`); raises ``RuntimeError`` if the script no longer has the
    line (a new Sphinx: check how it inserts result titles and update the fix)."""
    if _ESCAPE_JS in text:
        return text
    for old, new in SEARCH_FIXES:
        if old not in text:
            raise RuntimeError(
                f"searchtools.js has no {old.strip()!r}: check how this "
                "Sphinx inserts search result titles (nhsbook.build.sphinx_ext)"
            )
        text = text.replace(old, new)
    return _ESCAPE_JS + text


#: The theme's Font Awesome script: it swaps each ``<i class="fa-…">`` for an inline SVG,
#: which the theme's own stylesheet already draws from the Font Awesome web font (1.5 MB).
FONTAWESOME_JS = re.compile(
    r'[ \t]*<script defer src="[^"]*_static/scripts/fontawesome\.js'
    r'[^"]*"></script>\n?'
)
#: Font Awesome families by their CSS classes; a family no page uses is not published.
_FA_FAMILIES = {
    "fa-regular-400": re.compile(r'class="[^"]*\b(?:fa-regular|far)\b'),
    "fa-brands-400": re.compile(r'class="[^"]*\b(?:fa-brands|fab)\b'),
}
_FONT_FACE = re.compile(r"@font-face\{[^}]*\}")
_TTF = re.compile(r',url\([^)]*\.ttf\) format\("truetype"\)')


def prune_static(outdir: Path, pages: dict[Path, str]) -> None:
    """Remove what no page of the site loads (issue 26: "no unused bundles"): the theme's
    translation catalogues (``_static/locales``, read from the theme's package while
    building), Sphinx's template fragments copied with the theme, the Font Awesome script
    (:data:`FONTAWESOME_JS`; ``pages`` are updated without its ``<script>``), the TrueType
    copies of the web fonts (every browser that runs the site reads WOFF2) and the font
    families no page uses; the stylesheets name only the fonts kept."""
    static = outdir / "_static"
    if not static.is_dir():
        return
    locales = static / "locales"
    for path in sorted(locales.rglob("*"), reverse=True) if locales.is_dir() else []:
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        else:
            path.unlink()
    if locales.is_dir():
        locales.rmdir()
    for name in (
        "webpack-macros.html",
        "sbt-webpack-macros.html",
        "scripts/fontawesome.js",
        "scripts/fontawesome.js.LICENSE.txt",
    ):
        if (static / name).is_file():
            (static / name).unlink()
    for page, text in pages.items():
        pages[page] = FONTAWESOME_JS.sub("", text)
    unused = {
        family
        for family, used in _FA_FAMILIES.items()
        if not any(used.search(t) for t in pages.values())
    }
    fonts = static / "vendor" / "fontawesome" / "webfonts"
    for font in list(fonts.iterdir()) if fonts.is_dir() else []:
        if font.suffix == ".ttf" or font.stem in unused:
            font.unlink()
    for css in static.rglob("*.css"):
        text = css.read_text(encoding="utf-8")
        if "webfonts/fa-" not in text:
            continue
        fixed = _TTF.sub(
            "",
            _FONT_FACE.sub(
                lambda m: "" if any(f"webfonts/{f}." in m.group(0) for f in unused) else m.group(0),
                text,
            ),
        )
        if fixed != text:
            css.write_text(fixed, encoding="utf-8")


#: A part of the navigation with more pages than this (e.g. the practices) lists, on a page
#: outside it, its first page and a link to the areas index (which lists every area's
#: pages); on a page inside it, the pages within :data:`NAV_NEIGHBOURS` of the page.
NAV_PART_MAX = 12
NAV_NEIGHBOURS = 4
_NAV = re.compile(r'<nav class="bd-links bd-docs-nav".*?</nav>', re.S)
_NAV_PART = re.compile(
    r'<ul class="(current )?nav bd-sidenav">\n?(<li class="toctree-l1.*?)'
    r'</ul>(?=\s*(?:<p aria-level|</div>))',
    re.S,
)
_NAV_ITEM = re.compile(r'(?=<li class="toctree-l1)')
_AREAS_LINK = re.compile(r'<a class="reference internal" href="([^"]*index\.html)">Areas</a>')


def collapse_nav(text: str) -> str:
    """The page with each long part of the navigation sidebar (more than
    :data:`NAV_PART_MAX` pages, e.g. the 38 practices) shortened: every page of the book
    repeated every practice's link (1.5 MB of the default site).  Outside the part, its
    first page and a link to the areas index; inside it, the pages near this one, with the
    same link where pages are left out."""
    nav = _NAV.search(text)
    areas = _AREAS_LINK.search(nav.group(0)) if nav else None
    if not nav or not areas:
        return text

    def more(n: int) -> str:
        return (
            f'<li class="toctree-l1"><a class="reference internal" '
            f'href="{areas.group(1)}">… {n} more: see Areas</a></li>\n'
        )

    def part(m: re.Match) -> str:
        items = [i for i in _NAV_ITEM.split(m.group(2)) if i]
        if len(items) <= NAV_PART_MAX:
            return m.group(0)
        here = [i for i, item in enumerate(items) if "current" in item.split(">", 1)[0]]
        if not m.group(1) or not here:
            return f'<ul class="nav bd-sidenav">\n{items[0]}{more(len(items) - 1)}</ul>'
        lo, hi = max(0, here[0] - NAV_NEIGHBOURS), min(len(items), here[0] + NAV_NEIGHBOURS + 1)
        kept = (
            (more(lo) if lo else "")
            + "".join(items[lo:hi])
            + (more(len(items) - hi) if hi < len(items) else "")
        )
        return f'<ul class="current nav bd-sidenav">\n{kept}</ul>'

    return text[: nav.start()] + _NAV_PART.sub(part, nav.group(0)) + text[nav.end() :]


_INDENT = re.compile(r"\n[ \t]*(?:\n[ \t]*)*")


def strip_indentation(text: str) -> str:
    """The page without the indentation and blank lines of the theme's templates (a page
    with preformatted text is left as it is)."""
    if "<pre" in text or "<textarea" in text:
        return text
    return _INDENT.sub("\n", text)


def _build_finished(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    search = Path(app.outdir) / "_static" / "searchtools.js"
    if search.is_file():
        text = search.read_text(encoding="utf-8")
        fixed = fix_search_script(text)
        if fixed != text:
            search.write_text(fixed, encoding="utf-8")
    # the theme's source maps (about 3 MB) serve only a developer's browser tools
    for source_map in (Path(app.outdir) / "_static").rglob("*.map"):
        source_map.unlink()
    sources = Path(app.outdir) / "_sources"
    if not app.config.html_copy_source and sources.is_dir():  # MyST-NB copies notebooks
        # the build folder is <root>/build/jupyter-book/…
        remove_tree(sources, Path(app.srcdir).parent)
    pages = {page: page.read_text(encoding="utf-8") for page in Path(app.outdir).rglob("*.html")}
    texts = dict(pages)
    prune_static(Path(app.outdir), texts)
    for page, text in pages.items():
        fixed = dedupe_inline_scripts(texts[page]).replace(_BARE_SUMMARY, _NAMED_SUMMARY)
        fixed = strip_indentation(collapse_nav(fixed))
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")


#: Environment variable the build sets to ``1`` when the book publishes its notebooks
#: (``publish_notebooks: true``, :class:`nhsbook.config.book.BookConfig`).
PUBLISH_NOTEBOOKS_ENV = "NHSBOOK_PUBLISH_NOTEBOOKS"


def _config_inited(app, config) -> None:
    """Lighter pages: the vega bundle is not loaded by every page's head (jupyter-book adds
    every script of ``_static`` to ``html_js_files``; the chart renderer of
    :mod:`nhsbook.pages.renderer` loads the bundle on pages that draw a chart), and notebook sources
    (``_sources/``, the theme's .ipynb download) are published only when the book asks."""
    from nhsbook.pages.renderer import BUNDLE  # lazy: keeps pandas off this module's import

    config.html_js_files = [
        f
        for f in (config.html_js_files or [])
        if (f[0] if isinstance(f, (tuple, list)) else f) != BUNDLE
    ]
    publish = os.environ.get(PUBLISH_NOTEBOOKS_ENV) == "1"
    config.html_copy_source = publish
    config.html_show_sourcelink = False


#: The theme's download buttons that link into ``_sources/``.
SOURCE_BUTTONS = ("download-notebook-button", "download-source-button")


def drop_source_buttons(app, pagename, templatename, context, doctree) -> None:
    """Without published notebooks the theme's download menu keeps "print to PDF" only."""
    if app.config.html_copy_source:
        return
    for group in context.get("header_buttons") or []:
        if isinstance(group, dict) and isinstance(group.get("buttons"), list):
            group["buttons"] = [b for b in group["buttons"] if b.get("label") not in SOURCE_BUTTONS]


#: Pages drawn at the full content width: no secondary ("on this page") column.
FULL_WIDTH_PAGES = ("areas/",)


def full_width(app, pagename, templatename, context, doctree) -> None:
    """Area pages (profiles, maps, variation …) give the article the whole content width:
    their charts and tables need it more than the page's table of contents."""
    if pagename.startswith(FULL_WIDTH_PAGES):
        context["theme_secondary_sidebar_items"] = []


#: jupyter-book's extensions that are safe for Sphinx's parallel build but do not say so.
#: ``sphinx_multitoc_numbering`` only replaces ``TocTreeCollector.assign_section_numbers``,
#: which Sphinx calls in the main process after every page was read and merged; without the
#: flag Sphinx reads the whole book in one process ("doing serial read").
#: ``sphinx_jupyterbook_latex``'s read transforms change only the document being read (and
#: its config and builder-inited handlers act for the LaTeX builder only).
PARALLEL_SAFE = ("sphinx_multitoc_numbering", "sphinx_jupyterbook_latex")


def declare_parallel_safe(app) -> None:
    """Mark :data:`PARALLEL_SAFE` as safe for parallel reading and writing (every extension
    is loaded when the builder starts; Sphinx asks just before reading)."""
    for name in PARALLEL_SAFE:
        ext = app.extensions.get(name)
        if ext is not None:
            ext.parallel_read_safe = True
            ext.parallel_write_safe = True


def _test_pause(app):
    testhook.pause("jupyter-book")
    return []


def setup(app):
    app.connect("config-inited", _config_inited)
    app.connect("builder-inited", declare_parallel_safe)
    app.connect("build-finished", _build_finished)
    # before pydata-sphinx-theme resolves the secondary sidebar (priority 500)
    app.connect("html-page-context", full_width, priority=400)
    if os.environ.get("NHSBOOK_TEST_PAUSE", "").startswith("jupyter-book:"):
        app.connect("html-collect-pages", _test_pause)
    # after sphinx-book-theme's own handler (priority 500) has set the values
    app.connect("html-page-context", escape_titles, priority=900)
    app.connect("html-page-context", drop_source_buttons, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
