"""The Korean edition's catalogues (locale/ko/LC_MESSAGES/book/*.po; tools/i18n.py).

Every message of every page is translated and none is fuzzy; a translation keeps the markup that
must stay as it is (roles such as the glued numbers, code, math, link targets); the glossary's
Korean terms are the ones the chapters use. The built site's checks (every paragraph translated,
the switch, search) are in tests/test_site_i18n.py.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po
from conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
import i18n  # noqa: E402

LANG = "ko"
CATALOGUES = i18n.catalogues(LANG)
PAGES = [str(p.relative_to(i18n.LOCALE / LANG / "LC_MESSAGES" / "book").with_suffix("")) for p in CATALOGUES]
CHAPTERS = ["01_rnn", "02_gradients", "03_lstm", "04_gru", "05_seq2seq"]


def messages(path: Path) -> list:
    with path.open("rb") as f:
        return [m for m in read_po(f) if m.id]


def problems(path: Path) -> list[str]:
    """Every message of a catalogue that is empty, fuzzy or lost its markup."""
    found = []
    for m in messages(path):
        if not m.string.strip():
            found.append(f"untranslated: {m.id[:100]!r}")
        elif m.fuzzy:
            found.append(f"fuzzy (its English changed): {m.id[:100]!r}")
        else:
            found += [f"{change} in {m.id[:80]!r}" for change in i18n.markup_changes(m.id, m.string)]
    return found


def test_every_page_of_the_book_has_a_catalogue() -> None:
    toc = (REPO / "_toc.yml").read_text()
    pages = sorted(f.removeprefix("book/") for f in re.findall(r"file: (book/\S+)", toc) if f != "book/intro")
    assert sorted(PAGES) == sorted([*pages, "intro"])


@pytest.mark.parametrize("page", PAGES)
def test_every_message_translated_none_fuzzy_markup_kept(page: str) -> None:
    found = problems(i18n.catalogue(LANG, page))
    assert not found, f"{len(found)} problems in {page}.po, first: " + "\n".join(found[:8])


def test_a_planted_untranslated_paragraph_fails(tmp_path: Path) -> None:
    source = i18n.catalogue(LANG, "03_lstm")
    planted = tmp_path / "03_lstm.po"
    shutil.copy(source, planted)
    with planted.open("rb") as f:
        catalogue = read_po(f)
    target = next(m for m in catalogue if m.id and i18n.needs_translation(m.id) and "{glue:text}" in m.id)
    target.string = ""
    second = next(m for m in catalogue if m.id and m.id != target.id and i18n.needs_translation(m.id))
    second.string = "번역된 문장."
    second.flags.add("fuzzy")
    with planted.open("wb") as f:
        write_po(f, catalogue, width=0)
    found = problems(planted)
    assert any(p.startswith("untranslated") and target.id[:60] in p for p in found)
    assert any(p.startswith("fuzzy") and second.id[:60] in p for p in found)


def test_a_translation_that_drops_a_glued_number_fails() -> None:
    msgid = "At $T = 40$ the LSTM solved it in {glue:text}`lstm-updates-40` updates (`course.train_recall`)."
    assert i18n.markup_changes(msgid, "$T = 40$에서 LSTM은 `course.train_recall`로 풀었다.")
    assert i18n.markup_changes(msgid, "$T = 40$에서 LSTM은 {glue:text}`lstm-updates-40:.1f`번의 갱신 만에 "
                                      "풀었다(`course.train_recall`).")
    assert not i18n.markup_changes(msgid, "$T = 40$에서 LSTM은 {glue:text}`lstm-updates-40`번의 갱신 만에 "
                                          "풀었다(`course.train_recall`).")


def test_messages_without_words_are_filled_with_themselves() -> None:
    assert not i18n.needs_translation("\nc_t = f_t \\odot c_{t-1} + i_t \\odot g_t\n")
    assert not i18n.needs_translation("{ref}`ch-rnn`")
    assert not i18n.needs_translation("`solutions/<assignment>/<notebook>.ipynb`")
    assert i18n.needs_translation("The cell state $c_t$ is kept by default.")


DECIMAL = re.compile(r"\d+\.\d+|\d+(?:\.\d+)?\s?%")


@pytest.mark.parametrize("page", PAGES)
def test_no_measured_number_typed_into_a_translation(page: str) -> None:
    """Measured numbers come from the page (glued); a translation may not add a decimal or a
    percentage that its English message does not have (a stale number typed by a translator)."""
    added = []
    for m in messages(i18n.catalogue(LANG, page)):
        extra = set(DECIMAL.findall(i18n.prose(m.string))) - set(DECIMAL.findall(i18n.prose(m.id)))
        if m.string and extra:
            added.append(f"{sorted(extra)} in {m.string[:90]!r}")
    assert not added, f"{len(added)} in {page}: " + "\n".join(added[:8])


# ---- the glossary's terms --------------------------------------------------------------------

# Parenthesised words in the glossary's Korean column that complete a term rather than name it.
OPTIONAL = {"문제", "단계", "임베딩–출력층"}


def glossary_terms() -> list[tuple[str, list[str]]]:
    """(English term, its Korean forms) for every row of the glossary's table of terms."""
    text = (REPO / "book" / "glossary.md").read_text()
    table = text.split("## Terms", 1)[1].split("\n## ", 1)[0]
    pairs = []
    for row in table.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) < 4 or cells[0] in ("한국어", "---") or set(cells[0]) <= {"-"}:
            continue
        korean, english = cells[0], cells[1]
        ko_parts = [p.strip() for p in korean.split(" / ")]
        en_parts = [p.strip() for p in english.split(" / ")]
        if len(ko_parts) != len(en_parts):
            ko_parts, en_parts = [korean], [english]
        for ko, en in zip(ko_parts, en_parts, strict=True):
            en = re.sub(r"\$[^$]*\$|\([^)]*\)", " ", en).strip().lower()
            en = re.sub(r"\s+", " ", en)
            forms = [f.strip() for f in re.split(r"[,(]", ko.replace(")", "")) if f.strip()]
            forms = [f for f in forms if f not in OPTIONAL]
            if en and forms:
                pairs.append((en, forms))
    return pairs


def test_the_glossary_is_read() -> None:
    terms = dict(glossary_terms())
    assert len(terms) >= 40
    assert terms["forget gate"] == ["망각 게이트"]
    assert terms["encoder"] == ["인코더"] and terms["decoder"] == ["디코더"]
    assert "셀 상태" in terms["cell state, memory cell"] or "셀 상태" in terms.get("cell state", [])


# Terms whose English words also occur with another meaning; their Korean form is checked only
# where the English term is the whole phrase.
TERMS_IN_CHAPTERS = [page for page in PAGES if page in CHAPTERS or page.startswith("exercises/")]


def term_misses(page: str) -> list[str]:
    misses = []
    for en, forms in glossary_terms():
        english_forms = [e.strip() for e in en.split(",") if e.strip()]
        for m in messages(i18n.catalogue(LANG, page)):
            words = i18n.prose(m.id).lower()
            if any(re.search(rf"\b{re.escape(e)}s?\b", words) for e in english_forms):
                if m.string and not any(f.lower() in m.string.lower() for f in forms):
                    misses.append(f"{en!r} → one of {forms} missing in: {m.string[:90]!r}")
    return misses


@pytest.mark.parametrize("page", TERMS_IN_CHAPTERS)
def test_glossary_terms_are_the_ones_the_chapters_use(page: str) -> None:
    misses = term_misses(page)
    assert not misses, f"{len(misses)} in {page}: " + "\n".join(misses[:10])


# Terms that mean something else elsewhere: "candidate" is the LSTM's and GRU's g_t / h~_t; in
# chapter 5 the same Korean word names candidate translations of beam search.
TERM_PAGES = {"candidate": ["03_lstm", "04_gru", "exercises/03_lstm", "exercises/04_gru"]}


def first_use_misses(page: str) -> list[str]:
    """Glossary terms whose first use on a chapter (in a message of a sentence or more, not a
    heading) does not give the English term in parentheses, as Korean textbooks do."""
    msgs = [m for m in messages(i18n.catalogue(LANG, page)) if m.string]
    misses = []
    for en, forms in glossary_terms():
        forms = [f for f in forms if re.search(r"[\uac00-\ud7a3]", f)]     # a Latin form is its own English
        if not forms or page not in TERM_PAGES.get(en, [page]):
            continue
        words = {en} | {w for w in re.findall(r"[a-z][a-z-]+", en) if len(w) > 4 or "-" in w}
        for m in msgs:
            text = m.string.lower()
            in_parentheses = " ".join(re.findall(r"\(([^)]*)\)", text))
            if any(re.search(rf"\b{re.escape(w)}", in_parentheses) for w in words):
                break                                   # the English is given (at or before first use)
            if len(m.string) >= 60 and any(f.lower() in text for f in forms):
                misses.append(f"{en!r}: first used without its English in {m.string[:80]!r}")
                break
    return misses


@pytest.mark.parametrize("page", CHAPTERS)
def test_each_term_gives_its_english_at_first_use(page: str) -> None:
    misses = first_use_misses(page)
    assert not misses, f"{len(misses)} in {page}:\n" + "\n".join(misses)
