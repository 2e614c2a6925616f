"""Preload MathJax's fonts on the pages that have math.

MathJax asks for its web fonts only once it has typeset the page, that is after the whole HTML has
been parsed: on a long chapter the fonts were the last requests, and the math was drawn in them
late. A ``<link rel="preload">`` for the fonts that every chapter uses lets the browser fetch them
while it parses the page. Pages without math get no preload (it would download fonts for nothing).
The MathJax components that the configuration adds (lazy typesetting) are preloaded the same way.
"""

from __future__ import annotations

from sphinx.application import Sphinx

FONT_DIR = "_static/mathjax/output/chtml/fonts/woff-v2"
# The fonts the chapters' math is drawn in (MathJax_Zero is the one MathJax measures with).
FONTS = ("Zero", "Main-Regular", "Main-Bold", "Math-Italic", "AMS-Regular",
         "Size1-Regular", "Size2-Regular", "Size4-Regular")


def preload_links(pathto) -> str:
    return "".join(f'<link rel="preload" href="{pathto(f"{FONT_DIR}/MathJax_{font}.woff", 1)}" '
                   'as="font" type="font/woff" crossorigin>\n' for font in FONTS)


def component_links(app: Sphinx, pathto) -> str:
    """Preloads of the MathJax components that the loader fetches only once tex-chtml.js has run
    (``mathjax3_config: loader: load``, e.g. ui/lazy): one request less in a chain of three."""
    base = app.config.mathjax_path.rsplit("/", 1)[0]
    components = ((app.config.mathjax3_config or {}).get("loader") or {}).get("load", [])
    return "".join(f'<link rel="preload" href="{pathto(f"_static/{base}/{name}.js", 1)}" as="script">\n'
                   for name in components)


def add_preloads(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if doctree is None or not app.env.get_domain("math").has_equations(pagename):
        return
    context["metatags"] = (context.get("metatags", "") + preload_links(context["pathto"])
                           + component_links(app, context["pathto"]))


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", add_preloads)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
