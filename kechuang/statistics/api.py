"""REST resources of the statistics under /api/v1/.

    metrics/                      the catalogue (anyone reads it)
    observations/                 figures, scoped like their subjects; POST records one
    observations/<id>/submit|return|approve|publish/   the approval workflow
    observations/<id>/versions/   the figure's earlier values (corrections)
    locks/                        approved and locked periods; POST locks, <id>/unlock/ lifts
    completeness/?region=&period= enterprises above designated size that have not reported

A figure is never edited in place: a correction is a new POST for the same subject,
metric, period and kind, which supersedes the current figure and keeps it.
"""


import django_filters as filters
from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from kechuang.accounts.scoping import can_review, visible_to
from kechuang.api import SPREADSHEET_RESPONSES, answer_service_errors, spreadsheet
from kechuang.registry.api.fields import KeyRelatedField, storable
from kechuang.registry.api.serializers import organisation_field, region_field, source_field
from kechuang.registry.api.views import JSONParser
from kechuang.registry.filters import LookupFilter, ScopedLookups, TrueFalseFilter, organisation_filter, region_filter
from kechuang.registry.models import Region
from kechuang.tabular import write_table

from . import services
from .exports import export_observations
from .models import (
    Aggregation,
    DataLock,
    Metric,
    Observation,
    ObservationKind,
    ObservationStatus,
    UnitKind,
)
from .periods import Period, PeriodError

# --- metrics ---------------------------------------------------------------------------


class MetricSerializer(serializers.ModelSerializer):
    api_url = serializers.HyperlinkedIdentityField(view_name="metric-detail", lookup_field="code")
    part_of = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Metric
        fields = ["api_url", "code", "name_zh", "name_en", "definition_zh", "definition_en", "unit_kind",
                  "base_unit", "aggregation", "subject_kinds", "confidential", "non_negative", "part_of", "required"]


class MetricFilterSet(filters.FilterSet):
    q = filters.CharFilter(method="filter_q", max_length=200, help_text="Part of the code or a name.")
    unit_kind = filters.ChoiceFilter(choices=UnitKind.choices)
    aggregation = filters.ChoiceFilter(choices=Aggregation.choices)

    class Meta:
        model = Metric
        fields = []

    def filter_q(self, queryset, name, text):
        return queryset.filter(Q(code__icontains=text) | Q(name_zh__icontains=text) | Q(name_en__icontains=text))


class MetricViewSet(viewsets.ReadOnlyModelViewSet):
    """The metrics catalogue (统计指标): what is measured, in which unit, of whom."""

    queryset = Metric.objects.select_related("part_of")
    serializer_class = MetricSerializer
    filterset_class = MetricFilterSet
    lookup_field = "code"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    ordering_fields = ["code", "name_zh", "name_en"]


# --- observations ----------------------------------------------------------------------


class PeriodField(serializers.CharField):
    """A period code (2023, 2023H1, 2023Q3, 2023-07, 2023-01..2023-05) or a Chinese form
    (2023年上半年, 2023年1-5月); stored as its code."""

    def run_validation(self, data=serializers.empty):
        text = super().run_validation(data)  # the text's own checks (type, length) first
        try:
            return Period.parse(text)
        except PeriodError as exc:
            raise serializers.ValidationError(str(exc)) from None


class Conflict(APIException):
    """409: the figure changed between the moment this request read it and its decision
    (another bureau admin decided it at the same moment); reading it again shows theirs."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class ObservationSerializer(serializers.ModelSerializer):
    api_url = serializers.HyperlinkedIdentityField(view_name="observation-detail")
    organisation = organisation_field(required=False, allow_null=True,
                                      help_text="Key of the enterprise or park the figure is of.")
    region = region_field(required=False, allow_null=True, help_text="Code of the region, for a region's own figure.")
    metric = KeyRelatedField("metric", slug_field="code", queryset=Metric.objects.all())
    period = PeriodField(max_length=40)
    unit = serializers.CharField(write_only=True, required=False, max_length=30,
                                 help_text="The unit `value` is given in (万元, 亿元 …); default the metric's base unit.")
    base_unit = serializers.CharField(source="metric.base_unit", read_only=True)
    value = serializers.DecimalField(max_digits=24, decimal_places=4,
                                     help_text="In `unit` when writing; in the base unit when reading.")
    source = source_field()
    entered_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    reviewed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    current = serializers.SerializerMethodField()

    class Meta:
        model = Observation
        fields = ["api_url", "id", "organisation", "region", "metric", "period", "kind", "value", "base_unit",
                  "unit", "entered_value", "entered_unit", "status", "comment", "source", "entered_by", "interface",
                  "created_at", "reviewed_by", "reviewed_at", "superseded_at", "current"]
        read_only_fields = ["entered_value", "entered_unit", "comment", "interface", "created_at", "superseded_at"]
        extra_kwargs = {"status": {"required": False}}

    def get_current(self, row) -> bool:
        return row.superseded_at is None

    def get_validators(self):
        # One current figure per subject, metric, period and kind is the service's to keep
        # (a second one supersedes the first); DRF would refuse it as a duplicate.
        return []

    def to_internal_value(self, data):
        if isinstance(data, dict) and not storable(data):
            raise serializers.ValidationError({"non_field_errors": ["text cannot contain NUL characters"]})
        return super().to_internal_value(data)

    def validate(self, attrs):
        if bool(attrs.get("organisation")) == bool(attrs.get("region")):
            raise serializers.ValidationError(
                {"organisation": ["give the organisation or the region the figure is of (one of them)"]})
        return attrs

    def create(self, attrs):
        request = self.context["request"]
        subject = attrs.get("organisation") or attrs.get("region")
        return answer_service_errors(lambda: services.record_observation(
            subject, attrs["metric"], attrs["period"], attrs["value"], unit=attrs.get("unit"),
            kind=attrs.get("kind", ObservationKind.ACTUAL), by=request.user, source=attrs.get("source"),
            status=attrs.get("status", ObservationStatus.DRAFT)))


class ObservationFilterSet(ScopedLookups, filters.FilterSet):
    metric = LookupFilter(queryset=Metric.objects.all(), to_field="code", noun="metric", field_name="metric",
                          help_text="Metric code.")
    period = filters.CharFilter(method="filter_period", max_length=40,
                                help_text="Exactly this period (a code or a Chinese form).")
    within = filters.CharFilter(method="filter_within", max_length=40,
                                help_text="Periods lying within this one (2023: every month, quarter, range of 2023).")
    kind = filters.ChoiceFilter(choices=ObservationKind.choices)
    status = filters.ChoiceFilter(choices=ObservationStatus.choices)
    organisation = organisation_filter("Key of the enterprise or park.", field_name="organisation")
    region = region_filter("Code of a region: figures of it, of its subregions and of the organisations located "
                           "there now.", method="filter_region")
    current = TrueFalseFilter(method="filter_current",
                              help_text="Current figures only (default true); false lists superseded ones too.")

    class Meta:
        model = Observation
        fields = []

    @property
    def qs(self):
        queryset = super().qs
        if self.form.cleaned_data.get("current") is None:
            queryset = queryset.filter(superseded_at__isnull=True)
        return queryset

    def _period(self, text: str) -> Period:
        try:
            return Period.parse(text)
        except PeriodError as exc:
            raise DRFValidationError({"period": [str(exc)]}) from None

    def filter_period(self, queryset, name, text):
        return queryset.filter(period=self._period(text).code)

    def filter_within(self, queryset, name, text):
        period = self._period(text)
        return queryset.filter(period_start__gte=period.start, period_end__lte=period.end)

    def filter_region(self, queryset, name, region):
        return services.in_region(queryset, region)

    def filter_current(self, queryset, name, value):
        return queryset.filter(superseded_at__isnull=True) if value else queryset


RELATED = ("organisation", "region", "metric", "source", "entered_by", "reviewed_by")


class ObservationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                         viewsets.GenericViewSet):
    """Figures (统计数据). Enterprises report their own; park managers their tenants'; the
    bureau anyone's in its district, and approves, returns, locks and publishes them."""

    queryset = Observation.objects.select_related(*RELATED)
    serializer_class = ObservationSerializer
    filterset_class = ObservationFilterSet
    parser_classes = [JSONParser]
    ordering_fields = ["period_start", "period_end", "metric__code", "created_at", "value"]
    ordering = ["metric__code", "period_start", "period_end", "id"]

    def get_queryset(self):
        return visible_to(super().get_queryset(), self.request.user)

    def _transition(self, request, name: str):
        figure = self.get_object()
        comment = request.data.get("comment", "") if isinstance(request.data, dict) else ""
        if not isinstance(comment, str) or not storable(comment):
            raise DRFValidationError({"comment": ["give the comment as text"]})

        def take():
            try:
                return services.take(figure, name, by=request.user, comment=comment)
            except services.StatisticsConflict as conflict:
                raise Conflict({conflict.field: [conflict.reason]}) from None

        answer_service_errors(take)
        return Response(self.get_serializer(figure).data)

    @extend_schema(request=None, summary="Submit the figure to the bureau (报送)")
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._transition(request, "submit")

    @extend_schema(request=inline_serializer("ReturnComment", {"comment": serializers.CharField()}),
                   summary="Return the figure for correction, saying why (退回)")
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        return self._transition(request, "return")

    @extend_schema(request=None, summary="Approve the figure (审核通过)")
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._transition(request, "approve")

    @extend_schema(request=None, summary="Publish the figure (发布)")
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        return self._transition(request, "publish")

    @extend_schema(
        summary="The figures of the list, as a spreadsheet",
        description="The same filters as the list; `download=xlsx` (default) or `csv` (UTF-8 with a BOM, "
                    "which Excel opens correctly). Cells a spreadsheet would run as formulas are neutralised.",
        parameters=[OpenApiParameter("download", str, enum=["xlsx", "csv"])],
        responses=SPREADSHEET_RESPONSES,
    )
    @action(detail=False, methods=["get"])
    def export(self, request):
        return spreadsheet(request, "figures", lambda out, fmt: export_observations(
            self.filter_queryset(self.get_queryset()), out, format=fmt))

    @extend_schema(summary="Every value the figure has had, newest first", filters=False,
                   responses=ObservationSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def versions(self, request, pk=None):
        figure = self.get_object()
        versions = Observation.objects.filter(
            organisation=figure.organisation, region=figure.region, metric=figure.metric, period=figure.period,
            kind=figure.kind).select_related(*RELATED).order_by("-created_at", "-id")
        return Response(self.get_serializer(versions, many=True).data)


# --- locks -----------------------------------------------------------------------------


class DataLockSerializer(serializers.ModelSerializer):
    api_url = serializers.HyperlinkedIdentityField(view_name="datalock-detail")
    region = region_field()
    period = PeriodField(max_length=40)
    locked_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    unlocked_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approved = serializers.SerializerMethodField(
        help_text="On creation: how many submitted figures it approved; null when the lock is read back.")

    class Meta:
        model = DataLock
        fields = ["api_url", "id", "region", "period", "period_start", "period_end", "locked_by", "locked_at",
                  "unlocked_by", "unlocked_at", "unlock_reason", "approved"]
        read_only_fields = ["period_start", "period_end", "locked_at", "unlocked_at", "unlock_reason"]

    def get_approved(self, lock) -> int | None:
        return getattr(lock, "approved", None)

    def create(self, attrs):
        request = self.context["request"]
        lock, approved = answer_service_errors(
            lambda: services.lock_region_period(attrs["region"], attrs["period"], by=request.user))
        lock.approved = approved
        return lock


class DataLockViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      viewsets.GenericViewSet):
    """Approved and locked periods (数据审核锁定). Locking approves the region's submitted
    figures for the period; unlocking needs a reason, kept on record."""

    queryset = DataLock.objects.select_related("region", "locked_by", "unlocked_by")
    serializer_class = DataLockSerializer
    parser_classes = [JSONParser]
    filterset_fields = []

    def get_queryset(self):
        return visible_to(super().get_queryset(), self.request.user)

    @extend_schema(request=inline_serializer("UnlockReason", {"reason": serializers.CharField()}),
                   summary="Lift the lock, saying why")
    @action(detail=True, methods=["post"])
    def unlock(self, request, pk=None):
        lock = self.get_object()
        reason = request.data.get("reason", "") if isinstance(request.data, dict) else ""
        if not isinstance(reason, str) or not storable(reason):
            raise DRFValidationError({"reason": ["give the reason as text"]})
        answer_service_errors(lambda: services.unlock(lock, by=request.user, reason=reason))
        return Response(self.get_serializer(lock).data)


# --- completeness ----------------------------------------------------------------------


class MissingReportSerializer(serializers.Serializer):
    organisation = serializers.CharField(help_text="Key of the enterprise.")
    name_zh = serializers.CharField()
    name_en = serializers.CharField()
    missing = serializers.ListField(child=serializers.CharField(), help_text="Codes of the metrics not reported.")


class CompletenessView(APIView):
    """Enterprises above designated size located in a region that have not reported every
    required metric for a period. For the bureau of that region."""

    @extend_schema(
        parameters=[
            OpenApiParameter("region", str, required=True, description="Region code, e.g. 320612"),
            OpenApiParameter("period", str, required=True, description="Period code or Chinese form"),
            OpenApiParameter("download", str, enum=["xlsx", "csv"], description="The list as a spreadsheet"),
        ],
        responses={200: MissingReportSerializer(many=True), **SPREADSHEET_RESPONSES},
    )
    def get(self, request):
        region = Region.objects.filter(code=str(request.query_params.get("region", ""))[:12]).first()
        if region is None:
            raise DRFValidationError({"region": ["give the code of a region, e.g. ?region=320612"]})
        if not can_review(request.user, region):
            raise PermissionDenied("the completeness list is for the bureau of that region")
        period = answer_service_errors(lambda: services.parse_period(str(request.query_params.get("period", ""))))
        missing = services.missing_reports(region, period)
        rows = [{"organisation": org.key, "name_zh": org.name_zh, "name_en": org.name_en, "missing": codes}
                for org, codes in missing]
        if "download" in request.query_params:
            table = [{"企业 key": row["organisation"], "名称 name": row["name_zh"] or row["name_en"],
                      "未报指标 missing": ", ".join(row["missing"])} for row in rows]
            return spreadsheet(request, f"missing-{region.code}-{period.code}", lambda out, fmt: write_table(
                table, ["企业 key", "名称 name", "未报指标 missing"], out, format=fmt))
        return Response(MissingReportSerializer(rows, many=True).data)
