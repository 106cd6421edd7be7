"""Screening over REST (URLs: kechuang/designations/urls_screening.py).

    GET /api/v1/screening/rulesets/                  every rule set (?date= says which are in force)
    GET /api/v1/screening/rulesets/{code}/           its criteria, thresholds, brackets, score tables,
                                                     each with its source and whether it is verified
    GET /api/v1/screening/?ruleset=&region=&date=    the cultivation pool, closest first, paginated;
                                                     &download=xlsx (or csv) for the whole pool
    GET /api/v1/screening/{organisation key}/?ruleset=&date=    one enterprise's explanation

`ruleset` is a code (HNTE-2016) or a family (hnte, little-giant …): a family picks the version
in force on `date` (default today). The rule sets are published policy: anyone may read them.
Screening needs a signed-in user (401 otherwise): the pool is the bureau's and analysts' of a
region holding the one asked for (403 for anyone else); one enterprise, whoever may see it
(its own users, its park's managers, the bureau and analysts of its district; 404 otherwise).
"""

import datetime as dt

from django.utils.dateparse import parse_date
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import permissions, serializers, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from kechuang.api import SPREADSHEET_RESPONSES, Pagination, answer_service_errors, spreadsheet
from kechuang.tabular import write_table

from . import report
from .loader import rule_sets
from .screening import NotVisible, find_rule_set, list_rule_sets, screen_organisation, screen_region, today

DATE = OpenApiParameter("date", OpenApiTypes.DATE, description="The screening (application) date; default today. "
                                                                "It picks the rules in force and the years read.")
RULESET = OpenApiParameter("ruleset", str, required=True,
                           description="A rule set code (HNTE-2016) or a family (hnte, innovative-sme, srdi-sme, "
                                       "little-giant, tech-sme)")

def many(serializer):
    """The list of a component declared once (inline_serializer gives one instance)."""
    return serializer.__class__(many=True)


STATUS_HELP = "pass, fail, missing (data not reported or not computable) or awaiting (an expert's judgement)"
NOTE = inline_serializer("ScreeningNote", {"zh": serializers.CharField(), "en": serializers.CharField()})
RULESET_SUMMARY = inline_serializer("RuleSetSummary", {
    "code": serializers.CharField(), "family": serializers.CharField(), "grants": serializers.CharField(),
    "grants_name_zh": serializers.CharField(), "grants_name_en": serializers.CharField(),
    "rule_version": serializers.CharField(allow_null=True), "name_zh": serializers.CharField(),
    "name_en": serializers.CharField(), "effective_from": serializers.DateField(),
    "effective_to": serializers.DateField(allow_null=True), "effective_verified": serializers.BooleanField(),
    "effective_note": many(NOTE), "in_force": serializers.BooleanField(),
    "based_on": serializers.CharField(allow_null=True), "caveat": many(NOTE),
    "unverified_parameters": serializers.ListField(child=serializers.CharField()), "file": serializers.CharField(),
})
RULESET_DETAIL = inline_serializer("RuleSetDetail", {
    **{name: field for name, field in RULESET_SUMMARY.fields.items()},
    "sources": serializers.ListField(child=serializers.DictField()),
    "parameters": serializers.ListField(child=serializers.DictField(),
                                        help_text="Configurable numbers; verified=false marks those not confirmed "
                                                  "against the official text."),
    "figures": serializers.ListField(child=serializers.DictField()),
    "judgements": serializers.ListField(child=serializers.DictField()),
    "criteria": serializers.ListField(child=serializers.DictField(),
                                      help_text="The criteria tree: thresholds, brackets, score tables, citations."),
})
CRITERION_LINE = inline_serializer("ScreeningCriterionLine", {
    "code": serializers.CharField(), "name_zh": serializers.CharField(), "name_en": serializers.CharField(),
    "status": serializers.CharField(help_text=STATUS_HELP),
    "verified": serializers.BooleanField(), "text_zh": serializers.CharField(), "text_en": serializers.CharField(),
})
CLOSENESS = inline_serializer("ScreeningCloseness", {
    "unmet": serializers.IntegerField(help_text="criteria failed or lacking data"),
    "shortfall": serializers.CharField(help_text="total relative shortfall (a criterion lacking data counts 1)"),
    "awaiting": serializers.IntegerField(help_text="criteria awaiting an expert's judgement"),
})
ORGANISATION = inline_serializer("ScreenedOrganisation", {
    "key": serializers.CharField(), "name_zh": serializers.CharField(), "name_en": serializers.CharField()})
POOL_ROW = inline_serializer("PoolRow", {
    "rank": serializers.IntegerField(), "organisation": ORGANISATION,
    "status": serializers.CharField(help_text=STATUS_HELP),
    "verdict_zh": serializers.CharField(), "verdict_en": serializers.CharField(), "closeness": CLOSENESS,
    "criteria": many(CRITERION_LINE),
})
POOL = inline_serializer("CultivationPool", {
    "ruleset": RULESET_SUMMARY, "region": serializers.DictField(), "date": serializers.DateField(),
    "year": serializers.IntegerField(help_text="the last full year: the rules' “last year”"),
    "count": serializers.IntegerField(), "next": serializers.URLField(allow_null=True),
    "previous": serializers.URLField(allow_null=True), "results": many(POOL_ROW),
})
# One pool (a page with its rule set and region), though it answers a `list` action.
extend_schema_serializer(many=False)(POOL.__class__)
EXPLANATION = inline_serializer("ScreeningExplanation", {
    "rank": serializers.IntegerField(allow_null=True), "organisation": ORGANISATION,
    "status": serializers.CharField(), "verdict_zh": serializers.CharField(), "verdict_en": serializers.CharField(),
    "closeness": CLOSENESS, "ruleset": serializers.CharField(), "date": serializers.DateField(),
    "year": serializers.IntegerField(), "caveat": many(NOTE),
    "criteria": serializers.ListField(child=serializers.DictField(),
                                      help_text="Every criterion: status, sentence (zh, en), figures used with their "
                                                "periods and sources, threshold, points, children."),
})


def _date(request) -> dt.date:
    text = request.query_params.get("date")
    if not text:
        return today()
    try:
        day = parse_date(text) if len(text) == 10 else None
    except ValueError:  # the shape of a date, but no such day (2026-13-01)
        day = None
    if day is None:
        raise ValidationError({"date": [f"{text!r} is not a date YYYY-MM-DD"]})
    return day


def _ruleset_name(request) -> str:
    name = request.query_params.get("ruleset", "").strip()
    if not name:
        raise ValidationError({"ruleset": ["name a rule set (HNTE-2016) or a family (hnte); "
                                           "GET /api/v1/screening/rulesets/ lists them"]})
    return name


class RuleSetViewSet(viewsets.ViewSet):
    """The eligibility rule sets (资格条件) the screening applies, as data with their sources."""

    lookup_field = "code"
    lookup_value_regex = r"[A-Za-z0-9][A-Za-z0-9._-]*"

    @extend_schema(parameters=[DATE], responses=many(RULESET_SUMMARY), summary="Every rule set")
    def list(self, request):
        on = _date(request)
        return Response([report.rule_set_summary(rule_set, on) for rule_set in list_rule_sets()])

    @extend_schema(parameters=[OpenApiParameter("code", str, OpenApiParameter.PATH), DATE], responses=RULESET_DETAIL,
                   summary="One rule set: criteria, thresholds, brackets, score tables, sources, unverified parameters")
    def retrieve(self, request, code=None):
        rule_set = {c.lower(): r for c, r in rule_sets().items()}.get((code or "").lower())
        if rule_set is None:
            raise NotFound(f"no rule set has the code {code!r}")
        return Response(report.rule_set_detail(rule_set, _date(request)))


class ScreeningViewSet(viewsets.ViewSet):
    """Screening enterprises against a rule set: the cultivation pool (培育库) and one enterprise's explanation."""

    permission_classes = [permissions.IsAuthenticated]
    lookup_field = "key"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"

    @extend_schema(parameters=[RULESET, OpenApiParameter("region", str, required=True,
                                                         description="A division code, e.g. 320612"), DATE,
                               OpenApiParameter("page", int), OpenApiParameter("page_size", int),
                               OpenApiParameter("download", str, enum=["xlsx", "csv"])],
                   responses={200: POOL, **SPREADSHEET_RESPONSES}, operation_id="v1_screening_list",
                   summary="The cultivation pool of a region, closest first (`download=`: as a spreadsheet)")
    def list(self, request):
        on, name = _date(request), _ruleset_name(request)
        region = request.query_params.get("region", "").strip()
        if not region:
            raise ValidationError({"region": ["name a region by its division code, e.g. 320612"]})
        pool = answer_service_errors(lambda: screen_region(find_rule_set(name, on), region, on, user=request.user))
        if request.query_params.get("download"):
            header, rows = report.pool_table(pool)
            return spreadsheet(request, f"pool-{pool.rule_set.code}-{pool.region.code}-{on.isoformat()}",
                               lambda output, fmt: write_table(rows, header, output, fmt))
        paginator = Pagination()
        page = paginator.paginate_queryset(pool.results, request, view=self)
        return Response({
            "ruleset": report.rule_set_summary(pool.rule_set, on),
            "region": {"code": pool.region.code, "name_zh": pool.region.name_zh, "name_en": pool.region.name_en},
            "date": on.isoformat(), "year": pool.year,
            "count": paginator.page.paginator.count, "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
            "results": [report.screening_summary(screening, pool.metric_names) for screening in page],
        })

    @extend_schema(parameters=[OpenApiParameter("key", str, OpenApiParameter.PATH,
                                                description="The organisation's key"), RULESET, DATE],
                   responses={200: EXPLANATION}, summary="One enterprise screened: every criterion explained")
    def retrieve(self, request, key=None):
        on, name = _date(request), _ruleset_name(request)
        def screen():
            try:
                return screen_organisation(key, find_rule_set(name, on), on, user=request.user)
            except NotVisible as error:  # not there, or not the caller's to see: alike, as for any row
                raise NotFound(error.reason) from None

        screening, names = answer_service_errors(screen)
        return Response(report.screening_detail(screening, names))
