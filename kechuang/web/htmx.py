"""Pages that htmx updates in part: one answer for the whole page and for its part.

A control that changes part of a page (a filter, a period) asks the page's own URL with
htmx; the view answers with the part only. A full load, and htmx's restore of a page from
history (which puts the answer in the body), get the whole page. The answer varies on
HX-Request, so that a cache never hands the part to a full load.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def wants_part(request: HttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def answer(request: HttpRequest, full: str, part: str | None, context: dict, status: int = 200) -> HttpResponse:
    """`full` rendered, or `part` when htmx asked for the part (and there is one)."""
    template = part if part and wants_part(request) else full
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response
