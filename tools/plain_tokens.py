"""Lighter code blocks: Pygments tokens drawn in the block's own colour lose their ``<span>``.

Pygments wraps every token of a code block in a ``<span class="...">``, names (``n``), punctuation
(``p``) and whitespace (``w``) included, although the book's style draws those three in the colour of
the block itself, in the light and the dark theme alike (``_static/pygments.css``). On a long chapter
that is most of the page's elements (chapter 5: 10,500 of 17,600 spans), and parsing and styling them
is what kept its first screen waiting. This extension writes those three kinds as plain text, inside
``<pre>`` only; the page looks the same (a test compares the colours) and copies the same text.
"""

from __future__ import annotations

import re

from sphinx.application import Sphinx

PLAIN_CLASSES = ("n", "p", "w")
_PRE = re.compile(r"<pre>.*?</pre>", re.DOTALL)
_PLAIN_SPAN = re.compile(r'<span class="(?:' + "|".join(PLAIN_CLASSES) + r')">([^<]*)</span>')


def unwrap_plain_tokens(html: str) -> str:
    """``html`` with the spans of PLAIN_CLASSES inside <pre> blocks replaced by their text."""
    return _PRE.sub(lambda block: _PLAIN_SPAN.sub(r"\1", block.group(0)), html)


def lighten(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if "body" in context:
        context["body"] = unwrap_plain_tokens(context["body"])


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", lighten)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
