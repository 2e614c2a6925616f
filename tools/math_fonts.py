"""Preload MathJax's fonts on the pages that have math.

MathJax asks for its web fonts only once it has typeset the page, that is after the whole HTML has
been parsed: on a long chapter the fonts were the last requests, and the math was drawn in them
late. A ``<link rel="preload">`` for the fonts that every chapter uses lets the browser fetch them
while it parses the page. Pages without math get no preload (it would download fonts for nothing).
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


def add_preloads(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if doctree is None or not app.env.get_domain("math").has_equations(pagename):
        return
    context["metatags"] = context.get("metatags", "") + preload_links(context["pathto"])


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", add_preloads)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
