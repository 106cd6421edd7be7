"""The indicators over REST: the catalogue, values for regions × periods, and the records
behind a value.

    GET /api/v1/indicators/                         the catalogue
    GET /api/v1/indicators/{code}/values/?region=320612&period=2023H1
        &by=children          every child of the region, and the region as their total
        &by=district          every district below the region (city, town likewise)
        &within=KEY           a zone or park (with or instead of a region)
        &period_from=2019H1&period_to=2023H2   a series instead of one period
        &as_of=2024-01-01T00:00:00+08:00       as the data stood then
        &disclosure=public    see what the public sees
        &currency=USD&rate_date=2023-09-04     money also in another currency
        &download=xlsx|csv
    GET /api/v1/indicators/table/?codes=a,b&…       several indicators at once
    GET /api/v1/indicators/{code}/contributors/?region=320612&period=2023H1
    GET /api/v1/measures/, /api/v1/exchange-rates/

Anyone may ask for values: the public gets only figures the bureau approved, and a
computed figure of confidential statistics only where disclosure control lets it through.
Contributors list only the records the caller may see, and say how many they may not.
"""

import datetime as dt

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from kechuang.accounts.scoping import visible_to
from kechuang.api import spreadsheet
from kechuang.designations.models import Designation, DesignationStep
from kechuang.programs.models import Project, ProjectTransition
from kechuang.registry.models import Location
from kechuang.statistics.models import Observation
from kechuang.statistics.periods import Period, PeriodError
from kechuang.tabular import write_table

from . import display, engine
from .models import ExchangeRate, Indicator, Measure, UnitKind
from .services import IndicatorError, in_currency

# --- the catalogue -----------------------------------------------------------------------


class IndicatorSerializer(serializers.ModelSerializer):
    official_metric = serializers.SlugRelatedField(slug_field="code", read_only=True)
    source = serializers.SlugRelatedField(slug_field="key", read_only=True)

    class Meta:
        model = Indicator
        fields = ["code", "name_zh", "name_en", "description_zh", "description_en", "formula", "unit_kind", "unit",
                  "precision", "official_metric", "tolerance", "source"]


class MeasureSerializer(serializers.ModelSerializer):
    metric = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Measure
        fields = ["code", "name_zh", "name_en", "description_zh", "description_en", "kind", "aggregate", "metric",
                  "source", "subjects", "parameters"]


class ExchangeRateSerializer(serializers.ModelSerializer):
    source = serializers.SlugRelatedField(slug_field="key", read_only=True)

    class Meta:
        model = ExchangeRate
        fields = ["currency", "date", "rate", "source"]


# --- a request ---------------------------------------------------------------------------


class TableRequest(serializers.Serializer):
    """What a request for values names; every field is checked before anything is computed."""

    region = serializers.CharField(required=False, max_length=12, help_text="A division code, e.g. 320612.")
    by = serializers.ChoiceField(choices=engine.BY, required=False,
                                 help_text="children: every child of the region; city, district, town: every region "
                                           "of that level below it; the region itself comes last, as their total.")
    within = serializers.CharField(required=False, max_length=100, help_text="The key of a zone or park.")
    period = serializers.CharField(required=False, max_length=40, help_text="2023H1, 2023, 2023-01..2023-05 …")
    period_from = serializers.CharField(required=False, max_length=40)
    period_to = serializers.CharField(required=False, max_length=40)
    as_of = serializers.CharField(required=False, max_length=40, help_text="An ISO date-time.")
    disclosure = serializers.ChoiceField(choices=["auto", "public"], required=False, default="auto")
    currency = serializers.CharField(required=False, max_length=3)
    rate_date = serializers.DateField(required=False)
    money_unit = serializers.ChoiceField(choices=["", "元", "万元", "亿元"], required=False, default="")

    def validate(self, attrs):
        if not attrs.get("region") and not attrs.get("within"):
            raise ValidationError({"region": ["name a region (division code) or a zone or park (within)"]})
        attrs["periods"] = self._periods(attrs)
        # The divisions of the table are those in use at the end of its last period (or today).
        on = min(max(attrs["periods"]).end, timezone.localdate())
        try:
            attrs["areas"] = engine.areas_for(attrs.get("region"), by=attrs.get("by"), within=attrs.get("within"),
                                              on=on)
        except engine.EngineError as error:
            raise ValidationError({"within" if "zone" in str(error) and attrs.get("within") else "region": [str(error)]}) from None
        if attrs.get("as_of"):
            moment = parse_datetime(attrs["as_of"])
            if moment is None:
                raise ValidationError({"as_of": ["an ISO date-time, e.g. 2024-01-01T00:00:00+08:00"]})
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=engine.SHANGHAI)
            attrs["as_of"] = moment
        if attrs.get("currency") and not attrs.get("rate_date"):
            raise ValidationError({"rate_date": ["a conversion names the date of its rate"]})
        return attrs

    def _periods(self, attrs) -> list[Period]:
        try:
            if attrs.get("period_from") or attrs.get("period_to"):
                if not (attrs.get("period_from") and attrs.get("period_to")):
                    raise ValidationError({"period_to": ["a series names period_from and period_to"]})
                return engine.period_series(Period.parse(attrs["period_from"]), Period.parse(attrs["period_to"]))
            if not attrs.get("period"):
                raise ValidationError({"period": ["name a period (2023H1) or a series (period_from, period_to)"]})
            return [Period.parse(attrs["period"])]
        except (PeriodError, engine.EngineError) as error:
            raise ValidationError({"period": [str(error)]}) from None


TABLE_PARAMETERS = [
    OpenApiParameter("region", str), OpenApiParameter("by", str, enum=list(engine.BY)), OpenApiParameter("within", str),
    OpenApiParameter("period", str), OpenApiParameter("period_from", str), OpenApiParameter("period_to", str),
    OpenApiParameter("as_of", str), OpenApiParameter("disclosure", str, enum=["auto", "public"]),
    OpenApiParameter("currency", str), OpenApiParameter("rate_date", str),
    OpenApiParameter("money_unit", str, enum=["", "元", "万元", "亿元"]),
    OpenApiParameter("download", str, enum=["xlsx", "csv"]),
]

AREA = inline_serializer("IndicatorArea", {"key": serializers.CharField(), "kind": serializers.CharField(),
                                           "name_zh": serializers.CharField(), "name_en": serializers.CharField()})
VALUE = inline_serializer("IndicatorValue", {
    "indicator": serializers.CharField(), "area": AREA, "period": serializers.CharField(),
    "value": serializers.CharField(allow_null=True, help_text="What is shown: the official figure where there is "
                                                              "one; null where suppressed or unknown."),
    "basis": serializers.CharField(), "computed": serializers.CharField(allow_null=True),
    "official": serializers.CharField(allow_null=True), "differs": serializers.BooleanField(),
    "suppressed": serializers.BooleanField(), "note": serializers.CharField(),
    "confidential": serializers.BooleanField(), "provisional": serializers.BooleanField(),
    "contributors": serializers.IntegerField(), "unit": serializers.CharField(),
    "text_zh": serializers.CharField(), "text_en": serializers.CharField(), "as_of": serializers.DateTimeField(),
    "converted": serializers.DictField(required=False),
})
TABLE = inline_serializer("IndicatorTable", {
    "indicators": IndicatorSerializer(many=True), "as_of": serializers.DateTimeField(),
    "values": serializers.ListField(child=VALUE),
})


def _value(result: engine.Result, request: dict) -> dict:
    indicator = result.indicator
    public_hidden = result.basis == "computed" and bool(result.suppressed)
    computed = None if result.suppressed else display.rounded(result.computed, indicator.precision)
    shown = result.shown
    note = ""
    if public_hidden:
        note = f"suppressed: {result.suppressed}"
    elif result.basis == "official":
        note = "the official figure" + (" (differs from the computed one)" if result.differs else "")
    elif result.provisional:
        note = "provisional: includes figures the bureau has not approved yet"
    found = {
        "indicator": indicator.code,
        "area": {"key": result.area.key, "kind": "region" if result.area.is_region else "container",
                 "name_zh": result.area.name_zh, "name_en": result.area.name_en},
        "period": result.period.code,
        "value": _text(display.rounded(shown, indicator.precision)),
        "basis": result.basis,
        "computed": _text(computed),
        "official": _text(display.rounded(result.official, indicator.precision)),
        "differs": result.differs and not result.suppressed,
        "suppressed": public_hidden,
        "note": note,
        "confidential": result.confidential,
        "provisional": result.provisional,
        "contributors": result.contributors,
        "unit": indicator.unit,
        "text_zh": display.text(indicator, shown, "zh", request.get("money_unit", "")),
        "text_en": display.text(indicator, shown, "en", request.get("money_unit", "")),
        "as_of": result.as_of,
    }
    if request.get("currency") and indicator.unit_kind == UnitKind.MONEY and shown is not None:
        amount, rate = _convert(shown, request["currency"], request["rate_date"])
        found["converted"] = {"currency": rate.currency, "value": str(amount), "rate": str(rate.rate),
                              "rate_date": rate.date.isoformat(), "rate_source": rate.source.key}
    return found


def _convert(amount, currency: str, date: dt.date):
    try:
        return in_currency(amount, currency, date)
    except IndicatorError as error:
        raise ValidationError({"currency": [error.reason]}) from None


def _text(value) -> str | None:
    return None if value is None else f"{value:f}"


def _table(request, codes: list[str]) -> tuple[engine.Table, dict]:
    asked = TableRequest(data=request.query_params)
    asked.is_valid(raise_exception=True)
    data = asked.validated_data
    try:
        table = engine.evaluate(codes, data["areas"], data["periods"], user=request.user, as_of=data.get("as_of"),
                                public=True if data["disclosure"] == "public" else None)
    except engine.EngineError as error:
        raise ValidationError({"codes": [str(error)]}) from None
    return table, data


def _answer(request, table: engine.Table, data: dict, name: str):
    values = [_value(result, data) for result in table]
    if request.query_params.get("download"):
        def write(output, fmt):
            headers = ["indicator", "region", "name", "period", "value", "unit", "basis", "computed", "official",
                       "note"]
            rows = ([v["indicator"], v["area"]["key"], v["area"]["name_zh"], v["period"], v["value"], v["unit"],
                     v["basis"], v["computed"], v["official"], v["note"]] for v in values)
            write_table(rows, headers, output, fmt)
        return spreadsheet(request, name, write)
    return Response({"indicators": IndicatorSerializer(table.indicators, many=True).data, "as_of": table.as_of,
                     "values": values})


class IndicatorViewSet(viewsets.ReadOnlyModelViewSet):
    """The indicator catalogue (指标体系) and its values."""

    queryset = Indicator.objects.select_related("official_metric", "source")
    serializer_class = IndicatorSerializer
    lookup_field = "code"
    lookup_value_regex = r"[a-z][a-z0-9_]*"
    filterset_fields = ["unit_kind"]
    ordering_fields = ["code"]

    @extend_schema(parameters=TABLE_PARAMETERS, responses=TABLE, filters=False,
                   summary="The indicator for regions × periods, official and computed")
    @action(detail=True)
    def values(self, request, code=None):
        indicator = self.get_object()
        table, data = _table(request, [indicator.code])
        return _answer(request, table, data, f"{indicator.code}")

    @extend_schema(parameters=[OpenApiParameter("codes", str, required=True), *TABLE_PARAMETERS], responses=TABLE,
                   filters=False, summary="Several indicators for regions × periods, in one table")
    @action(detail=False)
    def table(self, request):
        codes = [code.strip() for code in request.query_params.get("codes", "").split(",") if code.strip()]
        if not codes:
            raise ValidationError({"codes": ["name one or more indicator codes, separated by commas"]})
        if len(codes) > 50:
            raise ValidationError({"codes": ["at most 50 indicators in one table"]})
        table, data = _table(request, codes)
        return _answer(request, table, data, "indicators")

    @extend_schema(
        parameters=[OpenApiParameter("region", str), OpenApiParameter("within", str),
                    OpenApiParameter("period", str, required=True), OpenApiParameter("as_of", str)],
        responses=inline_serializer("Contributors", {
            "indicator": serializers.CharField(), "period": serializers.CharField(), "area": AREA,
            "measures": serializers.ListField(child=serializers.DictField())}),
        filters=False, summary="The records behind a value: which observations, which projects")
    @action(detail=True)
    def contributors(self, request, code=None):
        indicator = self.get_object()
        asked = TableRequest(data=request.query_params)
        asked.is_valid(raise_exception=True)
        data = asked.validated_data
        if len(data["areas"]) != 1 or len(data["periods"]) != 1:
            raise ValidationError({"region": ["contributors are listed for one region or park and one period"]})
        area, period = data["areas"][0], data["periods"][0]
        public = area.key not in engine.internal_areas(request.user, [area])
        measures = []
        for part in engine.contributions(indicator.code, area, period, as_of=data.get("as_of"), reviewed_only=public):
            visible = visible_to(part.records, request.user)
            related = RELATED.get(visible.model, ())
            rows = [_record(record) for record in visible.select_related(*related).order_by("pk")[:LISTED]]
            measures.append({"measure": part.measure.code, "name_zh": part.measure.name_zh,
                             "name_en": part.measure.name_en, "period": part.period.code, "count": part.count,
                             "listed": len(rows), "not_visible": part.count - visible.count(), "records": rows})
        return Response({"indicator": indicator.code, "period": period.code,
                         "area": {"key": area.key, "kind": "region" if area.is_region else "container",
                                  "name_zh": area.name_zh, "name_en": area.name_en},
                         "measures": measures})

    @extend_schema(
        parameters=[OpenApiParameter("region", str), OpenApiParameter("within", str),
                    OpenApiParameter("period", str, required=True), OpenApiParameter("since", str, required=True)],
        responses=inline_serializer("Corrections", {
            "indicator": serializers.CharField(), "period": serializers.CharField(), "since": serializers.DateTimeField(),
            "corrections": serializers.ListField(child=serializers.DictField()), "not_visible": serializers.IntegerField()}),
        filters=False, summary="Figures behind a value added or corrected since a moment (a bulletin's publication)")
    @action(detail=True)
    def corrections(self, request, code=None):
        indicator = self.get_object()
        asked = TableRequest(data={**request.query_params.dict(), "as_of": request.query_params.get("since", "")})
        asked.is_valid(raise_exception=True)
        data = asked.validated_data
        if not data.get("as_of"):
            raise ValidationError({"since": ["an ISO date-time, e.g. 2023-09-04T00:00:00+08:00"]})
        if len(data["areas"]) != 1 or len(data["periods"]) != 1:
            raise ValidationError({"region": ["corrections are listed for one region or park and one period"]})
        area, period = data["areas"][0], data["periods"][0]
        found = engine.corrections(indicator.code, area, period, data["as_of"])
        visible = set(visible_to(Observation.objects.filter(pk__in=[c.observation.pk for c in found]), request.user)
                      .values_list("pk", flat=True))
        rows = [{"organisation": c.observation.organisation.key, "name_zh": c.observation.organisation.name_zh,
                 "metric": c.observation.metric.code, "period": c.observation.period,
                 "before": _text(c.before), "now": _text(c.observation.value),
                 "at": c.observation.created_at.isoformat(), "status": c.observation.status}
                for c in found if c.observation.pk in visible]
        return Response({"indicator": indicator.code, "period": period.code, "since": data["as_of"],
                         "corrections": rows, "not_visible": len(found) - len(rows)})


#: At most this many records are listed per measure; `count` says how many there are.
LISTED = 1000
RELATED = {Observation: ("organisation", "metric", "source"), ProjectTransition: ("project__applicant",),
           Project: ("applicant",), Location: ("organisation", "region"),
           DesignationStep: ("designation__organisation", "designation__type", "source"),
           Designation: ("organisation", "type", "source")}


def _record(record) -> dict:
    """One record behind a value, with what identifies it and where it comes from."""
    if isinstance(record, Observation):
        return {"type": "observation", "id": record.pk, "organisation": record.organisation.key,
                "name_zh": record.organisation.name_zh, "metric": record.metric.code, "period": record.period,
                "value": f"{record.value:f}", "status": record.status,
                "source": record.source.key if record.source_id else None,
                "import_job": record.import_job_id, "created_at": record.created_at.isoformat()}
    if isinstance(record, ProjectTransition):
        project = record.project
        return {"type": "project", "key": project.key, "title_zh": project.title_zh,
                "applicant": project.applicant.key, "category": project.category, "step": record.name,
                "at": record.at.isoformat(), "synthetic": project.synthetic}
    if isinstance(record, Project):
        return {"type": "project", "key": record.key, "title_zh": record.title_zh, "applicant": record.applicant.key,
                "agreement_date": record.agreement_date.isoformat() if record.agreement_date else None,
                "contract_value": f"{record.contract_value:f}" if record.contract_value is not None else None,
                "synthetic": record.synthetic}
    if isinstance(record, DesignationStep | Designation):
        designation = record.designation if isinstance(record, DesignationStep) else record
        source = record.source or designation.source
        return {"type": "designation", "organisation": designation.organisation.key,
                "name_zh": designation.organisation.name_zh, "designation_type": designation.type.code,
                "level": designation.level, "batch": designation.batch, "stage": designation.stage,
                "on": (record.on if isinstance(record, DesignationStep) else designation.granted_on).isoformat(),
                "source": source.key if source else None}
    if isinstance(record, Location):
        return {"type": "location", "organisation": record.organisation.key, "name_zh": record.organisation.name_zh,
                "region": record.region.code, "valid_from": record.valid_from.isoformat() if record.valid_from else None}
    return {"type": type(record).__name__.lower(), "id": record.pk}


class MeasureViewSet(viewsets.ReadOnlyModelViewSet):
    """The measures the indicators' formulas are made of."""

    queryset = Measure.objects.select_related("metric")
    serializer_class = MeasureSerializer
    lookup_field = "code"
    lookup_value_regex = r"[a-z][a-z0-9_]*"
    filterset_fields = ["kind"]


class ExchangeRateViewSet(viewsets.ReadOnlyModelViewSet):
    """Reference exchange rates (yuan per unit of a currency), each with its date and source."""

    queryset = ExchangeRate.objects.select_related("source")
    serializer_class = ExchangeRateSerializer
    filterset_fields = ["currency", "date"]
