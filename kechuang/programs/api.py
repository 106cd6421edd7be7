"""REST resources of the programmes under /api/v1/.

    calls/                          calls for applications; POST opens one (the bureau)
    calls/<key>/ranking/            the call's projects by mean review score (the bureau)
    projects/                       applications and projects, scoped; POST creates a draft
    projects/<key>/<transition>/    submit, withdraw, return, start_review, approve, reject,
                                    start, complete, terminate (services.LIFECYCLE)
    projects/<key>/transitions/     the project's steps: who, when, why
    projects/export/                the filtered list as xlsx (Chinese headers for zh-hans)
    projects/<key>/tranches/        funding tranches; POST plans them (the bureau)
    projects/<key>/tranches/<seq>/pay/      records a payment (the bureau)
    projects/<key>/reports/         progress reports; POST schedules them (the bureau)
    projects/<key>/reports/<id>/submit/     the applicant's report; …/accept/, …/return/ (the bureau)
    projects/<key>/outcomes/        patents, products, standards, revenue; POST records one
    projects/<key>/attachments/     files; POST uploads one (multipart/form-data, field `file`)
    projects/<key>/attachments/<id>/download/   the file itself, for whoever sees the project
    reviews/                        review assignments; POST assigns (the bureau);
    reviews/<id>/submit/            the assigned reviewer's scores
"""

from decimal import Decimal

import django_filters as filters
from django.contrib.auth import get_user_model
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone, translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, parsers, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response

from kechuang.accounts.scoping import visible_to, workspaces
from kechuang.api import SPREADSHEET_RESPONSES, answer_service_errors, spreadsheet
from kechuang.registry.api.fields import KeyRelatedField, storable
from kechuang.registry.api.serializers import organisation_field, region_field
from kechuang.registry.api.views import JSONParser
from kechuang.registry.filters import region_filter
from kechuang.registry.models import Organisation
from kechuang.statistics.periods import Period, PeriodError
from kechuang.tabular import write_table

from . import delivery, services
from .attachments import attach, download_name, max_bytes, readable_size
from .counts import window
from .models import (
    OUTSTANDING,
    Attachment,
    Call,
    Outcome,
    OutcomeKind,
    PartyRole,
    ProgressReport,
    Project,
    ProjectKind,
    ProjectState,
    ProjectTransition,
    ReviewAssignment,
    Tranche,
)


def text_of(request, name: str, limit: int = 4000) -> str:
    """The text field `name` of a JSON object body (empty when not sent). Any other body
    (a list, a number) or value is refused, naming the field; so is a text too long for
    the record, rather than cut short."""
    if not isinstance(request.data, dict):
        raise DRFValidationError({"non_field_errors": [f'send a JSON object, e.g. {{"{name}": "…"}}']})
    value = request.data.get(name, "")
    if not isinstance(value, str) or not storable(value):
        raise DRFValidationError({name: ["give it as text"]})
    if len(value) > limit:
        raise DRFValidationError({name: [f"at most {limit} characters ({len(value)} sent)"]})
    return value


# --- calls -------------------------------------------------------------------------------


class CallSerializer(serializers.ModelSerializer):
    api_url = serializers.HyperlinkedIdentityField(view_name="call-detail", lookup_field="key")
    region = region_field()
    categories = serializers.ListField(child=serializers.CharField(max_length=100), allow_empty=False)
    criteria = serializers.ListField(child=serializers.DictField(), required=False)
    required_documents = serializers.ListField(child=serializers.CharField(max_length=200), required=False)

    class Meta:
        model = Call
        fields = ["api_url", "key", "programme_zh", "programme_en", "region", "categories", "opens", "closes",
                  "required_documents", "criteria", "budget", "places", "review_days", "synthetic"]
        read_only_fields = ["synthetic"]

    def to_internal_value(self, data):
        if isinstance(data, dict) and not storable(data):
            raise serializers.ValidationError({"non_field_errors": ["text cannot contain NUL characters"]})
        return super().to_internal_value(data)

    def get_validators(self):
        return []  # the service checks (and names the field)

    def create(self, attrs):
        request = self.context["request"]
        return answer_service_errors(lambda: services.open_call(attrs.pop("region"), by=request.user, **attrs))


class CallViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                  viewsets.GenericViewSet):
    """Calls for applications (申报通知)."""

    queryset = Call.objects.select_related("region")
    serializer_class = CallSerializer
    lookup_field = "key"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    parser_classes = [JSONParser]
    filterset_fields = []

    def get_queryset(self):
        return visible_to(super().get_queryset(), self.request.user)

    @extend_schema(summary="The call's projects, best mean review score first (the bureau)",
                   responses=inline_serializer("RankedProject", {
                       "project": serializers.CharField(), "title_zh": serializers.CharField(),
                       "state": serializers.CharField(),
                       "mean_total": serializers.DecimalField(7, 2, allow_null=True,
                                                              help_text="null until a review has scored it"),
                       "reviews": serializers.IntegerField(),
                       "totals": serializers.ListField(child=serializers.DecimalField(7, 2))}, many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def ranking(self, request, key=None):
        ranked = answer_service_errors(lambda: services.ranking(self.get_object(), by=request.user))
        def decimal(value):  # as the serializers render decimals: exact, as text
            return None if value is None else f"{value:.2f}"

        return Response([{"project": r.project.key, "title_zh": r.project.title_zh, "state": r.project.state,
                          "mean_total": decimal(r.mean_total), "reviews": r.reviews,
                          "totals": [decimal(total) for total in r.totals]} for r in ranked])


# --- projects ----------------------------------------------------------------------------


class PartySerializer(serializers.Serializer):
    organisation = KeyRelatedField("organisation", slug_field="key", queryset=Organisation.objects.all(),
                                   scoped=False, help_text="Key of the partner (any organisation, anywhere).")
    role = serializers.ChoiceField(choices=PartyRole.choices)


class DeliverySummarySerializer(serializers.Serializer):
    """After approval, at a glance: the funding, the reports, the outcomes, the files."""

    funding_approved = serializers.DecimalField(16, 2, allow_null=True, help_text="yuan")
    funding_planned = serializers.DecimalField(16, 2, help_text="yuan, all tranches")
    funding_paid = serializers.DecimalField(16, 2, help_text="yuan")
    tranches = serializers.IntegerField()
    tranches_paid = serializers.IntegerField()
    reports = serializers.IntegerField()
    reports_outstanding = serializers.IntegerField(help_text="Due or returned for correction.")
    reports_overdue = serializers.IntegerField()
    outcomes = serializers.DictField(child=serializers.IntegerField(), help_text="{kind: count}")
    attachments = serializers.IntegerField()


def _yuan(value) -> str | None:  # as the serializers render decimals: exact, as text
    return None if value is None else f"{value:.2f}"


class ProjectSerializer(serializers.ModelSerializer):
    api_url = serializers.HyperlinkedIdentityField(view_name="project-detail", lookup_field="key")
    applicant = organisation_field(help_text="Key of the applying enterprise (the lead party).")
    call = KeyRelatedField("call", slug_field="key", queryset=Call.objects.all(), required=False, allow_null=True)
    parties = serializers.SerializerMethodField()
    partners = PartySerializer(many=True, write_only=True, required=False,
                               help_text="On create: the partners and their roles (the applicant is the lead).")
    approved_at = serializers.SerializerMethodField()
    delivery = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = ["api_url", "key", "kind", "call", "category", "title_zh", "title_en", "summary", "applicant",
                  "parties", "partners", "planned_start", "planned_end", "requested_funding", "own_funding",
                  "approved_funding", "agreement_date", "contract_value", "state", "approved_at", "delivery",
                  "synthetic", "created_at"]
        read_only_fields = ["state", "approved_funding", "synthetic", "created_at"]
        extra_kwargs = {"key": {"required": False}}

    def get_parties(self, project) -> list[dict]:
        return [{"organisation": party.organisation.key, "role": party.role} for party in project.parties.all()]

    def get_approved_at(self, project) -> str | None:
        moments = [t.at for t in project.transitions.all() if t.to_state == ProjectState.APPROVED]
        return max(moments).isoformat() if moments else None

    @extend_schema_field(DeliverySummarySerializer)
    def get_delivery(self, project) -> dict:
        # From the rows the viewset prefetched: a few per project, no query per project.
        tranches, reports = list(project.tranches.all()), list(project.progress_reports.all())
        today = timezone.localdate()
        kinds = {kind: 0 for kind in OutcomeKind.values}
        for outcome in project.outcomes.all():
            kinds[outcome.kind] += 1
        return {
            "funding_approved": _yuan(project.approved_funding),
            "funding_planned": _yuan(sum((t.planned_amount for t in tranches), Decimal(0))),
            "funding_paid": _yuan(sum((t.paid_amount for t in tranches if t.paid), Decimal(0))),
            "tranches": len(tranches),
            "tranches_paid": sum(1 for t in tranches if t.paid),
            "reports": len(reports),
            "reports_outstanding": sum(1 for r in reports if r.status in OUTSTANDING),
            "reports_overdue": sum(1 for r in reports if r.overdue(today)),
            "outcomes": kinds,
            "attachments": len(project.attachments.all()),
        }

    def to_internal_value(self, data):
        if isinstance(data, dict) and not storable(data):
            raise serializers.ValidationError({"non_field_errors": ["text cannot contain NUL characters"]})
        return super().to_internal_value(data)

    def get_validators(self):
        return []

    def create(self, attrs):
        request = self.context["request"]
        partners = [(row["organisation"], row["role"]) for row in attrs.pop("partners", [])]
        applicant = attrs.pop("applicant")
        try:
            return answer_service_errors(lambda: services.create_project(applicant, parties=partners,
                                                                         by=request.user, **attrs))
        except DRFValidationError as exc:
            # The service speaks of the project's parties; the client sent them as `partners`.
            if isinstance(exc.detail, dict) and "parties" in exc.detail:
                exc.detail["partners"] = exc.detail.pop("parties")
            raise


class ProjectFilterSet(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=ProjectKind.choices)
    state = filters.ChoiceFilter(choices=ProjectState.choices)
    category = filters.CharFilter(max_length=100)
    call = filters.CharFilter(field_name="call__key", max_length=100)
    region = region_filter("Code of a region: projects whose applicant is located (now) in its subtree.",
                           method="filter_region")
    approved_within = filters.CharFilter(method="filter_approved", max_length=40,
                                         help_text="Approved within this period (2023H1, 2023年上半年 …), "
                                                   "by the approval's date in Asia/Shanghai.")

    class Meta:
        model = Project
        fields = []

    def filter_region(self, queryset, name, region):
        return queryset.filter(applicant__in=Organisation.objects.in_region(region).values("pk"))

    def filter_approved(self, queryset, name, text):
        try:
            period = Period.parse(text)
        except PeriodError as exc:
            raise DRFValidationError({"approved_within": [str(exc)]}) from None
        start, end = window(period)
        approved = ProjectTransition.objects.filter(to_state=ProjectState.APPROVED, at__gte=start, at__lt=end)
        return queryset.filter(pk__in=approved.values("project_id"))


def request_data(request) -> dict:
    if not isinstance(request.data, dict) and not hasattr(request.data, "getlist"):
        raise DRFValidationError({"non_field_errors": ["send a JSON object"]})
    if not storable(request.data):
        raise DRFValidationError({"non_field_errors": ["text cannot contain NUL characters"]})
    return request.data


class TrancheSerializer(serializers.ModelSerializer):
    paid = serializers.BooleanField(read_only=True)

    class Meta:
        model = Tranche
        fields = ["seq", "planned_amount", "planned_date", "paid", "paid_amount", "paid_date", "note"]
        read_only_fields = fields


class PlannedTrancheSerializer(serializers.Serializer):
    amount = serializers.DecimalField(16, 2, help_text="yuan")
    date = serializers.DateField(help_text="When it is planned to be paid.")
    note = serializers.CharField(max_length=300, required=False, allow_blank=True)


class TranchePlanSerializer(serializers.Serializer):
    tranches = PlannedTrancheSerializer(many=True, allow_empty=False, help_text="In the order they are paid.")
    approved_funding = serializers.DecimalField(
        16, 2, required=False, allow_null=True,
        help_text="yuan: what the bureau grants (批准资助金额), at most the requested funding; by default the "
                  "project's approved funding, or its requested funding the first time.")


class PaymentSerializer(serializers.Serializer):
    amount = serializers.DecimalField(16, 2, help_text="yuan, at most the tranche's planned amount")
    date = serializers.DateField(help_text="When it was paid.")
    note = serializers.CharField(max_length=300, required=False, allow_blank=True)


class ProgressReportSerializer(serializers.ModelSerializer):
    submitted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    reviewed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = ProgressReport
        fields = ["id", "title", "due", "status", "overdue", "text", "submitted_at", "submitted_by", "reviewed_at",
                  "reviewed_by", "review_comment"]
        read_only_fields = fields

    def get_overdue(self, report) -> bool:
        return report.overdue(timezone.localdate())


class ReportScheduleSerializer(serializers.Serializer):
    every_months = serializers.IntegerField(min_value=1, max_value=delivery.MAX_REPORT_INTERVAL, required=False,
                                            help_text="A report every this many months until the planned end.")
    dates = serializers.ListField(child=serializers.DateField(), allow_empty=False, required=False,
                                  help_text="Or the due dates themselves.")


class ReportTextSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, trim_whitespace=False, help_text="What was done.")


class ReportCommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=4000)


#: The report's id in the nested report routes.
REPORT_ID = OpenApiParameter("report_id", int, OpenApiParameter.PATH, description="The report's id.")


class OutcomeSerializer(serializers.ModelSerializer):
    recorded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    amount = serializers.DecimalField(16, 2, required=False, allow_null=True,
                                      help_text="yuan; revenue from results only (and required for it).")

    class Meta:
        model = Outcome
        fields = ["id", "kind", "title", "date", "identifier", "amount", "recorded_by", "recorded_at", "synthetic"]
        read_only_fields = ["id", "recorded_by", "recorded_at", "synthetic"]
        extra_kwargs = {"identifier": {"required": False}}

    def get_validators(self):
        return []  # the service checks (and names the field)


class AttachmentSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "original_name", "content_type", "size", "sha256", "uploaded_by", "uploaded_at",
                  "download_url"]
        read_only_fields = fields

    def get_download_url(self, attachment) -> str:
        path = reverse("project-attachment-download", kwargs={"key": attachment.project.key,
                                                              "attachment_id": attachment.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="PDF, .docx, .xlsx, PNG or JPEG, by its contents.")


#: Room for the multipart envelope around the file (boundaries, headers) before a request
#: is refused by its length alone.
MULTIPART_ENVELOPE = 64 * 1024


#: Export columns: (Chinese header, English header, how to read the value from a project).
EXPORT = [
    ("项目编号", "key", lambda p: p.key),
    ("项目名称", "title", lambda p: p.title_zh or p.title_en),
    ("类型", "kind", lambda p: p.get_kind_display()),
    ("类别", "category", lambda p: p.category),
    ("申报单位", "applicant", lambda p: p.applicant.name_zh or p.applicant.name_en),
    ("合作单位", "partners", lambda p: "、".join(x.organisation.name_zh or x.organisation.name_en
                                             for x in p.parties.all() if x.role != PartyRole.LEAD)),
    ("申请经费（元）", "requested funding (yuan)", lambda p: p.requested_funding),
    ("自筹经费（元）", "own funding (yuan)", lambda p: p.own_funding),
    ("协议日期", "agreement date", lambda p: p.agreement_date),
    ("合同金额（元）", "contract value (yuan)", lambda p: p.contract_value),
    ("状态", "state", lambda p: p.get_state_display()),
]


class ProjectViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                     viewsets.GenericViewSet):
    """Applications and projects (科创项目, 产学研合作项目), confidential to the applicant's
    people, the bureau and analysts of its district and the reviewers assigned to them."""

    queryset = Project.objects.select_related("applicant", "call").prefetch_related(
        "parties__organisation", "transitions", "tranches", "progress_reports", "outcomes", "attachments")
    serializer_class = ProjectSerializer
    filterset_class = ProjectFilterSet
    lookup_field = "key"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    parser_classes = [JSONParser]
    ordering_fields = ["key", "created_at", "requested_funding", "agreement_date"]

    def get_queryset(self):
        return visible_to(super().get_queryset(), self.request.user)

    def _take(self, request, transition: str):
        project = self.get_object()
        comment = text_of(request, "comment")
        answer_service_errors(lambda: services.take(project, transition, by=request.user, comment=comment))
        return Response(self.get_serializer(self.get_queryset().get(pk=project.pk)).data)

    @extend_schema(summary="The project's steps: from, to, who, when, why", filters=False,
                   responses=inline_serializer("ProjectStep", {
                       "name": serializers.CharField(), "from_state": serializers.CharField(),
                       "to_state": serializers.CharField(), "at": serializers.DateTimeField(),
                       "by": serializers.CharField(allow_null=True), "comment": serializers.CharField()}, many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def transitions(self, request, key=None):
        steps = self.get_object().transitions.select_related("by").order_by("at", "id")
        return Response([{"name": s.name, "from_state": s.from_state, "to_state": s.to_state, "at": s.at,
                          "by": s.by.get_username() if s.by else None, "comment": s.comment} for s in steps])

    @extend_schema(summary="The filtered list as a spreadsheet (Chinese headers for zh-hans)",
                   parameters=[OpenApiParameter("download", str, enum=["xlsx", "csv"])],
                   responses=SPREADSHEET_RESPONSES)
    @action(detail=False, methods=["get"])
    def export(self, request):
        chinese = translation.get_language() in ("zh-hans", "zh-cn", "zh")
        header = [zh if chinese else en for zh, en, _ in EXPORT]
        projects = self.filter_queryset(self.get_queryset())
        rows = [[read(project) for _, _, read in EXPORT] for project in projects]
        return spreadsheet(request, "projects", lambda out, fmt: write_table(rows, header, out, format=fmt))


    # --- after approval: tranches, reports, outcomes, attachments (delivery.py, attachments.py) ---

    def _input(self, serializer_class):
        serializer = serializer_class(data=request_data(self.request))
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(methods=["GET"], summary="The project's funding tranches", filters=False,
                   responses=TrancheSerializer(many=True))
    @extend_schema(methods=["POST"], summary="Plan (or re-plan) the funding tranches (the bureau)",
                   description="Paid tranches stay; every unpaid one is replaced by this plan. The paid amounts and "
                               "the plan together are at most the approved funding.",
                   request=TranchePlanSerializer, responses={201: TrancheSerializer(many=True)})
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def tranches(self, request, key=None):
        project = self.get_object()
        if request.method == "POST":
            data = self._input(TranchePlanSerializer)
            plan = [(t["amount"], t["date"], t.get("note", "")) for t in data["tranches"]]
            rows = answer_service_errors(lambda: delivery.plan_tranches(
                project, plan, approved_funding=data.get("approved_funding"), by=request.user))
            return Response(TrancheSerializer(rows, many=True).data, status=status.HTTP_201_CREATED)
        return Response(TrancheSerializer(project.tranches.order_by("seq"), many=True).data)

    @extend_schema(summary="Record that a tranche was paid (the bureau)", filters=False,
                   parameters=[OpenApiParameter("seq", int, OpenApiParameter.PATH, description="The tranche's number.")],
                   request=PaymentSerializer, responses=TrancheSerializer)
    @action(detail=True, methods=["post"], url_path=r"tranches/(?P<seq>[0-9]+)/pay", url_name="tranche-pay")
    def pay_tranche(self, request, key=None, seq=None):
        tranche = get_object_or_404(self.get_object().tranches, seq=int(seq))
        data = self._input(PaymentSerializer)
        paid = answer_service_errors(lambda: delivery.record_payment(
            tranche, data["amount"], data["date"], by=request.user, note=data.get("note")))
        return Response(TrancheSerializer(paid).data)

    @extend_schema(methods=["GET"], summary="The project's progress reports", filters=False,
                   responses=ProgressReportSerializer(many=True))
    @extend_schema(methods=["POST"], summary="Schedule the progress reports (the bureau)",
                   description="Every `every_months` months from the planned start until the planned end, or on "
                               "the given `dates`. Submitted reports stay; the others are replaced.",
                   request=ReportScheduleSerializer, responses={201: ProgressReportSerializer(many=True)})
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def reports(self, request, key=None):
        project = self.get_object()
        if request.method == "POST":
            data = self._input(ReportScheduleSerializer)
            answer_service_errors(lambda: delivery.schedule_reports(
                project, every_months=data.get("every_months"), dates=data.get("dates"), by=request.user))
        reports = project.progress_reports.select_related("submitted_by", "reviewed_by").order_by("due")
        for report in reports:
            report.project = project  # for `overdue`, without a query per report
        data = ProgressReportSerializer(reports, many=True).data
        return Response(data, status=status.HTTP_201_CREATED if request.method == "POST" else status.HTTP_200_OK)

    def _report(self, report_id) -> ProgressReport:
        return get_object_or_404(self.get_object().progress_reports.select_related("project"), pk=int(report_id))

    def _report_done(self, report: ProgressReport) -> Response:
        stored = ProgressReport.objects.select_related("project", "submitted_by", "reviewed_by").get(pk=report.pk)
        return Response(ProgressReportSerializer(stored).data)

    @extend_schema(summary="Submit a progress report (the applicant's users)", filters=False,
                   parameters=[REPORT_ID], request=ReportTextSerializer, responses=ProgressReportSerializer)
    @action(detail=True, methods=["post"], url_path=r"reports/(?P<report_id>[0-9]+)/submit",
            url_name="report-submit")
    def submit_report(self, request, key=None, report_id=None):
        report = self._report(report_id)
        text = self._input(ReportTextSerializer)["text"]
        return self._report_done(answer_service_errors(
            lambda: delivery.submit_report(report, text, by=request.user)))

    @extend_schema(summary="Accept a submitted progress report (the bureau)", filters=False,
                   parameters=[REPORT_ID], request=ReportCommentSerializer, responses=ProgressReportSerializer)
    @action(detail=True, methods=["post"], url_path=r"reports/(?P<report_id>[0-9]+)/accept",
            url_name="report-accept")
    def accept_report(self, request, key=None, report_id=None):
        report = self._report(report_id)
        comment = self._input(ReportCommentSerializer).get("comment", "")
        return self._report_done(answer_service_errors(
            lambda: delivery.accept_report(report, by=request.user, comment=comment)))

    @extend_schema(summary="Return a submitted progress report for correction (the bureau), saying why",
                   filters=False, parameters=[REPORT_ID], request=ReportCommentSerializer,
                   responses=ProgressReportSerializer)
    @action(detail=True, methods=["post"], url_path=r"reports/(?P<report_id>[0-9]+)/return",
            url_name="report-return")
    def return_report(self, request, key=None, report_id=None):
        report = self._report(report_id)
        comment = self._input(ReportCommentSerializer).get("comment", "")
        return self._report_done(answer_service_errors(
            lambda: delivery.return_report(report, comment, by=request.user)))

    @extend_schema(methods=["GET"], summary="The project's outcomes", filters=False,
                   responses=OutcomeSerializer(many=True))
    @extend_schema(methods=["POST"], summary="Record an outcome (the applicant's users or the bureau)",
                   request=OutcomeSerializer, responses={201: OutcomeSerializer})
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def outcomes(self, request, key=None):
        project = self.get_object()
        if request.method == "POST":
            data = self._input(OutcomeSerializer)
            outcome = answer_service_errors(lambda: delivery.record_outcome(project, by=request.user, **data))
            return Response(OutcomeSerializer(outcome).data, status=status.HTTP_201_CREATED)
        return Response(OutcomeSerializer(project.outcomes.select_related("recorded_by").order_by("date", "id"),
                                          many=True).data)

    @extend_schema(methods=["GET"], summary="The project's attachments", filters=False,
                   responses=AttachmentSerializer(many=True))
    @extend_schema(methods=["POST"], summary="Upload an attachment (multipart/form-data, field `file`)",
                   description="PDF, Word (.docx), Excel (.xlsx), PNG or JPEG, recognised by the file's contents, "
                               "up to the size limit (20 MB by default). The applicant's users attach to a draft or "
                               "a running project; the bureau at any stage.",
                   request={"multipart/form-data": AttachmentUploadSerializer},
                   responses={201: AttachmentSerializer})
    @action(detail=True, methods=["get", "post"], parser_classes=[parsers.MultiPartParser], pagination_class=None)
    def attachments(self, request, key=None):
        project = self.get_object()
        context = {"request": request}
        if request.method == "POST":
            uploaded = self._upload()
            row = answer_service_errors(lambda: attach(project, uploaded, by=request.user))
            return Response(AttachmentSerializer(row, context=context).data, status=status.HTTP_201_CREATED)
        rows = project.attachments.select_related("project", "uploaded_by").order_by("uploaded_at", "id")
        return Response(AttachmentSerializer(rows, many=True, context=context).data)

    def _upload(self):
        """The uploaded file, refused before the body is read when the request is larger
        than the limit allows."""
        limit = max_bytes()
        try:
            length = int(self.request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit + MULTIPART_ENVELOPE:
            raise DRFValidationError({"file": [f"the upload is larger than the limit of "
                                               f"{readable_size(limit)}"]})
        files = self.request.FILES.getlist("file")
        if len(files) != 1:
            raise DRFValidationError({"file": ["send one file as multipart/form-data, in the field `file`"]})
        return files[0]

    @extend_schema(summary="Download an attachment (whoever sees the project)", filters=False,
                   parameters=[OpenApiParameter("attachment_id", int, OpenApiParameter.PATH)],
                   # served with the type it was uploaded as (a PDF, a Word file, an image …)
                   responses={(200, "*/*"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], url_path=r"attachments/(?P<attachment_id>[0-9]+)/download",
            url_name="attachment-download")
    def download_attachment(self, request, key=None, attachment_id=None):
        # Never a public media URL: the file is served here, after the project's scope check.
        attachment = get_object_or_404(self.get_object().attachments, pk=int(attachment_id))
        try:
            handle = attachment.file.storage.open(attachment.file.name, "rb")
        except FileNotFoundError:
            raise Http404("the attachment's file is missing from storage") from None
        response = FileResponse(handle, as_attachment=True, filename=download_name(attachment),
                                content_type=attachment.content_type)
        response["Cache-Control"] = "private, no-store"
        return response


def _transition_action(name: str, label: str):
    def act(self, request, key=None):
        return self._take(request, name)

    # The attribute is `<name>_` (`return` is a keyword); the URL is the transition's name.
    act.__name__ = f"{name}_"
    # The schema last, over the action (as `@extend_schema` above `@action`): the other
    # way round, the action's defaults would document the whole project as the body.
    return extend_schema(summary=label, request=inline_serializer(f"Project{name.title().replace('_', '')}Comment", {
        "comment": serializers.CharField(required=False, allow_blank=True, max_length=4000)}),
        responses=ProjectSerializer)(action(detail=True, methods=["post"], url_path=name, url_name=name)(act))


for _transition in services.LIFECYCLE.transitions.values():
    setattr(ProjectViewSet, f"{_transition.name}_", _transition_action(_transition.name, _transition.label))


# --- reviews -----------------------------------------------------------------------------


class ReviewSerializer(serializers.ModelSerializer):
    api_url = serializers.HyperlinkedIdentityField(view_name="review-detail")
    project = KeyRelatedField("project", slug_field="key", queryset=Project.objects.all())
    reviewer = serializers.SlugRelatedField(slug_field="username", queryset=get_user_model().objects.all())

    class Meta:
        model = ReviewAssignment
        fields = ["api_url", "id", "project", "reviewer", "assigned_at", "due", "scores", "total", "comment",
                  "submitted_at"]
        read_only_fields = ["assigned_at", "scores", "total", "comment", "submitted_at"]
        extra_kwargs = {"due": {"required": False}}

    def get_validators(self):
        return []

    def create(self, attrs):
        request = self.context["request"]
        return answer_service_errors(lambda: services.assign_reviewer(
            attrs["project"], attrs["reviewer"], by=request.user, due=attrs.get("due")))


class ReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                    viewsets.GenericViewSet):
    """Review assignments: a reviewer sees their own; the bureau of the district all of them."""

    queryset = ReviewAssignment.objects.select_related("project", "reviewer")
    serializer_class = ReviewSerializer
    parser_classes = [JSONParser]
    filterset_fields = []
    # Reviewers change nothing else, so the default permission (ScopedAccess) would refuse
    # them: here the scoped queryset (404) and the services (assign: the bureau; submit:
    # the assigned reviewer; 403 otherwise) decide.
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        return visible_to(super().get_queryset(), self.request.user)

    def create(self, request, *args, **kwargs):
        # Only the bureau assigns reviewers: anyone else is refused before the body is read,
        # so the answer tells them nothing (not even which usernames exist).
        if not workspaces(request.user).decide:
            raise PermissionDenied("only the bureau of the project's district assigns reviewers")
        return super().create(request, *args, **kwargs)

    @extend_schema(summary="Submit the scores (the assigned reviewer)",
                   request=inline_serializer("ReviewScores", {"scores": serializers.DictField(),
                                                              "comment": serializers.CharField(required=False)}))
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        assignment = self.get_object()
        scores = request.data.get("scores") if isinstance(request.data, dict) else None
        if not isinstance(scores, dict) or not storable(scores):
            raise DRFValidationError({"scores": ['give the scores as {"criterion": score, …}']})
        comment = text_of(request, "comment")
        answer_service_errors(lambda: services.submit_review(assignment, scores, comment, by=request.user))
        return Response(self.get_serializer(ReviewAssignment.objects.get(pk=assignment.pk)).data)
