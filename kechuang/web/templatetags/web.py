"""Template filters and tags every page uses: `{% load web %}`.

    {{ org|name }}              name_zh or name_en by the page's language (the other if empty)
    {{ amount|money }}          135亿元 / 13.5 billion yuan (an amount in yuan)
    {{ "2023H1"|period }}       2023年上半年 / 2023 H1
    {{ project.get_state_display|label }}  "approved 已立项" → 已立项 / approved
    {% sort_link "name" label %}  a column heading that sorts the list by that column
"""

import re
from decimal import Decimal, InvalidOperation

from django import template
from django.utils.html import format_html

from kechuang.statistics.periods import Period, PeriodError
from kechuang.statistics.units import format_money_en, format_money_zh

from .. import language

register = template.Library()


@register.filter
def name(thing) -> str:
    """The name of a region, organisation, metric … in the page's language."""
    if thing is None:
        return ""
    return language.bilingual(thing) or str(thing)


@register.filter
def other_name(thing) -> str:
    """The name in the other language, for a subtitle; empty where it is the same or missing."""
    if thing is None:
        return ""
    zh = getattr(thing, "name_zh", "") or ""
    en = getattr(thing, "name_en", "") or ""
    shown = name(thing)
    other = zh if language.current() == "en" else en
    return other if other and other != shown else ""


@register.filter
def bi(thing, field: str) -> str:
    """`{{ call|bi:"title" }}`: the field's _zh or _en value by the page's language."""
    return language.bilingual(thing, field)


#: The first Chinese character (or full-width punctuation) of a text.
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


@register.filter
def label(text) -> str:
    """A bilingual choice label, "english 中文" (the models' choices), in the page's language:
    the Chinese part in Chinese, the English part in English; a label without Chinese as it is."""
    text = str(text or "")
    found = _CJK.search(text)
    if not found or found.start() == 0:
        return text
    english, chinese = text[:found.start()].strip(), text[found.start():].strip()
    return english if language.current() == "en" else chinese


@register.filter
def money(amount, places: int = 2) -> str:
    """An amount in yuan as the page's language writes it; empty for none."""
    if amount is None or amount == "":
        return ""
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount)
    return format_money_en(value, int(places)) if language.current() == "en" else format_money_zh(value, int(places))


@register.filter
def period(code) -> str:
    """A period code (or Period) as a heading in the page's language."""
    if code is None or code == "":
        return ""
    try:
        value = code if isinstance(code, Period) else Period.parse(str(code))
    except PeriodError:
        return str(code)
    return value.label(language.current())


@register.simple_tag(takes_context=True)
def sort_link(context, column: str, label: str):
    """A sortable column heading: a link that sorts by `column`, and again the other way.

    The list's view reads `sort` from the URL (`lists.ordered`); the heading shows which way
    the list is sorted now (aria-sort on the <th> is set by the template from `sorted`).
    """
    request = context["request"]
    current = request.GET.get("sort", "")
    query = request.GET.copy()
    query.pop("page", None)
    descending = current == column
    query["sort"] = f"-{column}" if descending else column
    arrow = "▲" if current == column else "▼" if current == f"-{column}" else ""
    return format_html('<a href="?{}" class="sort">{} <span aria-hidden="true">{}</span></a>',
                       query.urlencode(), label, arrow)


@register.simple_tag(takes_context=True)
def aria_sort(context, column: str) -> str:
    current = context["request"].GET.get("sort", "")
    return "ascending" if current == column else "descending" if current == f"-{column}" else "none"


@register.simple_tag(takes_context=True)
def export_link(context, fmt: str) -> str:
    """The URL of this list with its filters, as a download (`?format=xlsx|csv`)."""
    query = context["request"].GET.copy()
    query.pop("page", None)
    query["format"] = fmt
    return "?" + query.urlencode()


@register.inclusion_tag("web/_workspace.html", takes_context=True)
def workspace(context):
    """What waits for the signed-in user (kechuang/web/workspace.py), as a panel of links."""
    from ..workspace import tasks_for

    request = context["request"]
    return {"tasks": tasks_for(request.user), "user": request.user}
