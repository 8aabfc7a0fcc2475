"""The stakeholder website's own machinery: charts that draw offline, with a static image and
their data beside each.

* :func:`write_vega_bundle` writes vega, vega-lite and vega-embed as one local script
  (``vl_convert.javascript_bundle``) into the book's ``_static`` folder, so no chart needs a
  CDN; the chart machinery (:data:`CHART_JS`) loads it on pages that draw a chart.  Beside it
  goes that machinery, ``nhsbook-chart.js`` (:data:`CHART_SCRIPT`), which every page's head
  loads once (cached) instead of every chart carrying a copy (issue 26: 1.8 MB of the
  default site).
* A chart's data travel in the page as columns (:func:`pack_data`): each table's rows as one
  list per column, a column of few distinct values as its levels and one code per row; the
  chart script restores the rows before vega sees them (:func:`unpack_data` does the same
  for the disclosure scan, :mod:`nhsbook.build.sitefiles`).  Rows of objects repeated every field
  name and every indicator and area name: 16 MB of the default site's 52 MB.
* The Altair renderer ``nhsbook`` (enabled by :func:`enable_renderer`, which
  :mod:`nhsbook.pages.area` calls when a page is built by nhsbook) draws each chart into an
  accessible ``<figure>`` named (``aria-label``) by the chart's title and description (vega
  also labels the SVG it draws from the description), the caption repeats the description in text, and
  offers the chart as SVG (drawn by vega in the reader's browser, from the chart the reader
  sees) and its data as CSV, written to ``_extra/charts/<area>/<notebook>-<n>.csv``.  The CSV is
  checked for counts 1-4 before it is written (:func:`nhsbook.core.model.disclosive_cells`).
* Beside the CSV the renderer keeps the chart's Vega-Lite spec (``<notebook>-<n>.vl.json``,
  never published: ``_config.yml`` excludes it): the PDF reports draw the few charts they
  show from it (:func:`nhsbook.build.report.chart_svg`, cached by content).  No page draws a static
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

from nhsbook.core import escape
from nhsbook.core.model import disclosive_cells
from nhsbook.core.safepath import check_name
from nhsbook.pages.definitions import chart_links

#: File name of the local vega bundle inside the book's ``_static``.
BUNDLE = "nhsbook-vega.js"
#: File name of the chart machinery (:data:`CHART_JS`) inside the book's ``_static``: every
#: page's head loads it (jupyter-book lists every script of ``_static``).
CHART_SCRIPT = "nhsbook-chart.js"
#: Environment of a notebook run by the build: ``<area code>/<notebook>`` and the folder that
#: becomes the site's root (``book/_extra``).
PAGE_ENV, EXTRA_ENV = "NHSBOOK_PAGE", "NHSBOOK_EXTRA"

_counter = itertools.count(1)
#: The parts of the page's charts so far (:func:`share_parts`): JSON text → reference.
_parts: dict[str, list] = {}


def reset_page() -> None:
    """Start chart numbering and shared parts again for a new page (a warm kernel runs many
    pages)."""
    global _counter
    _counter = itertools.count(1)
    _parts.clear()


def chart_script() -> str:
    """The chart machinery every page loads (:data:`CHART_JS`)."""
    # lazy: keeps altair,numpy,shapely off this module's import
    from nhsbook.charts.layout import KEY, NARROW

    return (
        CHART_JS % {"narrow": NARROW, "bundle": BUNDLE, "key": KEY, "table": TABLE, "ref": REF}
        + "\n"
    )


def write_vega_bundle(static_dir: Path) -> Path:
    """Write the vega/vega-lite/vega-embed bundle once (reused while its version is the same)
    and the chart machinery beside it (:data:`CHART_SCRIPT`, rewritten when it changed)."""
    import vl_convert as vlc

    static_dir.mkdir(parents=True, exist_ok=True)
    script = static_dir / CHART_SCRIPT
    text = chart_script()
    if not script.is_file() or script.read_text(encoding="utf-8") != text:
        script.write_text(text, encoding="utf-8")
    path = static_dir / BUNDLE
    stamp = static_dir / (BUNDLE + ".version")
    version = f"vl-convert {vlc.__version__}"
    if path.is_file() and stamp.is_file() and stamp.read_text() == version:
        return path
    # the bundle declares top-level constants (e.g. `_`) that clash with the theme's scripts
    # in the shared global scope: run it in its own function scope; it sets window.vegaEmbed
    path.write_text("(function () {\n" + vlc.javascript_bundle() + "\n})();\n", encoding="utf-8")
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


#: Key of a table packed by :func:`pack_data`: ``{TABLE: {column: values or {"levels":
#: [...], "codes": [...]}}}``.
TABLE = "nhsbook_table"


def _scalar_key(v: object) -> tuple[str, object] | None:
    """A cell's key for levels (its type and value: ``True`` is not ``1``), or ``None`` for
    a cell that cannot be a level (lists and objects, e.g. a map's geometry)."""
    if v is None or isinstance(v, (str, bool, int, float)):
        return type(v).__name__, v
    return None


def _pack_rows(rows: list) -> dict | None:
    """Rows of records as columns (see :data:`TABLE`), or ``None`` when the rows are not
    records with the same fields."""
    if not rows or not all(isinstance(r, dict) for r in rows):
        return None
    names = list(rows[0])
    fields = set(names)
    if not names or any(len(r) != len(names) or set(r) != fields for r in rows):
        return None
    dump = lambda x: len(json.dumps(x, separators=(",", ":")))  # noqa: E731
    columns: dict = {}
    for name in names:
        values = [r[name] for r in rows]
        keys = [_scalar_key(v) for v in values]
        if all(k is not None for k in keys):
            index: dict = {}
            codes = [index.setdefault(k, len(index)) for k in keys]
            if len(index) < len(values):
                levels = [None] * len(index)
                for k, i in index.items():
                    levels[i] = k[1]
                coded = {"levels": levels, "codes": codes}
                if dump(coded) < dump(values):
                    columns[name] = coded
                    continue
        columns[name] = values
    return {TABLE: columns}


def pack_data(spec: object) -> object:
    """The chart's spec with every table of records (its ``datasets`` and inline ``values``,
    e.g. of a lookup) packed as columns (:data:`TABLE`); the chart script and
    :func:`unpack_data` restore the rows exactly."""
    if isinstance(spec, list):
        return [pack_data(v) for v in spec]
    if not isinstance(spec, dict):
        return spec
    out = {}
    for k, v in spec.items():
        if k == "datasets" and isinstance(v, dict):
            out[k] = {
                name: _pack_rows(rows) or pack_data(rows)
                if isinstance(rows, list)
                else pack_data(rows)
                for name, rows in v.items()
            }
        elif k == "values" and isinstance(v, list):
            out[k] = _pack_rows(v) or v
        else:
            out[k] = pack_data(v)
    return out


#: Key of a reference to an equal part of a chart drawn earlier on the page (or earlier in
#: the same chart): ``{REF: [figure id, key or index, ...]}`` (:func:`share_parts`).
REF = "nhsbook_ref"
#: Smallest part (characters of JSON) that a later equal part refers to.
SHARE_MIN = 120


def share_parts(spec: object, chart_id: str, seen: dict[str, list]) -> object:
    """``spec`` (packed) with every part of at least :data:`SHARE_MIN` characters that
    equals a part seen earlier on the page (``seen``: JSON text → where) replaced by a
    reference to it: a map's areas drawn by two charts, a narrow layout's layers equal to
    the wide one's, a table two charts show.  The chart script and :func:`unpack_data`
    follow the references; the first copy stays where it is."""

    def walk(x: object, path: list) -> object:
        if not isinstance(x, (dict, list)):
            return x
        text = json.dumps(x, separators=(",", ":"))
        if len(text) < SHARE_MIN:
            return x
        if text in seen:
            return {REF: seen[text]}
        seen[text] = [chart_id, *path]
        if isinstance(x, dict):
            return {k: walk(v, [*path, k]) for k, v in x.items()}
        return [walk(v, [*path, i]) for i, v in enumerate(x)]

    return walk(spec, [])


def _deref(x: object, charts: dict[str, object]) -> object:
    """``x`` with every reference of :func:`share_parts` replaced by the part it names."""
    if isinstance(x, list):
        return [_deref(v, charts) for v in x]
    if not isinstance(x, dict):
        return x
    if set(x) == {REF} and isinstance(x[REF], list) and x[REF]:
        part = charts.get(x[REF][0])
        try:
            for key in x[REF][1:]:
                part = part[key]
        except (KeyError, IndexError, TypeError):
            return None
        return _deref(part, charts)
    return {k: _deref(v, charts) for k, v in x.items()}


def _unpack_tables(x: object) -> object:
    if isinstance(x, list):
        return [_unpack_tables(v) for v in x]
    if not isinstance(x, dict):
        return x
    if set(x) == {TABLE} and isinstance(x[TABLE], dict):
        columns = {
            k: [v["levels"][c] for c in v["codes"]] if isinstance(v, dict) else v
            for k, v in x[TABLE].items()
        }
        n = max((len(v) for v in columns.values()), default=0)
        return [{k: v[i] for k, v in columns.items()} for i in range(n)]
    return {k: _unpack_tables(v) for k, v in x.items()}


def unpack_data(spec: object, charts: dict[str, object] | None = None) -> object:
    """``spec`` with every reference of :func:`share_parts` replaced by the part it names
    (``charts``: the page's specs as published so far, by figure id; a reference to no
    known chart reads as ``None``) and every table packed by :func:`pack_data` as rows of
    records again."""
    return _unpack_tables(_deref(spec, charts or {}))


#: Suffix of a chart's Vega-Lite spec beside its CSV (kept for the reports, not published).
SPEC_SUFFIX = ".vl.json"


def _write_files(spec: dict, page: str, extra: Path, n: int) -> tuple[str, str]:
    """Write the chart's CSV (published) and its spec (for the reports); return the CSV's
    site path relative to the page and the file name offered for the chart as SVG."""

    code, notebook = page.split("/", 1)
    check_name(code, f"area code of {PAGE_ENV}")
    check_name(notebook, f"notebook of {PAGE_ENV}")
    folder = extra / "charts" / code
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{notebook}-{n}"
    table = chart_table(spec)
    hits = disclosive_cells(table)
    if hits:
        raise ValueError(
            f"chart {n} of {page}: its data hold counts from 1 to 4 "
            f"(e.g. row {hits[0][0]}, column {hits[0][1]!r}); suppress them "
            "before charting"
        )
    escape.csv_frame(table).to_csv(folder / f"{stem}.csv", index=False)  # formula guard
    (folder / f"{stem}{SPEC_SUFFIX}").write_text(
        json.dumps(escape.vega_spec(spec), separators=(",", ":")), encoding="utf-8"
    )
    return f"../../charts/{escape.html(code)}/{escape.html(stem)}.csv", f"{code}-{stem}.svg"


#: The pages' chart machinery, ``_static/nhsbook-chart.js`` (:data:`CHART_SCRIPT`, loaded
#: by every page's head): ``nhsbookChart(id, spec, options)`` restores the tables
#: :func:`pack_data` packed, loads the vega bundle the first time a page draws a chart (so
#: pages without charts never load it), sizes the chart from the width of its figure (:mod:`nhsbook.charts.layout`) and
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
var specs = {};   // the page's charts as the page gives them, by figure id
function deref(x) {   // parts shared with earlier charts (nhsbook.pages.renderer.share_parts)
  if (Array.isArray(x)) { return x.map(deref); }
  if (x === null || typeof x !== "object") { return x; }
  var keys = Object.keys(x);
  if (keys.length === 1 && keys[0] === "%(ref)s") {
    var at = x["%(ref)s"], part = specs[at[0]];
    for (var p = 1; p < at.length && part !== undefined && part !== null; p++) {
      part = part[at[p]]; }
    return part === undefined ? null : deref(part);
  }
  var out = {};
  keys.forEach(function (k) { out[k] = deref(x[k]); });
  return out;
}
function unpack(x) {   // tables nhsbook.pages.renderer.pack_data packed as columns, as rows again
  if (Array.isArray(x)) { return x.map(unpack); }
  if (x === null || typeof x !== "object") { return x; }
  var keys = Object.keys(x);
  if (keys.length === 1 && keys[0] === "%(table)s") {
    var cols = x["%(table)s"], names = Object.keys(cols), rows = [], n = 0;
    var values = names.map(function (k) {
      var c = cols[k];
      var v = Array.isArray(c) ? c : c.codes.map(function (i) { return c.levels[i]; });
      n = Math.max(n, v.length); return v; });
    for (var i = 0; i < n; i++) {
      var row = {};
      for (var j = 0; j < names.length; j++) { row[names[j]] = values[j][i]; }
      rows.push(row); }
    return rows;
  }
  var out = {};
  keys.forEach(function (k) { out[k] = unpack(x[k]); });
  return out;
}
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
return function (id, packed, opts, n) {
  var el = document.getElementById(id), drawn = null, view = null, timer = null;
  specs[id] = packed;
  var spec = unpack(deref(packed));
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
    # lazy: keeps altair,numpy,shapely off this module's import
    from nhsbook.charts.layout import KEY

    meta = (spec.get("usermeta") or {}).get(KEY) or {}
    if "narrow" not in meta:
        return spec, None
    narrow = dict(meta["narrow"])
    spec = {
        **spec,
        "usermeta": {**spec["usermeta"], KEY: {k: v for k, v in meta.items() if k != "narrow"}},
    }
    shared = spec.get("datasets") or {}
    narrow["datasets"] = {
        k: v for k, v in (narrow.get("datasets") or {}).items() if k not in shared
    }
    return spec, narrow


def render(spec: dict, **_: object) -> dict[str, str]:
    """Altair renderer: an accessible figure drawn by the local vega bundle, sized from its
    column (see module and :data:`CHART_JS`)."""
    # lazy: keeps altair,numpy,shapely off this module's import
    from nhsbook.charts.layout import KEY

    n = next(_counter)
    spec, narrow = _split_narrow(spec)
    title, description = chart_text(spec)
    label = ". ".join(t for t in (title, description) if t) or "Chart"
    page, extra = os.environ.get(PAGE_ENV), os.environ.get(EXTRA_ENV)
    links = ""
    if page and extra:
        csv, svg = _write_files(spec, page, Path(extra), n)
        links = (
            f' <button type="button" class="nhsbook-svg" data-file="{escape.html(svg)}">'
            f'Chart as SVG</button> · <a href="{csv}" download>Chart data as CSV</a>'
        )
    if narrow is not None:
        spec["usermeta"][KEY]["narrow"] = narrow
    div = f"nhsbook-chart-{os.getpid()}-{n}"
    options = {
        "renderer": "svg",
        "actions": {"export": True, "source": False, "compiled": False, "editor": False},
    }
    # names travel as data: JSON inside the script, with no "<" at all (so neither "</script"
    # nor "<!--" can end or confuse the script element); vega draws them as text
    packed = share_parts(pack_data(spec), div, _parts)
    payload = json.dumps(packed, separators=(",", ":")).replace("<", "\\u003c")
    caption = escape.html(description or title)
    defs = chart_links(chart_table(spec))
    if defs:
        links += f" {defs}"
    # the machinery is _static/nhsbook-chart.js, which the page's head has loaded
    return {
        "text/html": (
            f'<figure class="nhsbook-chart" aria-label="{escape.html(label)}">'
            f'<div id="{div}" class="nhsbook-chart-view"></div>'
            f'<figcaption>{caption}{links}</figcaption>'
            f'<script type="text/javascript">(function () {{'
            f'var spec = {payload}; var opts = {json.dumps(options)};'
            f'if (window.nhsbookChart) {{ nhsbookChart("{div}", spec, opts, {n}); }}'
            f'}})();</script></figure>'
        )
    }


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
    if not os.environ.get(PAGE_ENV):  # a notebook opened by hand: Altair's own display
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
