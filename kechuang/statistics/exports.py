"""Figures to files (统计数据导出): any queryset of observations as .xlsx or CSV.

The columns are those the importer reads (importer.COLUMN_NAMES), so an export can be
corrected in Excel and imported again. Text goes through tabular.write_table, which
neutralises cells a spreadsheet would run as formulas (a company named "=HYPERLINK(…)").
Callers narrow the queryset to what the user may see first (scoping.visible_to).
"""

import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, BinaryIO

from django.db.models import OuterRef, QuerySet, Subquery

from kechuang.registry.models import Location
from kechuang.tabular import write_table

from .models import Observation

EXPORT_COLUMNS = (
    "主体标识 key", "主体名称 name", "统一社会信用代码 USCC", "所在地区 region", "指标代码 metric",
    "指标名称 metric name", "期间 period", "类型 kind", "数值 value", "单位 unit", "状态 status", "来源 source",
)

_FIELDS = ("organisation__key", "organisation__name_zh", "organisation__name_en", "organisation__uscc",
           "location_code", "region__code", "region__name_zh", "metric__code", "metric__name_zh", "period", "kind",
           "value", "metric__base_unit", "status", "source__key")


def export_rows(queryset: QuerySet[Observation]) -> Iterator[dict[str, Any]]:
    """One row per observation, keyed by EXPORT_COLUMNS, read in chunks (one query per chunk).

    The subject is an organisation (its key, name, USCC and the region it is located in now)
    or a region (its code stands as the key). The value is in the metric's base unit.
    """
    located_in = Location.objects.filter(organisation=OuterRef("organisation_id"), valid_to__isnull=True)
    rows = (queryset.annotate(location_code=Subquery(located_in.values("region__code")[:1]))
            .order_by("metric__code", "period_start", "period_end", "organisation__key", "region__code", "kind", "id")
            .values_list(*_FIELDS))
    for (key, name_zh, name_en, uscc, location, region_code, region_name, metric, metric_name, period, kind, value,
         unit, status, source) in rows.iterator(chunk_size=2000):
        yield {
            "主体标识 key": key or region_code,
            "主体名称 name": (name_zh or name_en) if key else region_name,
            "统一社会信用代码 USCC": uscc or "",
            "所在地区 region": location if key else region_code,
            "指标代码 metric": metric,
            "指标名称 metric name": metric_name,
            "期间 period": period,
            "类型 kind": kind,
            "数值 value": _plain(value),
            "单位 unit": unit,
            "状态 status": status,
            "来源 source": source or "",
        }


def export_observations(queryset: QuerySet[Observation], destination: str | os.PathLike | BinaryIO,
                        format: str = "xlsx") -> int:
    """Write the observations to an .xlsx workbook or a CSV file (UTF-8 with a BOM). Returns the rows written."""
    rows = list(export_rows(queryset))
    write_table(rows, EXPORT_COLUMNS, destination, format=format)
    return len(rows)


def _plain(value: Decimal | None) -> Decimal | None:
    """12345000.0000 as 12345000: the stored scale is not the figure's precision."""
    if value is None:
        return None
    value = value.normalize()
    return value.quantize(Decimal(1)) if value.as_tuple().exponent > 0 else value
