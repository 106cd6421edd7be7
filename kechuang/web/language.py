"""The page's language as the formatting code knows it: "zh" or "en".

Django's active language is "zh-hans" or "en" (LocaleMiddleware: the session's choice, the
cookie, then the browser's Accept-Language); the formatters of periods, money and
indicator values take the short form.
"""

from django.utils import translation


def current() -> str:
    """"en" when the active language is English, else "zh" (the default, and Chinese variants)."""
    return "en" if (translation.get_language() or "").startswith("en") else "zh"


def pick(zh: str, en: str) -> str:
    """The text in the page's language, or the other one where that is empty."""
    first, second = (en, zh) if current() == "en" else (zh, en)
    return first or second or ""


def bilingual(thing, field: str = "name") -> str:
    """`thing`'s `<field>_zh` or `<field>_en` in the page's language (the other where that is
    empty): a region's, organisation's, metric's or indicator's name, a project's title."""
    return pick(getattr(thing, f"{field}_zh", "") or "", getattr(thing, f"{field}_en", "") or "")
