"""The stakeholder website's own machinery: charts that draw offline, with a static image and
their data beside each.

* :func:`write_vega_bundle` writes vega, vega-lite and vega-embed as one local script
  (``vl_convert.javascript_bundle``) into the book's ``_static`` folder; ``_config.yml`` loads
  it on every page (``html_js_files``), so no chart needs a CDN.
* The Altair renderer ``nhsbook`` (enabled by :func:`enable_renderer`, which
  :mod:`nhsbook.pages` calls when a page is built by nhsbook) draws each chart into an
  accessible ``<figure>`` named (``aria-label``) by the chart's title and description (vega
  also labels the SVG it draws from the description), the caption repeats the description in text, and
  links to the chart's static SVG (vl-convert) and its data as CSV, both written to
  ``_extra/charts/<area>/<notebook>-<n>.{svg,csv}``.  The CSV is checked for counts 1-4 before
  it is written (:func:`nhsbook.pages.disclosive_cells`).

A notebook opened by hand in Jupyter (no ``NHSBOOK_PAGE`` in the environment) keeps Altair's
default renderer.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import pandas as pd

from . import escape

#: File name of the local vega bundle inside the book's ``_static``.
BUNDLE = "nhsbook-vega.js"
#: Environment of a notebook run by the build: ``<area code>/<notebook>`` and the folder that
#: becomes the site's root (``book/_extra``).
PAGE_ENV, EXTRA_ENV = "NHSBOOK_PAGE", "NHSBOOK_EXTRA"

_counter = itertools.count(1)


def reset_page() -> None:
    """Start chart numbering again for a new page (a warm kernel runs many pages)."""
    global _counter
    _counter = itertools.count(1)


def write_vega_bundle(static_dir: Path) -> Path:
    """Write the vega/vega-lite/vega-embed bundle once (reused while its version is the same)."""
    import vl_convert as vlc

    static_dir.mkdir(parents=True, exist_ok=True)
    path = static_dir / BUNDLE
    stamp = static_dir / (BUNDLE + ".version")
    version = f"vl-convert {vlc.__version__}"
    if path.is_file() and stamp.is_file() and stamp.read_text() == version:
        return path
    # the bundle declares top-level constants (e.g. `_`) that clash with the theme's scripts
    # in the shared global scope: run it in its own function scope; it sets window.vegaEmbed
    path.write_text("(function () {\n" + vlc.javascript_bundle() + "\n})();\n",
                    encoding="utf-8")
    stamp.write_text(version)
    return path


def chart_text(spec: dict) -> tuple[str, str]:
    """The chart's title and description, for its ``aria-label`` and caption."""
    title = spec.get("title", "")
    if isinstance(title, dict):
        title = title.get("text", "")
    if isinstance(title, list):
        title = " ".join(title)
    return str(title or ""), str(spec.get("description", "") or "")


def chart_table(spec: dict) -> pd.DataFrame:
    """The chart's main data (its largest inline dataset) as a table, with the column names
    of ``usermeta.csv_columns`` when the chart gives them."""
    datasets = spec.get("datasets") or {}
    if not datasets:
        values = (spec.get("data") or {}).get("values") or []
        datasets = {"data": values}
    main = max(datasets.values(), key=len) if datasets else []
    table = pd.DataFrame(main)
    names = (spec.get("usermeta") or {}).get("csv_columns") or {}
    return table.rename(columns=names)


def _write_files(spec: dict, page: str, extra: Path, n: int) -> tuple[str, str]:
    """Write the chart's SVG and CSV; return their site paths relative to the page."""
    import vl_convert as vlc

    from .pages import disclosive_cells
    from .safepath import check_name

    code, notebook = page.split("/", 1)
    check_name(code, f"area code of {PAGE_ENV}")
    check_name(notebook, f"notebook of {PAGE_ENV}")
    folder = extra / "charts" / code
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{notebook}-{n}"
    table = chart_table(spec)
    hits = disclosive_cells(table)
    if hits:
        raise ValueError(f"chart {n} of {page}: its data hold counts from 1 to 4 "
                         f"(e.g. row {hits[0][0]}, column {hits[0][1]!r}); suppress them "
                         "before charting")
    escape.csv_frame(table).to_csv(folder / f"{stem}.csv", index=False)  # formula guard
    (folder / f"{stem}.svg").write_text(vlc.vegalite_to_svg(escape.vega_spec(spec)),
                                         encoding="utf-8")
    rel = f"../../charts/{escape.html(code)}/{escape.html(stem)}"
    return rel + ".svg", rel + ".csv"


def render(spec: dict, **_: object) -> dict[str, str]:
    """Altair renderer: an accessible figure drawn by the local vega bundle (see module)."""
    n = next(_counter)
    title, description = chart_text(spec)
    label = ". ".join(t for t in (title, description) if t) or "Chart"
    page, extra = os.environ.get(PAGE_ENV), os.environ.get(EXTRA_ENV)
    links = ""
    if page and extra:
        svg, csv = _write_files(spec, page, Path(extra), n)
        links = (f' <a href="{svg}" download>Chart as SVG</a> · '
                 f'<a href="{csv}" download>Chart data as CSV</a>')
    div = f"nhsbook-chart-{os.getpid()}-{n}"
    options = {"renderer": "svg", "actions": {"export": True, "source": False,
                                              "compiled": False, "editor": False}}
    # names travel as data: JSON inside the script, with no "<" at all (so neither "</script"
    # nor "<!--" can end or confuse the script element); vega draws them as text
    payload = json.dumps(spec, separators=(",", ":")).replace("<", "\\u003c")
    caption = escape.html(description or title)
    from .definitions import chart_links   # the definitions of the indicators it shows
    defs = chart_links(chart_table(spec))
    if defs:
        links += f" {defs}"
    return {"text/html": (
        f'<figure class="nhsbook-chart" aria-label="{escape.html(label)}">'
        f'<div id="{div}"></div>'
        f'<figcaption>{caption}{links}</figcaption>'
        f'<script type="text/javascript">(function () {{'
        f'var spec = {payload}; var opts = {json.dumps(options)};'
        f'function draw() {{ vegaEmbed("#{div}", spec, opts).then(function () {{ '
        f'var s = document.querySelector("#{div} details > summary");'
        f'if (s) {{ s.setAttribute("aria-label", "Chart actions: save as SVG or PNG"); }}'
        f'}}).catch(function (e) {{ console.error("chart {n}: " + e); }}); }}'
        f'if (window.vegaEmbed) {{ draw(); }} else {{ window.addEventListener("load", draw); }}'
        f'}})();</script></figure>')}


def enable_renderer() -> None:
    """Use the ``nhsbook`` renderer when the notebook runs inside a build."""
    import altair as alt

    if "nhsbook" not in alt.renderers.names():
        alt.renderers.register("nhsbook", render)
    if os.environ.get(PAGE_ENV):
        alt.renderers.enable("nhsbook")
        alt.data_transformers.disable_max_rows()
