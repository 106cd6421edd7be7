"""The indicators' web pages: a region's dashboard, the explorer, and the records behind a value.

They read the query with the API's own `TableRequest`, ask the engine exactly as the API
does (`engine.areas_for`, `engine.evaluate(..., user=request.user)`,
`engine.contributions` through `visible_to`) and describe each value with the API's
`_value`: the pages hold no rule of their own about what a figure is or who may see it.
An anonymous visitor sees what the public sees.

htmx asks the dashboard for the part that changes when another period is picked
(`request.htmx`); the answer varies on the HX-Request header so that a cache never hands
the part to a full page load.
"""

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from django.http import HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kechuang.accounts.scoping import visible_to
from kechuang.designations.models import Designation, DesignationStep
from kechuang.programs.models import Project, ProjectTransition
from kechuang.registry.models import Location, Region
from kechuang.registry.views import HOME_REGION
from kechuang.statistics.models import Observation
from kechuang.statistics.periods import Period, PeriodError
from kechuang.statistics.units import format_money_en, format_money_zh
from kechuang.web import htmx, language

from . import api, cache, disclosure, display, engine, formulas, sources
from .models import Indicator, UnitKind

#: The dashboard's figures, in the order of the seed article; a code missing from the
#: catalogue (little giants come with the designations) is left out.
KEY_INDICATORS = (
    "projects_approved", "collaborations_introduced", "little_giants_new", "high_tech_share",
    "industrial_output_above_size", "technology_contract_turnover", "enterprises_above_size", "rd_intensity",
)
#: How many periods the dashboard's trend charts show: four years of half-years.
TREND_LENGTH = 8
#: The largest table the explorer draws on a page; a bigger one is for the xlsx download.
MAX_CELLS = 5000
#: The query the explorer (and its xlsx link) understands, in the order its URL writes them.
EXPLORER_FIELDS = ("codes", "region", "by", "within", "period", "period_from", "period_to")

_YOY = formulas.parse("yoy(value)")  # 同比: growth on the same period a year before, percent
_CHANGE = formulas.parse("change(value)")  # a share's change on a year before, percentage points

# --- one value, as a page shows it -----------------------------------------------------


@dataclass
class Figure:
    """One value as the API describes it (`api._value`), with what a page adds: the texts of
    the computed figure beside the official one, the reason in Chinese, and the link to the
    records behind it."""

    result: engine.Result
    described: dict
    url: str
    internal: bool = False  # the user sees this area's every figure (engine.internal_areas)
    computed_text: str = ""
    reason: str = ""
    reason_zh: str = ""

    @property
    def indicator(self) -> Indicator:
        return self.result.indicator

    @property
    def text(self) -> str:
        """The value as the page's language writes it (2个 / 2; 135亿元 / 13.5 billion yuan)."""
        return self.described["text_en" if language.current() == "en" else "text_zh"]

    @property
    def why(self) -> str:
        """Why the value is suppressed, in the page's language."""
        return (self.reason_zh if language.current() == "zh" else "") or self.reason

    @property
    def suppressed(self) -> bool:
        return self.described["suppressed"]

    @property
    def official(self) -> bool:
        return self.described["basis"] == "official"

    @property
    def differs(self) -> bool:
        return self.described["differs"]

    @property
    def provisional(self) -> bool:
        return self.described["provisional"]

    @property
    def confidential(self) -> bool:
        """Shown to this user although made of confidential figures: not for passing on. (A
        public figure of confidential statistics has passed disclosure control: no mark.)"""
        return self.described["confidential"] and self.internal and self.number is not None

    @property
    def number(self) -> float | None:
        """The shown value as a chart plots it (in the indicator's unit; money in yuan)."""
        value = self.described["value"]
        return None if value is None else float(value)


def describe(result: engine.Result, internal: set[str]) -> Figure:
    described = api._value(result, {})
    area = result.area
    query = {"region" if area.is_region else "within": area.key, "period": result.period.code}
    url = reverse("indicator-records", args=[result.indicator.code]) + "?" + urlencode(query)
    figure = Figure(result, described, url, internal=area.key in internal)
    if described["differs"] and described["computed"] is not None:
        figure.computed_text = display.text(result.indicator, Decimal(described["computed"]), language.current())
    if described["suppressed"]:
        figure.reason, figure.reason_zh = result.suppressed, disclosure.reason_zh(result.suppressed)
    return figure


@dataclass
class Change:
    """A shown value against the same period a year before: 同比 growth, or for a share
    its change in percentage points (the catalogue's `yoy` and `change`)."""

    text: str
    direction: str  # up, down, flat
    base: Period


def change_on_last_year(table: engine.Table, code: str, area: str, period: Period) -> Change | None:
    base = period.same_period_last_year()
    results = {at: table.get(code, area, at) for at in (period, base)}
    if len({result.basis for result in results.values()}) != 1:
        return None  # an official figure against a computed one is no change of the figure
    values = {at: result.shown for at, result in results.items()}
    indicator = results[period].indicator
    points = indicator.unit_kind in (UnitKind.PERCENT, UnitKind.POINTS)
    # A value hidden from the user in either period hides the change too: with one figure
    # and the change, the other could be worked out.
    change = formulas.evaluate(_CHANGE if points else _YOY, period, lambda _, at: values.get(at))
    if change is None:
        return None
    amount = display.rounded(change, 1)
    sign = "+" if amount > 0 else ""
    direction = "up" if amount > 0 else "down" if amount < 0 else "flat"
    if points:
        text = f"{sign}{amount:f} percentage points" if language.current() == "en" else f"{sign}{amount:f}个百分点"
    else:
        text = f"{sign}{amount:f}%"
    return Change(text, direction, base)


# --- the query -------------------------------------------------------------------------


def _query(request, names) -> dict:
    """The non-empty parameters named, as the API's TableRequest reads them."""
    return {name: request.GET[name].strip() for name in names if request.GET.get(name, "").strip()}


def _errors(serializer_errors) -> list[str]:
    """A DRF error dict as sentences naming the field."""
    found = []
    for name, problems in serializer_errors.items():
        for problem in problems if isinstance(problems, list) else [problems]:
            found.append(f"{name}: {problem}" if name != "non_field_errors" else str(problem))
    return found


def last_half_year(today: dt.date | None = None) -> Period:
    """The latest half-year that has ended (in Asia/Shanghai): the dashboard's default."""
    today = today or timezone.localdate()
    return Period.of_half(today.year - 1, 2) if today.month <= 6 else Period.of_half(today.year, 1)


def trend_of(period: Period) -> list[Period]:
    """The periods a trend chart shows, ending at `period`: the ones before it of its kind, or
    for a year-to-date range (1-5月) the same months of the years before."""
    if period.kind == "range":
        found = [period]
        while len(found) < TREND_LENGTH:
            found.insert(0, found[0].same_period_last_year())
        return found
    first = period
    for _step in range(TREND_LENGTH - 1):
        first = first.previous()
    return engine.period_series(first, period)


def _chart(indicator: Indicator, categories: list[str], series: list[dict], kind: str = "line") -> str:
    return json.dumps({"kind": kind, "unit": indicator.unit, "unitKind": indicator.unit_kind,
                       "precision": indicator.precision, "categories": categories, "series": series},
                      ensure_ascii=False)


# --- the region's dashboard ----------------------------------------------------------------


def _dashboard_request(request, code) -> tuple[Region, dict, Period | None, list[Period]]:
    """The region, the page's context so far, the period asked for (None when it is not one)
    and its trend's periods."""
    region = get_object_or_404(Region, code=code)
    context = {"region": region, "trail": [*region.ancestors(), region]}
    try:
        period = Period.parse(request.GET["period"]) if request.GET.get("period", "").strip() else last_half_year()
        series = trend_of(period)
    except (PeriodError, engine.EngineError) as error:
        period, series = None, []
        context["errors"] = [_("period: %(error)s") % {"error": error}]
    context.update(period=period, periods=_period_choices(period))
    return region, context, period, series


def _dashboard_areas(region: Region, period: Period) -> tuple[list[str], list[engine.Area]]:
    available = set(Indicator.objects.filter(code__in=KEY_INDICATORS).values_list("code", flat=True))
    codes = [code for code in KEY_INDICATORS if code in available]
    areas = [area for area in engine.areas_for(region.code, by="children", on=min(period.end, timezone.localdate()))
             if _existed(area.region, period)]
    return codes, areas


def region_dashboard(request, code):
    """A region's key indicators for a period, with the change on a year before and the
    region's children side by side (the region as their total). The trend charts come after
    the page, from `region_trends`: the figures of one period and the year before are what
    the page waits for, the eight periods of the trends are not."""
    region, context, period, series = _dashboard_request(request, code)
    if period is None:
        return _dashboard(request, context, status=400)
    codes, areas = _dashboard_areas(region, period)
    base = period.same_period_last_year()
    # One evaluation for the whole page, so that each cell is suppressed (or not) the same way
    # everywhere it appears: the children's table is the total's complement.
    table = engine.evaluate(codes, areas, sorted({period, base}), user=request.user)
    # The figures' part is what the table and the language make it: kept with the table, it is
    # written once a generation, not for each of the public's visits.
    key = ("dashboard", table.key, tuple(codes), region.code, period.code, language.current()) if table.key else None
    figures = cache.get(key) if key else None
    if figures is None:
        figures = _dashboard_figures(request, region, period, base, series, codes, areas, table)
        if key:
            cache.put(key, figures)
    context.update(figures=figures)
    return _dashboard(request, context)


def _dashboard_figures(request, region: Region, period: Period, base: Period, series: list[Period],
                       codes: list[str], areas: list[engine.Area], table: engine.Table) -> str:
    internal = engine.internal_areas(request.user, areas)
    cards = [{"figure": describe(table.get(indicator.code, region.code, period), internal),
              "change": change_on_last_year(table, indicator.code, region.code, period)}
             for indicator in table.indicators]
    children = [area for area in areas if area.key != region.code]
    context = dict(
        region=region, period=period, cards=cards, indicators=table.indicators,
        base=base, trend_first=series[0],
        trends=reverse("region-indicator-trends", args=[region.code]) + "?" + urlencode({"period": period.code}),
        rows=[(area, [describe(table.get(indicator.code, area.key, period), internal)
                      for indicator in table.indicators])
              for area in children],
        total=[describe(table.get(indicator.code, region.code, period), internal) for indicator in table.indicators],
        explorer=reverse("indicator-explorer") + "?" + urlencode({
            "codes": ",".join(codes), "region": region.code, "by": "children",
            "period_from": series[0].code, "period_to": period.code}),
    )
    # Escaped as it is written, like any template's output.
    return mark_safe(render_to_string("indicators/_dashboard_figures.html", context, request))


def region_trends(request, code):
    """The dashboard's trend charts, as JSON ({"charts": {indicator code: chart}}), which
    charts.js fetches after the page. The same areas as the page (the region and its
    children) are evaluated, so that a value is suppressed here exactly where the
    dashboard of that period suppresses it."""
    region, context, period, series = _dashboard_request(request, code)
    if period is None:
        response = JsonResponse({"errors": context["errors"]}, status=400)
    else:
        codes, areas = _dashboard_areas(region, period)
        table = engine.evaluate(codes, areas, series, user=request.user)
        internal = engine.internal_areas(request.user, areas)
        charts = {}
        for indicator in table.indicators:
            trend = [describe(table.get(indicator.code, region.code, at), internal) for at in series]
            charts[indicator.code] = json.loads(_chart(
                indicator, [at.label(language.current()) for at in series],
                [{"name": language.bilingual(region), "values": [figure.number for figure in trend]}]))
        response = JsonResponse({"charts": charts}, json_dumps_params={"ensure_ascii": False})
    patch_vary_headers(response, ("Cookie", "Accept-Language"))
    return response


def _existed(region: Region, period: Period) -> bool:
    """Whether a division existed at some time in the period: 通州市 (320683), which became
    通州区 in 2009, is no division of Nantong's to compare in 2023. (Validity ends are exclusive.)"""
    return ((region.valid_from is None or region.valid_from <= period.end)
            and (region.valid_to is None or region.valid_to > period.start))


def _dashboard(request, context: dict, status: int = 200) -> HttpResponse:
    return htmx.answer(request, "indicators/dashboard.html", "indicators/_dashboard.html", context, status)


def _period_choices(chosen: Period | None) -> list[Period]:
    """The half-years of the last ten years, the latest first, and the chosen period."""
    latest = last_half_year()
    found = [latest]
    while len(found) < 20:
        found.append(found[-1].previous())
    if chosen is not None and chosen not in found:
        found.insert(0, chosen)
    return found


# --- the explorer ----------------------------------------------------------------------


def explorer(request):
    """Indicators × regions × periods from a form whose query is the URL: a table and a chart
    per indicator, the xlsx of the API beside them, and the catalogue with its definitions."""
    # One canonical URL per query: codes=a,b (a form sends codes=a&codes=b) and no empty fields.
    codes = [code.strip() for value in request.GET.getlist("codes") for code in value.split(",") if code.strip()]
    canonical = {"codes": ",".join(dict.fromkeys(codes))} if codes else {}
    canonical.update(_query(request, EXPLORER_FIELDS[1:]))
    if canonical and QueryDict(urlencode(canonical)) != request.GET:
        return redirect(reverse("indicator-explorer") + "?" + urlencode(canonical))

    catalogue = list(Indicator.objects.select_related("official_metric").order_by("code"))
    context = {"catalogue": catalogue, "asked": canonical, "codes": codes, "by_choices": _by_choices(),
               "home_region": HOME_REGION}
    if not canonical:
        return htmx.answer(request, "indicators/explorer.html", None, context)
    errors = []
    if not codes:
        errors.append(_("codes: choose one or more indicators"))
    elif len(codes) > 50:
        errors.append(_("codes: at most 50 indicators in one table"))
    asked = api.TableRequest(data={name: value for name, value in canonical.items() if name != "codes"})
    if not asked.is_valid():
        errors += _errors(asked.errors)
    if not errors:
        data = asked.validated_data
        cells = len(codes) * len(data["areas"]) * len(data["periods"])
        if cells > MAX_CELLS:
            errors.append(_("The table has %(cells)s cells, more than the %(most)s a page shows: "
                            "narrow the query or download the xlsx.") % {"cells": cells, "most": MAX_CELLS})
        else:
            try:
                table = engine.evaluate(codes, data["areas"], data["periods"], user=request.user)
            except engine.EngineError as error:
                errors.append(f"codes: {error}")
            else:
                internal = engine.internal_areas(request.user, data["areas"])
                context["sections"] = [_section(table, indicator, internal) for indicator in table.indicators]
                context["periods"] = table.periods
    context["errors"] = errors
    context["download"] = (reverse("indicator-table") + "?" + urlencode({**canonical, "download": "xlsx"})
                           if canonical.get("codes") else "")
    return htmx.answer(request, "indicators/explorer.html", None, context, status=400 if errors else 200)


def _section(table: engine.Table, indicator: Indicator, internal: set[str]) -> dict:
    rows = [(area, [describe(table.get(indicator.code, area.key, period), internal) for period in table.periods])
            for area in table.areas]
    if len(table.periods) > 1:  # a line per area over the periods
        chart = _chart(indicator, [period.label(language.current()) for period in table.periods],
                       [{"name": language.bilingual(area), "values": [figure.number for figure in figures]}
                        for area, figures in rows])
    else:  # one period: a bar per area
        chart = _chart(indicator, [language.bilingual(area) for area, _figures in rows],
                       [{"name": table.periods[0].label(language.current()),
                         "values": [figures[0].number for _area, figures in rows]}],
                       kind="bar")
    return {"indicator": indicator, "rows": rows, "chart": chart}


BY_LABELS = {"children": gettext_lazy("every child division"), "province": gettext_lazy("every province"),
             "city": gettext_lazy("every city"), "district": gettext_lazy("every district"),
             "town": gettext_lazy("every town")}


def _by_choices() -> list[tuple[str, str]]:
    return [("", _("the region only"))] + [(value, BY_LABELS.get(value, value)) for value in engine.BY]


# --- the records behind a value ----------------------------------------------------------


def contributors(request, code):
    """The records behind one value, as far as the user may see them, and how many they may not."""
    indicator = get_object_or_404(Indicator, code=code)
    context = {"indicator": indicator, "errors": []}
    asked = api.TableRequest(data=_query(request, ("region", "within", "period")))
    if not asked.is_valid():
        context["errors"] = _errors(asked.errors)
    elif len(asked.validated_data["areas"]) != 1 or len(asked.validated_data["periods"]) != 1:
        context["errors"] = [_("region: contributors are listed for one region or park and one period")]
    if context["errors"]:
        return htmx.answer(request, "indicators/contributors.html", None, context, status=400)
    (area,), (period,) = asked.validated_data["areas"], asked.validated_data["periods"]
    public = area.key not in engine.internal_areas(request.user, [area])
    table = engine.evaluate([indicator.code], [area], [period], user=request.user)
    parts = []
    for part in engine.contributions(indicator.code, area, period, reviewed_only=public):
        visible = visible_to(part.records, request.user)
        subject = sources.find(part.measure.source).subject if part.measure.source else "organisation"
        related = api.RELATED.get(visible.model) or (subject,)
        records = [_record(row, subject) for row in visible.select_related(*related).order_by("pk")[:api.LISTED]]
        shown = visible.count()
        parts.append({"measure": part.measure, "period": part.period, "count": part.count, "records": records,
                      "not_visible": part.count - shown, "not_listed": shown - len(records)})
    trail = []
    if area.is_region:
        trail = [*area.region.ancestors(), area.region]
    figure = describe(table.get(indicator.code, area.key, period), set() if public else {area.key})
    context.update(area=area, period=period, figure=figure, parts=parts, trail=trail, public=public,
                   dashboard=(reverse("region-indicators", args=[area.key]) + "?" + urlencode({"period": period.code})
                              if area.is_region else ""),
                   api=reverse("indicator-contributors", args=[indicator.code]) + "?" + urlencode(
                       {"region" if area.is_region else "within": area.key, "period": period.code}))
    return htmx.answer(request, "indicators/contributors.html", None, context)


@dataclass
class Record:
    """One record behind a value, in the columns of the contributors' table."""

    kind: str
    organisation: object = None
    what: str = ""
    when: str = ""
    value: str = ""
    status: str = ""
    source: str = ""
    extra: dict = field(default_factory=dict)


def _record(row, subject: str) -> Record:
    if isinstance(row, Observation):
        return Record(_("figure"), row.organisation, f"{language.bilingual(row.metric)} {row.metric.code}",
                      _period_label(row.period),
                      f"{row.value.normalize():f} {row.metric.base_unit}", row.get_status_display(),
                      str(row.source) if row.source_id else "")
    if isinstance(row, ProjectTransition):
        project = row.project
        return Record(_("project"), project.applicant, f"{language.bilingual(project, 'title')} ({project.key})",
                      timezone.localtime(row.at).strftime("%Y-%m-%d %H:%M"), "", row.name,
                      extra={"synthetic": project.synthetic})
    if isinstance(row, Project):
        return Record(_("project"), row.applicant, f"{language.bilingual(row, 'title')} ({row.key})",
                      row.agreement_date.isoformat() if row.agreement_date else "",
                      _money(row.contract_value), row.get_state_display(),
                      extra={"synthetic": row.synthetic})
    if isinstance(row, DesignationStep | Designation):
        designation = row.designation if isinstance(row, DesignationStep) else row
        on = row.on if isinstance(row, DesignationStep) else designation.granted_on
        source = row.source or designation.source
        return Record(_("designation"), designation.organisation,
                      f"{language.bilingual(designation.type)} · {designation.get_level_display()} "
                      f"{designation.batch}".strip(),
                      on.isoformat() if on else "", "", designation.get_stage_display(), str(source or ""))
    if isinstance(row, Location):
        return Record(_("location"), row.organisation, f"{language.bilingual(row.region)} {row.region.code}",
                      row.valid_from.isoformat() if row.valid_from else "")
    organisation = row
    for step in subject.split("__"):  # the source's path from the row to its organisation
        organisation = getattr(organisation, step, None)
    return Record(str(type(row)._meta.verbose_name), organisation, str(row))


def _money(yuan: Decimal | None) -> str:
    if yuan is None:
        return ""
    return format_money_en(yuan) if language.current() == "en" else format_money_zh(yuan)


def _period_label(code: str) -> str:
    try:
        return Period.parse(code).label(language.current())
    except PeriodError:
        return code
