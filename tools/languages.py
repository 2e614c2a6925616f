"""The book's editions in several languages (see tools/i18n.py), as a Sphinx extension.

* A language switch on every page, at the right of its header bar: the name of each edition, the
  current one marked, the others linking to the same page in that language. The first edition
  (English) is at the site's root, the others in a folder named by their code (``ko/``), so the
  links are relative and work from a plain folder on any web server. A ``<link rel="alternate"
  hreflang=...>`` for each twin goes into the page's head too.
* Glued numbers in translations. A translated paragraph is parsed by Sphinx as a document of its
  own, which has none of the page's executed outputs; myst-nb's ``{glue:text}`` roles in it could
  not find their values. The page's notebook renderer, which myst-nb drops once the page is parsed,
  is kept on the page's settings (which its translated paragraphs share) and glue roles that find
  no value in their paragraph look it up there: a translated paragraph shows exactly the numbers
  that its page computed, the same as the English one.
* What is not prose stays out of the catalogues: cell outputs and ``{glue:md}`` tables (their
  numbers change from build to build) and display equations. Figure captions and the descriptions
  of drawn figures are prose and are translated (ImageDescriptions), and so are the sidebar's part
  captions, which sphinx-external-toc inserts only after Sphinx has translated the page.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from docutils import nodes
from i18n import LANGUAGES, site_folder  # tools/ is on sys.path: _config.yml's local_extensions
from sphinx.application import Sphinx
from sphinx.locale import init as init_locale
from sphinx.transforms import SphinxTransform
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.i18n import docname_to_domain

TEMPLATES = Path(__file__).resolve().parent / "templates"
SWITCH = "language-switch.html"


def twin_links(pagename: str, current: str) -> list[dict]:
    """For each edition: its code, its name, and the relative link from ``pagename`` in the
    ``current`` edition to the same page in that edition (None for the current one)."""
    up = "../" * pagename.count("/")
    root = up + "../" * site_folder(current).count("/")      # from this page up to the site's root
    return [{"code": code, "name": name,
             "href": None if code == current else f"{root}{site_folder(code)}{pagename}.html"}
            for code, (name, _title) in LANGUAGES.items()]


def add_links(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    current = app.config.language or "en"
    links = twin_links(pagename, current)
    context["language_links"] = links
    context["language_current"] = current
    context["metatags"] = context.get("metatags", "") + "".join(
        f'<link rel="alternate" hreflang="{link["code"]}" href="{link["href"]}">\n'
        for link in links if link["href"])


def add_switch_to_header(app: Sphinx, config) -> None:
    options = dict(config.html_theme_options or {})
    end = list(options.get("article_header_end") or ["article-header-buttons.html"])
    if SWITCH not in end:
        options["article_header_end"] = [SWITCH, *end]
    config.html_theme_options = options
    config.templates_path = [*config.templates_path, str(TEMPLATES)]


class _KeepRenderer(dict):
    """A page's attributes while myst-nb parses it: keeps the notebook renderer that myst-nb drops
    at the end of the parse, on the page's settings (which its translated paragraphs share)."""

    def __init__(self, attributes: dict, settings) -> None:
        super().__init__(attributes)
        self.settings = settings

    def pop(self, key, *default):
        value = super().pop(key, *default)
        if key == "nb_renderer":
            self.settings.rnn_nb_renderer = value
        return value


def _translated(document) -> bool:
    return str(document.get("source", "")).endswith("<translated>")


def _parse_keeping_renderer(parse):
    def wrapped(self, inputstring: str, document: nodes.document) -> None:
        if _translated(document):
            return parse(self, inputstring, document)
        document.attributes = _KeepRenderer(document.attributes, document.settings)
        try:
            return parse(self, inputstring, document)
        finally:
            document.attributes = dict(document.attributes)

    wrapped.__wrapped__ = parse
    return wrapped


def _retrieve_from_page(retrieve):
    def retrieve_glue_data(document: nodes.document, key: str):
        try:
            return retrieve(document, key)
        except Exception:
            page = getattr(document.settings, "rnn_nb_renderer", None)
            if page is None or not _translated(document):
                raise
            return retrieve({"nb_renderer": page}, key)

    retrieve_glue_data.__wrapped__ = retrieve
    return retrieve_glue_data


class OutputsAreNotProse(SphinxTransform):
    """What a code cell printed or displayed (tables of measurements, text/markdown outputs) is not
    prose to translate: its numbers change from one build to the next, and the same output must
    appear in every edition. A figure's caption and its image's description, written in the cell's
    metadata, are prose and stay translatable. Runs before the Locale transform and the gettext
    builder's extraction."""

    default_priority = 10

    def apply(self, **kwargs) -> None:
        # Display equations are not prose either (and Sphinx cannot put a translated one back).
        for block in self.document.findall(nodes.math_block):
            block["translatable"] = False
        # An image's description before translation: ImageDescriptions looks it up again.
        for image in self.document.findall(nodes.image):
            if image.get("alt"):
                image["alt_source"] = image["alt"]
        for output in self.document.findall(nodes.container):
            if output.get("nb_element") != "cell_code_output":
                continue
            for node in output.findall(nodes.Element):
                if not isinstance(node, nodes.image) and not _within(node, (nodes.caption, nodes.legend), output):
                    node["translatable"] = False


def _within(node: nodes.Element, kinds: tuple, stop: nodes.Element) -> bool:
    while node is not None and node is not stop:
        if isinstance(node, kinds):
            return True
        node = node.parent
    return False


class ImageDescriptions(SphinxPostTransform):
    """The description (alt text) of each figure a cell draws, written in the cell's metadata, is
    prose for screen readers: translated like the rest. For the gettext builder myst-nb creates
    those images only after extraction's ids were given (it picks an output format per builder, in
    a post-transform): this gives them the id that makes their description a message. For another
    language, Sphinx translates a description but always marks its image "untranslated" (for the
    image's file, which is not translated here): this looks the description up in the page's
    catalogue again and marks the image "untranslated" only when its description has no
    translation, as Sphinx does for paragraphs."""

    default_priority = 5      # after myst-nb's SelectMimeType (4)

    def run(self, **kwargs) -> None:
        from sphinx.builders.gettext import MessageCatalogBuilder

        images = [node for node in self.document.findall(nodes.image) if node.get("alt")]
        if isinstance(self.app.builder, MessageCatalogBuilder):
            for image in images:
                if not hasattr(image, "uid"):
                    image.uid = uuid.uuid4().hex
            return
        catalogue = page_catalogue(self.app, self.env.docname)
        if catalogue is None or not images:
            return
        for image in images:
            classes = [c for c in image.get("classes", []) if c != "untranslated"]
            source = image.get("alt_source", image["alt"])
            translated = catalogue.gettext(source)
            if translated != source:
                image["alt"] = translated
            elif self.config.translation_progress_classes:
                classes.append("untranslated")
            image["classes"] = classes


def page_catalogue(app: Sphinx, docname: str):
    """The translations of one page in the edition's language (None for English)."""
    language = app.config.language or "en"
    if language == "en":
        return None
    catalogue, found = init_locale([Path(app.srcdir, d) for d in app.config.locale_dirs], language,
                                   docname_to_domain(docname, app.config.gettext_compact))
    return catalogue if found else None


def translate_toctree_captions(app: Sphinx, doctree: nodes.document) -> None:
    """The sidebar's part captions ("Chapters", ...) are inserted from _toc.yml by
    sphinx-external-toc after Sphinx has translated the page: translate them here, from the root
    page's catalogue, where the gettext builder puts them."""
    from sphinx import addnodes

    catalogue = page_catalogue(app, app.env.docname)
    if catalogue is None:
        return
    for toctree in doctree.findall(addnodes.toctree):
        caption = toctree.get("rawcaption")
        if caption:
            toctree.apply_translated_message(caption, catalogue.gettext(caption))


class ForgetRenderer(SphinxTransform):
    """After Sphinx's Locale transform (priority 20): the page is pickled next, the renderer can't be."""

    default_priority = 21

    def apply(self, **kwargs) -> None:
        if hasattr(self.document.settings, "rnn_nb_renderer"):
            del self.document.settings.rnn_nb_renderer


def patch_glue() -> None:
    from myst_nb import sphinx_
    from myst_nb.ext.glue import directives, roles

    if not hasattr(sphinx_.Parser.parse, "__wrapped__"):
        sphinx_.Parser.parse = _parse_keeping_renderer(sphinx_.Parser.parse)
    for module in (roles, directives):
        if not hasattr(module.retrieve_glue_data, "__wrapped__"):
            module.retrieve_glue_data = _retrieve_from_page(module.retrieve_glue_data)
    if not hasattr(directives.PasteMarkdownDirective.run, "__wrapped__"):
        directives.PasteMarkdownDirective.run = _output_not_prose(directives.PasteMarkdownDirective.run)


def _output_not_prose(run):
    """A ``{glue:md}`` block pastes a table that a cell computed: an output, not prose (see
    OutputsAreNotProse)."""
    def wrapped(self):
        pasted = run(self)
        for top in pasted:
            for node in top.findall(nodes.Element):
                node["translatable"] = False
        return pasted

    wrapped.__wrapped__ = run
    return wrapped


def setup(app: Sphinx) -> dict:
    patch_glue()
    app.add_transform(ForgetRenderer)
    app.add_transform(OutputsAreNotProse)
    app.add_post_transform(ImageDescriptions)
    app.connect("config-inited", add_switch_to_header)
    app.connect("html-page-context", add_links)
    app.connect("doctree-read", translate_toctree_captions, priority=900)   # after sphinx-external-toc
    app.add_css_file("languages.css")  # book/_static/
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
