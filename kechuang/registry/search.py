"""Name search across Chinese, English, former names, pinyin and pinyin initials.

Each organisation keeps one lower-cased `search_text` holding every form of every
name, so that `zhongkeyi`, `zky`, `中科仪` and the USCC all find the same row with
one indexed-column match, not a join over aliases per query.
"""

import unicodedata

from pypinyin import Style, lazy_pinyin


def _fold(text: str) -> str:
    # NFKC turns full-width brackets and letters (（南通）, ＡＢＣ) into their ASCII forms;
    # control characters (NUL above all, which PostgreSQL refuses) never belong in a name.
    folded = "".join(ch for ch in unicodedata.normalize("NFKC", text) if unicodedata.category(ch) != "Cc")
    return " ".join(folded.lower().split())


def has_han(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def pinyin_forms(text: str) -> list[str]:
    """Full pinyin and initials of the Han characters in `text` (中科仪 → zhongkeyi, zky)."""
    han = "".join(ch for ch in text if has_han(ch))
    if not han:
        return []
    syllables = lazy_pinyin(han, style=Style.NORMAL, errors="ignore")
    return ["".join(syllables), "".join(s[0] for s in syllables if s)]


def build_search_text(names: list[str], codes: list[str] = ()) -> str:
    forms: list[str] = []
    for name in names:
        if not name:
            continue
        forms.append(_fold(name))
        forms.extend(pinyin_forms(name))
    forms.extend(_fold(code) for code in codes if code)
    # Deduplicate, keep order; "|" never occurs in a query so matches cannot span forms.
    return "|".join(dict.fromkeys(forms))


def normalise_query(text: str) -> str:
    return _fold(text or "").replace("|", "")


def organisation_search_text(org) -> str:
    names = [org.name_zh, org.name_en, *org.aliases.values_list("name", flat=True)]
    return build_search_text(names, [org.uscc or "", org.key])
