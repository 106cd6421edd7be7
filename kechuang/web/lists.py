"""Every list page the same way: filters in the URL, sorting, pages, export.

A list view builds its queryset from the URL's filters, then

    rows = lists.ordered(request, queryset, {"name": "name_zh", "date": "closes_at"}, default="-date")
    if wanted := lists.export_format(request):
        return lists.download(rows, columns, "calls", wanted)
    page = lists.page(request, rows)

and its template includes `web/_pager.html` (which keeps the filters) and
`web/_export.html`. Exports are written by `kechuang.tabular.write_table`: formula-neutralised
text, numbers as numbers, CSV in UTF-8 with a BOM.
"""

import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from kechuang.tabular import write_table

PAGE_SIZE = 50
#: At most this many rows in one download: a list is filtered before it is exported.
EXPORT_LIMIT = 50_000
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


def ordered(request: HttpRequest, queryset: QuerySet, columns: Mapping[str, str | Sequence[str]],
            default: str) -> QuerySet:
    """The queryset sorted by the URL's `sort` (a key of `columns`, "-" for descending);
    an unknown key sorts by `default`. Each column's fields are followed by the primary key,
    so pages never overlap."""
    wanted = request.GET.get("sort", "") or default
    key = wanted.removeprefix("-")
    if key not in columns:
        wanted, key = default, default.removeprefix("-")
    fields = columns[key]
    fields = [fields] if isinstance(fields, str) else list(fields)
    sign = "-" if wanted.startswith("-") else ""
    return queryset.order_by(*[f"{sign}{field}" for field in fields], f"{sign}pk")


def page(request: HttpRequest, rows, size: int = PAGE_SIZE) -> Page:
    """The URL's page of `rows` (the last page for a number past the end, the first for junk)."""
    return Paginator(rows, size).get_page(request.GET.get("page"))


def export_format(request: HttpRequest) -> str | None:
    """"xlsx" or "csv" when the URL asks for a download, else None."""
    wanted = request.GET.get("format", "")
    return wanted if wanted in CONTENT_TYPES else None


def download(rows: Iterable[Any], columns: Sequence[tuple[str, Callable[[Any], Any]]], filename: str,
             fmt: str) -> HttpResponse:
    """`rows` as a spreadsheet: one column per (heading, value-of-row) pair."""
    header = [heading for heading, _ in columns]
    lines = ([value(row) for _, value in columns] for _, row in zip(range(EXPORT_LIMIT), rows, strict=False))
    buffer = io.BytesIO()
    write_table(lines, header, buffer, format=fmt)
    response = HttpResponse(buffer.getvalue(), content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response
