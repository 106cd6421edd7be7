"""Every string the pages show is translated into Chinese, and the compiled catalogues are the
ones the sources say: an untranslated or stale message would show English to a Chinese page."""

import re
from pathlib import Path

import polib
import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "kechuang"
CATALOGUES = sorted(PACKAGE.glob("*/locale/zh_Hans/LC_MESSAGES/django.po"))
#: {% translate "…" %} and {% translate '…' %} with a literal (the common form), with or without
#: `context "…"`, `noop` or `as name` after it.
LITERAL = re.compile(r"""{%\s*translate\s+(?P<q>["'])(?P<text>(?:(?!(?P=q)).)*)(?P=q)[^%]*%}""")


def test_the_apps_with_pages_have_a_chinese_catalogue():
    apps = {path.parents[3].name for path in CATALOGUES}
    assert {"web", "indicators", "accounts"} <= apps


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda path: path.parents[3].name)
def test_every_message_is_translated_and_none_is_fuzzy(path):
    catalogue = polib.pofile(str(path))
    assert catalogue.untranslated_entries() == []
    assert catalogue.fuzzy_entries() == []
    assert catalogue.percent_translated() == 100


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda path: path.parents[3].name)
def test_the_compiled_catalogue_is_the_source_compiled(path):
    source = polib.pofile(str(path))
    compiled = polib.mofile(str(path.with_suffix(".mo")))
    wanted = {(entry.msgctxt, entry.msgid): entry.msgstr or entry.msgstr_plural for entry in source
              if not entry.obsolete}
    held = {(entry.msgctxt, entry.msgid): entry.msgstr or entry.msgstr_plural for entry in compiled}
    assert held == wanted, f"{path.with_suffix('.mo')} is stale: run msgfmt (docs/web.md, Translations)"


def test_every_literal_translate_tag_of_a_template_is_in_a_catalogue():
    known = {entry.msgid for path in CATALOGUES for entry in polib.pofile(str(path))}
    missing = []
    for template in PACKAGE.glob("*/templates/**/*.html"):
        for found in LITERAL.finditer(template.read_text(encoding="utf-8")):
            if found["text"] not in known:
                missing.append(f"{template.relative_to(PACKAGE)}: {found['text']!r}")
    assert missing == [], "run makemessages in the app's directory and translate (docs/web.md)"
