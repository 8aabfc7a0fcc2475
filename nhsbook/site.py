"""The stakeholder website's own machinery: charts that draw offline, with a static image and
their data beside each.

* :func:`write_vega_bundle` writes vega, vega-lite and vega-embed as one local script
  (``vl_convert.javascript_bundle``) into the book's ``_static`` folder; ``_config.yml`` loads
  it on every page (``html_js_files``), so no chart needs a CDN.
* The Altair renderer ``nhsbook`` (enabled by :func:`enable_renderer`, which
  :mod:`nhsbook.pages` calls when a page is built by nhsbook) draws each chart into an
  accessible ``<figure>`` named (``aria-label``) by the chart's title and description (vega
  also labels the SVG it draws from the description), the caption repeats the description in text, and
  offers the chart as SVG (drawn by vega in the reader's browser, from the chart the reader
  sees) and its data as CSV, written to ``_extra/charts/<area>/<notebook>-<n>.csv``.  The CSV is
  checked for counts 1-4 before it is written (:func:`nhsbook.model.disclosive_cells`).
* Beside the CSV the renderer keeps the chart's Vega-Lite spec (``<notebook>-<n>.vl.json``,
  never published: ``_config.yml`` excludes it): the PDF reports draw the few charts they
  show from it (:func:`nhsbook.report.chart_svg`, cached by content).  No page draws a static
  SVG of every chart any more: that took about 45% of the notebooks' time and 39 MB of the
  default site.

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


#: Suffix of a chart's Vega-Lite spec beside its CSV (kept for the reports, not published).
SPEC_SUFFIX = ".vl.json"


def _write_files(spec: dict, page: str, extra: Path, n: int) -> tuple[str, str]:
    """Write the chart's CSV (published) and its spec (for the reports); return the CSV's
    site path relative to the page and the file name offered for the chart as SVG."""
    from .model import disclosive_cells
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
    (folder / f"{stem}{SPEC_SUFFIX}").write_text(
        json.dumps(escape.vega_spec(spec), separators=(",", ":")), encoding="utf-8")
    return f"../../charts/{escape.html(code)}/{escape.html(stem)}.csv", f"{code}-{stem}.svg"


#: The page's chart machinery, defined once per page by the first chart that needs it
#: (:func:`render` inlines it, guarded): ``nhsbookChart(id, spec, options)`` loads the
#: vega bundle the first time a page draws a chart (so pages without charts never load
#: it), sizes the chart from the width of its figure (:mod:`nhsbook.charts.layout`) and
#: draws it again when that width changes; titles longer than the column are wrapped; a
#: chart still wider than its figure (axis labels longer than estimated) is drawn again
#: narrower by the overflow.
CHART_JS = r"""if (!window.nhsbookChart) { window.nhsbookChart = (function () {
var NARROW = %(narrow)d, ACTIONS = 40, loading = null;
function bundle() {
  if (window.vegaEmbed) { return Promise.resolve(); }
  if (!loading) { loading = new Promise(function (ok, fail) {
    var root = document.documentElement.getAttribute("data-content_root");
    if (root === null) { root = (window.DOCUMENTATION_OPTIONS || {}).URL_ROOT || ""; }
    var s = document.createElement("script");
    s.src = root + "_static/%(bundle)s"; s.onload = ok;
    s.onerror = function () { fail(new Error("could not load " + s.src)); };
    document.head.appendChild(s); }); }
  return loading;
}
function copy(x) { return JSON.parse(JSON.stringify(x)); }
function lines(text, chars) {
  var out = [], line = "";
  String(text).split(/\s+/).forEach(function (w) {
    if (line && (line + " " + w).length > chars) { out.push(line); line = w; }
    else { line = line ? line + " " + w : w; } });
  if (line) { out.push(line); }
  return out;
}
function titles(spec, width) {
  if (!spec.title) { return; }
  var t = typeof spec.title === "object" && !Array.isArray(spec.title) ? spec.title
          : {text: spec.title};
  [["text", 8.2], ["subtitle", 6.6]].forEach(function (k) {
    var v = t[k[0]], chars = Math.max(16, Math.floor(width / k[1]));
    if (typeof v === "string" && v.length > chars) { t[k[0]] = lines(v, chars); }
    else if (Array.isArray(v) && v.some(function (x) { return String(x).length > chars; })) {
      t[k[0]] = lines(v.join(" "), chars); } });
  spec.title = t;
}
function layout(spec, width) {
  var meta = (spec.usermeta || {}).%(key)s || {};
  var narrow = width < NARROW;
  if (narrow && meta.narrow) {
    var other = copy(meta.narrow);
    other.datasets = Object.assign({}, spec.datasets || {}, other.datasets || {});
    // the narrow layout is the same chart: vega names its SVG by the same description
    if (!other.description && spec.description) { other.description = spec.description; }
    return layout(other, width);
  }
  if (meta.max) { width = Math.min(width, meta.max); }
  spec = copy(spec);
  titles(spec, width);   // a title longer than the column is wrapped, never cut
  if (spec.usermeta && spec.usermeta.%(key)s) { delete spec.usermeta.%(key)s.narrow; }
  if (meta.fit === "x") {
    spec.width = width; spec.autosize = {type: "fit-x", contains: "padding"};
    if (meta.aspect) { spec.height = Math.round((width - (meta.chrome || 0)) * meta.aspect); }
  } else if (meta.fit === "grid") {
    var cols = narrow ? 1 : (meta.columns || 2);
    var cell = Math.floor(width / cols - (meta.chrome || 60));
    spec.columns = cols;
    (spec.spec ? [spec.spec] : (spec.concat || [])).forEach(function (v) {
      v.width = Math.max(cell, 60);
      if (meta.aspect) { v.height = Math.round(v.width * meta.aspect); }
    });
  } else if (meta.fit === "vconcat") {
    spec.vconcat.forEach(function (v, i) {
      v.width = Math.max(width - (meta.chrome || 0), 120);
      if (i === 0 && meta.aspect) { v.height = Math.round(v.width * meta.aspect); } });
  } else if (meta.fit === "hconcat") {
    var fixed = meta.chrome || 0;
    spec.hconcat.forEach(function (v, i) {
      if (i !== meta.flex) { fixed += (v.width || 0) + (meta.spacing || 0); } });
    spec.hconcat[meta.flex].width = Math.max(meta.min || 80, width - fixed);
  }
  return spec;
}
return function (id, spec, opts, n) {
  var el = document.getElementById(id), drawn = null, view = null, timer = null;
  function draw(width, tries) {
    return vegaEmbed(el, layout(spec, width), opts).then(function (res) {
      if (view && view !== res.view) { view.finalize(); }
      view = res.view;
      var s = el.querySelector("details > summary");
      if (s) { s.setAttribute("aria-label", "Chart actions: save as SVG or PNG"); }
      var svg = el.querySelector("svg"), avail = drawn;
      var over = svg ? Math.ceil(parseFloat(svg.getAttribute("width")) - avail) : 0;
      if (over > 0 && tries < 3) { return draw(width - over, tries + 1); }
    });
  }
  function resize() {
    var width = Math.floor(el.getBoundingClientRect().width) - ACTIONS;
    if (width <= 0 || width === drawn) { return; }
    drawn = width;
    bundle().then(function () { return draw(width, 0); })
      .catch(function (e) { console.error("chart " + n + ": " + e); });
  }
  resize();
  window.addEventListener("resize", function () {
    clearTimeout(timer); timer = setTimeout(resize, 150); });
  // "Chart as SVG": vega draws the chart the reader sees as an SVG file
  var button = el.parentNode && el.parentNode.querySelector("button.nhsbook-svg");
  if (button) { button.addEventListener("click", function () {
    if (!view) { return; }
    view.toSVG().then(function (svg) {
      var url = URL.createObjectURL(new Blob([svg], {type: "image/svg+xml"}));
      var a = document.createElement("a");
      a.href = url; a.download = button.getAttribute("data-file") || "chart.svg";
      document.body.appendChild(a); a.click(); a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    }).catch(function (e) { console.error("chart " + n + " as SVG: " + e); });
  }); }
};
})(); }"""


def _split_narrow(spec: dict) -> tuple[dict, dict | None]:
    """The chart without its narrow alternative, and the alternative (its datasets that the
    chart already holds removed: the page embeds them once)."""
    from .charts.layout import KEY
    meta = (spec.get("usermeta") or {}).get(KEY) or {}
    if "narrow" not in meta:
        return spec, None
    narrow = dict(meta["narrow"])
    spec = {**spec, "usermeta": {**spec["usermeta"],
                                 KEY: {k: v for k, v in meta.items() if k != "narrow"}}}
    shared = spec.get("datasets") or {}
    narrow["datasets"] = {k: v for k, v in (narrow.get("datasets") or {}).items()
                          if k not in shared}
    return spec, narrow


def render(spec: dict, **_: object) -> dict[str, str]:
    """Altair renderer: an accessible figure drawn by the local vega bundle, sized from its
    column (see module and :data:`CHART_JS`)."""
    from .charts.layout import KEY, NARROW
    n = next(_counter)
    spec, narrow = _split_narrow(spec)
    title, description = chart_text(spec)
    label = ". ".join(t for t in (title, description) if t) or "Chart"
    page, extra = os.environ.get(PAGE_ENV), os.environ.get(EXTRA_ENV)
    links = ""
    if page and extra:
        csv, svg = _write_files(spec, page, Path(extra), n)
        links = (f' <button type="button" class="nhsbook-svg" data-file="{escape.html(svg)}">'
                 f'Chart as SVG</button> · <a href="{csv}" download>Chart data as CSV</a>')
    if narrow is not None:
        spec["usermeta"][KEY]["narrow"] = narrow
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
    helper = CHART_JS % {"narrow": NARROW, "bundle": BUNDLE, "key": KEY}
    return {"text/html": (
        f'<figure class="nhsbook-chart" aria-label="{escape.html(label)}">'
        f'<div id="{div}" class="nhsbook-chart-view"></div>'
        f'<figcaption>{caption}{links}</figcaption>'
        f'<script type="text/javascript">{helper}\n(function () {{'
        f'var spec = {payload}; var opts = {json.dumps(options)};'
        f'nhsbookChart("{div}", spec, opts, {n});'
        f'}})();</script></figure>')}


def enable_renderer() -> None:
    """Use the ``nhsbook`` renderer when the notebook runs inside a build."""
    import altair as alt

    if "nhsbook" not in alt.renderers.names():
        alt.renderers.register("nhsbook", render)
    if os.environ.get(PAGE_ENV):
        alt.renderers.enable("nhsbook")
        alt.data_transformers.disable_max_rows()
        _format_charts_unvalidated()


def _chart_bundle(chart, include=None, exclude=None) -> dict:
    """A chart's display in a build: :func:`render` of its spec, which Altair does not check
    against the Vega-Lite schema again (about a tenth of a chart page's time).  Each chart
    function's spec is validated by its unit tests, and ``make test`` executes every notebook
    with Altair's default display, which validates every chart of the book."""
    if not os.environ.get(PAGE_ENV):   # a notebook opened by hand: Altair's own display
        return chart._repr_mimebundle_(include, exclude)
    return render(chart.to_dict(validate=False, context={"pre_transform": False}))


def _format_charts_unvalidated() -> None:
    """Display Altair charts with :func:`_chart_bundle` in this IPython kernel."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    import altair as alt
    shell.display_formatter.mimebundle_formatter.for_type(alt.TopLevelMixin, _chart_bundle)
