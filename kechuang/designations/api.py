"""REST resources of the designations under /api/v1/.

    designation-types/                     the types (anyone reads); POST defines one (a bureau admin)
    designations/                          grants: final ones are public record, those in publicity the
                                           bureau's and the enterprise's; POST records one (the bureau)
    designations/<id>/finalise/            publicity → final (the final notice)
    designations/<id>/expire/              final → expired (the validity ran out)
    designations/<id>/revoke/              revoked or withdrawn, saying why
    designations/<id>/rename/              re-issued under a new name; answers the successor
    designations/<id>/re-review/           a re-review (复核): passed, it extends the validity
    designations/expiring/?days=90         the work list: validity running out, of the enterprises the
                                           caller looks after (the bureau's district, an enterprise its own)
    designation-imports/                   published lists read from files; POST uploads one (multipart)
    designation-imports/<id>/queue/        rows that matched no enterprise exactly, with the similar ones
    designation-imports/<id>/queue/<cid>/link/     …/create/     …/dismiss/
"""

import datetime as dt

import django_filters as filters
from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, parsers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response

from kechuang.accounts.scoping import visible_to
from kechuang.api import answer_service_errors
from kechuang.registry.api.fields import KeyRelatedField, storable
from kechuang.registry.api.serializers import organisation_field, region_field
from kechuang.registry.api.views import JSONParser
from kechuang.registry.filters import ContainerFilter, LookupFilter, ScopedLookups, TrueFalseFilter, region_filter
from kechuang.registry.models import Organisation, Region, Source
from kechuang.statistics.periods import Period, PeriodError

from . import importer, services
from .models import (
    CandidateStatus,
    Designation,
    DesignationImport,
    DesignationStep,
    DesignationType,
    ImportCandidate,
    Level,
    ReReview,
    Stage,
)


def _source_field(**kwargs):
    kwargs.setdefault("help_text", "Key of the notice (a registry source).")
    return KeyRelatedField("source", slug_field="key", queryset=Source.objects.all(), required=False,
                           allow_null=True, **kwargs)


def _type_field(**kwargs):
    return KeyRelatedField("designation type", slug_field="code", queryset=DesignationType.objects.all(), **kwargs)


def _input(request, serializer_class) -> dict:
    if not isinstance(request.data, dict) and not hasattr(request.data, "getlist"):
        raise DRFValidationError({"non_field_errors": ["send a JSON object"]})
    if not storable(request.data):
        raise DRFValidationError({"non_field_errors": ["text cannot contain NUL characters"]})
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- types -------------------------------------------------------------------------------------


class RuleVersionSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=30)
    start = serializers.DateField(source="from", allow_null=True, required=False,
                                  help_text="In force from this day; empty for the first version.")
    title = serializers.CharField(required=False, allow_blank=True, max_length=300)

    def to_representation(self, instance):
        return {"code": instance["code"], "from": instance.get("from"), "title": instance.get("title", "")}

    def to_internal_value(self, data):
        if isinstance(data, dict) and "from" in data and "start" not in data:
            data = {**data, "start": data["from"]}
        return super().to_internal_value(data)


class DesignationTypeSerializer(serializers.ModelSerializer):
    api_url = serializers.HyperlinkedIdentityField(view_name="designation-type-detail", lookup_field="code")
    # Plain text, checked by services.check_type: one enum of levels in the schema (Designation.level).
    levels = serializers.ListField(child=serializers.CharField(max_length=12), allow_empty=False,
                                   help_text="The levels that issue it (national, provincial, city, district), the "
                                             "usual one first.")
    rule_versions = RuleVersionSerializer(many=True, required=False)

    class Meta:
        model = DesignationType
        fields = ["api_url", "code", "name_zh", "name_en", "levels", "validity", "validity_years", "re_review_years",
                  "rule_versions", "basis", "description_zh", "description_en", "built_in"]
        read_only_fields = ["built_in"]

    def get_validators(self):
        return []  # the service checks (and names the field)

    def to_internal_value(self, data):
        if isinstance(data, dict) and not storable(data):
            raise serializers.ValidationError({"non_field_errors": ["text cannot contain NUL characters"]})
        return super().to_internal_value(data)

    def create(self, attrs):
        request = self.context["request"]
        if "rule_versions" in attrs:
            attrs["rule_versions"] = [{"code": v["code"], "from": v.get("from"), "title": v.get("title", "")}
                                      for v in attrs["rule_versions"]]
        code = attrs.pop("code")
        if DesignationType.objects.filter(code=code).exists():
            raise DRFValidationError({"code": [f"a designation type with the code {code} exists"]})
        return answer_service_errors(lambda: services.define_type(code, by=request.user, **attrs))


class DesignationTypeFilterSet(filters.FilterSet):
    # A value other than true/false is refused (400), as on every list of the API,
    # where django-filter's own BooleanFilter would ignore it and list everything.
    built_in = TrueFalseFilter(help_text="Shipped with kechuang (true) or defined by the bureau (false).")

    class Meta:
        model = DesignationType
        fields = ["validity", "built_in"]


class DesignationTypeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                             viewsets.GenericViewSet):
    """Designation types (资质类型): the shipped catalogue and the bureau's own."""

    queryset = DesignationType.objects.all()
    serializer_class = DesignationTypeSerializer
    lookup_field = "code"
    lookup_value_regex = r"[a-z][a-z0-9-]*"
    parser_classes = [JSONParser]
    filterset_class = DesignationTypeFilterSet

    def get_queryset(self):
        return visible_to(super().get_queryset(), self.request.user)


# --- designations --------------------------------------------------------------------------------


class StepSerializer(serializers.ModelSerializer):
    by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    source = serializers.SlugRelatedField(slug_field="key", read_only=True)
    from_stage = serializers.CharField(read_only=True, help_text="The stage before (empty for the first step).")
    to_stage = serializers.CharField(read_only=True, help_text="The stage after: publicity, final, revoked, expired "
                                                               "or renamed.")

    class Meta:
        model = DesignationStep
        fields = ["name", "from_stage", "to_stage", "on", "source", "by", "comment", "recorded_at"]
        read_only_fields = fields


class ReReviewSerializer(serializers.ModelSerializer):
    by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    source = serializers.SlugRelatedField(slug_field="key", read_only=True)

    class Meta:
        model = ReReview
        fields = ["reviewed_on", "passed", "valid_until_before", "valid_until_after", "rule_version", "source", "by",
                  "comment", "recorded_at"]
        read_only_fields = fields


class DesignationSerializer(serializers.ModelSerializer):
    api_url = serializers.HyperlinkedIdentityField(view_name="designation-detail")
    organisation = organisation_field(help_text="Key of the enterprise.")
    organisation_name = serializers.CharField(source="organisation.__str__", read_only=True)
    type = _type_field(help_text="Code of the designation type (little-giant, hnte …).")
    level = serializers.ChoiceField(choices=Level.choices, required=False,
                                    help_text="Default: the type's usual level.")
    stage = serializers.ChoiceField(choices=[(s, label) for s, label in Stage.choices], default=Stage.FINAL,
                                    help_text="On create: publicity (公示) or final (认定).")
    source = _source_field()
    last_valid_day = serializers.DateField(read_only=True, allow_null=True,
                                           help_text="The last day it is valid (valid_until is exclusive).")
    replaces = serializers.PrimaryKeyRelatedField(read_only=True)
    comment = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=4000)
    steps = StepSerializer(many=True, read_only=True)
    re_reviews = ReReviewSerializer(many=True, read_only=True)

    class Meta:
        model = Designation
        fields = ["api_url", "id", "organisation", "organisation_name", "type", "level", "batch", "name_on_list",
                  "certificate_number", "stage", "applied_on", "publicised_on", "granted_on", "valid_until",
                  "last_valid_day", "ended_on", "in_force_until", "rule_version", "replaces", "source", "synthetic",
                  "note", "comment", "steps", "re_reviews", "created_at"]
        read_only_fields = ["ended_on", "in_force_until", "synthetic", "created_at"]
        extra_kwargs = {"rule_version": {"required": False, "allow_blank": True}}

    def get_validators(self):
        return []

    def to_internal_value(self, data):
        if isinstance(data, dict) and not storable(data):
            raise serializers.ValidationError({"non_field_errors": ["text cannot contain NUL characters"]})
        return super().to_internal_value(data)

    def create(self, attrs):
        request = self.context["request"]
        organisation, designation_type = attrs.pop("organisation"), attrs.pop("type")
        attrs["rule_version"] = attrs.get("rule_version") or None
        return answer_service_errors(lambda: services.grant(organisation, designation_type, by=request.user, **attrs))


class DesignationFilterSet(ScopedLookups, filters.FilterSet):
    type = LookupFilter(queryset=DesignationType.objects.all(), to_field="code", noun="designation type",
                        help_text="Code of a designation type.")
    level = filters.ChoiceFilter(choices=Level.choices)
    stage = filters.ChoiceFilter(choices=Stage.choices)
    region = region_filter("Code of a region: designations of enterprises located (now) in its subtree.",
                           method="filter_region")
    within = ContainerFilter(queryset=Organisation.objects.all(), to_field="key", noun="organisation",
                             method="filter_within",
                             help_text="Key of a zone or park: designations of the enterprises inside it.")
    organisation = filters.CharFilter(field_name="organisation__key", max_length=100,
                                      help_text="Key of an enterprise.")
    valid_on = filters.DateFilter(method="filter_valid_on",
                                  help_text="In force on this day (granted on or before it, not yet run out, "
                                            "revoked or superseded).")
    expiring_within = filters.NumberFilter(method="filter_expiring", min_value=0, max_value=3660,
                                           help_text="Final, in force today, and valid for at most this many more "
                                                     "days (see also designations/expiring/).")
    granted_within = filters.CharFilter(method="filter_granted", max_length=40,
                                        help_text="Granted (final notice dated) within this period: 2023H1, 2023 …")

    class Meta:
        model = Designation
        fields = []

    def filter_region(self, queryset, name, region):
        return services.in_region(queryset, region)

    def filter_within(self, queryset, name, container):
        return queryset.filter(organisation__in=Organisation.objects.within(container).values("pk"))

    def filter_valid_on(self, queryset, name, day):
        return queryset.in_force_on(day).exclude(stage=Stage.RENAMED)

    def filter_expiring(self, queryset, name, days):
        if days != int(days):
            raise DRFValidationError({"expiring_within": ["a whole number of days"]})
        return queryset.expiring(timezone.localdate(), int(days))

    def filter_granted(self, queryset, name, text):
        try:
            period = Period.parse(text)
        except PeriodError as error:
            raise DRFValidationError({"granted_within": [str(error)]}) from None
        return queryset.filter(granted_on__gte=period.start, granted_on__lte=period.end)


class FinaliseSerializer(serializers.Serializer):
    on = serializers.DateField(help_text="Date of the final notice (认定公告): the validity runs from it.")
    valid_until = serializers.DateField(required=False, allow_null=True,
                                        help_text="When the notice says otherwise than the type's rule (exclusive).")
    certificate_number = serializers.CharField(required=False, allow_blank=True, max_length=60)
    source = _source_field()
    comment = serializers.CharField(required=False, allow_blank=True, max_length=4000)


class ExpireSerializer(serializers.Serializer):
    on = serializers.DateField(required=False, allow_null=True, help_text="Default: the day the validity ran out.")
    comment = serializers.CharField(required=False, allow_blank=True, max_length=4000)


class RevokeSerializer(serializers.Serializer):
    on = serializers.DateField(help_text="From this day it is not held.")
    comment = serializers.CharField(max_length=4000, help_text="Why: the notice's reason.")
    source = _source_field()


class RenameSerializer(serializers.Serializer):
    name_on_list = serializers.CharField(max_length=300, help_text="The enterprise's new name on the certificate.")
    on = serializers.DateField()
    certificate_number = serializers.CharField(required=False, allow_blank=True, max_length=60,
                                               help_text="Default: the same number.")
    source = _source_field()
    comment = serializers.CharField(required=False, allow_blank=True, max_length=4000)


class ReReviewInputSerializer(serializers.Serializer):
    on = serializers.DateField(help_text="Date of the notice of the re-review's result.")
    passed = serializers.BooleanField(default=True)
    rule_version = serializers.CharField(required=False, allow_blank=True, max_length=30)
    source = _source_field()
    comment = serializers.CharField(required=False, allow_blank=True, max_length=4000)


EXPIRING_PARAMETERS = [
    OpenApiParameter("days", int, description="Validity running out within this many days (default 90)."),
    OpenApiParameter("today", OpenApiTypes.DATE, description="Count from this day (default: today, Asia/Shanghai)."),
    OpenApiParameter("region", str, description="Code of a region: enterprises located (now) in its subtree."),
]


class DesignationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                         viewsets.GenericViewSet):
    """Designations (资质认定): a published (final) grant is public record; one in publicity
    (公示) is seen by the bureau and the enterprise. The bureau records and changes them."""

    queryset = Designation.objects.select_related("organisation", "type", "source", "replaces").prefetch_related(
        "steps__by", "steps__source", "re_reviews__by", "re_reviews__source")
    serializer_class = DesignationSerializer
    filterset_class = DesignationFilterSet
    parser_classes = [JSONParser]
    ordering_fields = ["granted_on", "valid_until", "publicised_on", "id"]

    def get_queryset(self):
        return visible_to(super().get_queryset(), self.request.user)

    def _answer(self, designation: Designation, code=status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=designation.pk)).data, status=code)

    @extend_schema(summary="Designated by the final notice: publicity → final (the bureau)", filters=False,
                   request=FinaliseSerializer, responses=DesignationSerializer)
    @action(detail=True, methods=["post"])
    def finalise(self, request, pk=None):
        designation, data = self.get_object(), _input(request, FinaliseSerializer)
        return self._answer(answer_service_errors(lambda: services.advance_stage(
            designation, Stage.FINAL, by=request.user, **data)))

    @extend_schema(summary="Its validity ran out: final → expired (the bureau)", filters=False,
                   request=ExpireSerializer, responses=DesignationSerializer)
    @action(detail=True, methods=["post"])
    def expire(self, request, pk=None):
        designation, data = self.get_object(), _input(request, ExpireSerializer)
        return self._answer(answer_service_errors(lambda: services.advance_stage(
            designation, Stage.EXPIRED, by=request.user, **data)))

    @extend_schema(summary="Revoke it, or withdraw a publicity listing, saying why (the bureau)", filters=False,
                   request=RevokeSerializer, responses=DesignationSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        designation, data = self.get_object(), _input(request, RevokeSerializer)
        return self._answer(answer_service_errors(lambda: services.revoke(designation, by=request.user, **data)))

    @extend_schema(summary="Re-issued under the enterprise's new name (更名); answers the successor (the bureau)",
                   filters=False, request=RenameSerializer, responses={201: DesignationSerializer})
    @action(detail=True, methods=["post"])
    def rename(self, request, pk=None):
        designation, data = self.get_object(), _input(request, RenameSerializer)
        new_name = data.pop("name_on_list")
        successor = answer_service_errors(lambda: services.rename(designation, new_name, by=request.user, **data))
        return self._answer(successor, status.HTTP_201_CREATED)

    @extend_schema(summary="A re-review (复核): passed, it extends the validity (the bureau)", filters=False,
                   request=ReReviewInputSerializer, responses=DesignationSerializer)
    @action(detail=True, methods=["post"], url_path="re-review", url_name="re-review")
    def re_review(self, request, pk=None):
        designation, data = self.get_object(), _input(request, ReReviewInputSerializer)
        answer_service_errors(lambda: services.re_review(designation, by=request.user, **data))
        return self._answer(designation)

    @extend_schema(summary="Validity running out soon: the enterprises the caller looks after", filters=False,
                   parameters=EXPIRING_PARAMETERS, responses=DesignationSerializer(many=True))
    @action(detail=False, methods=["get"])
    def expiring(self, request):
        params = request.query_params
        try:
            days = int(params.get("days") or 90)
            today = dt.date.fromisoformat(params["today"]) if params.get("today") else None
        except (ValueError, OverflowError):
            raise DRFValidationError({"days": ["days: a whole number; today: a date (YYYY-MM-DD)"]}) from None
        region = params.get("region") or None
        if region is not None:
            region = Region.objects.filter(code=region[:12]).first()
            if region is None:
                raise DRFValidationError({"region": [f"no region has the code {params.get('region')[:12]}"]})
        rows = answer_service_errors(lambda: services.expiring(days, today=today, region=region, user=request.user))
        rows = rows.prefetch_related("steps__by", "steps__source", "re_reviews__by", "re_reviews__source")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


# --- imports and the review queue ------------------------------------------------------------------


class DesignationImportSerializer(serializers.ModelSerializer):
    api_url = serializers.HyperlinkedIdentityField(view_name="designation-import-detail")
    type = serializers.SlugRelatedField(slug_field="code", read_only=True)
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)
    source = serializers.SlugRelatedField(slug_field="key", read_only=True)
    by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    level = serializers.CharField(read_only=True)
    stage = serializers.CharField(read_only=True, help_text="Of rows whose own column says none.")

    class Meta:
        model = DesignationImport
        fields = ["api_url", "id", "file_name", "sha256", "size", "format", "type", "level", "region", "stage",
                  "date", "batch", "source", "dry_run", "status", "rows_read", "granted", "queued", "report", "by",
                  "created_at"]
        read_only_fields = fields


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The list: CSV (UTF-8 or GBK) or .xlsx, one enterprise a row; at most "
                                           "UPLOAD_MAX_BYTES (50 MB).")
    type = _type_field(help_text="Code of the designation type the list grants.")
    level = serializers.CharField(required=False, max_length=12, help_text="Default: the type's usual level.")
    region = region_field(required=False, allow_null=True,
                          help_text="Names are matched among the enterprises located in this region's subtree.")
    stage = serializers.CharField(default=Stage.FINAL, max_length=10,
                                  help_text="final or publicity: the stage of rows whose own column says none.")
    date = serializers.DateField(required=False, allow_null=True,
                                 help_text="The notice's date, for rows that give none.")
    batch = serializers.CharField(required=False, allow_blank=True, max_length=60)
    source = _source_field()
    dry_run = serializers.BooleanField(default=False)

    def validate_file(self, upload):
        """An upload over the limit is refused from its size, before the importer reads, fingerprints or logs it,
        as the statistics upload form refuses it."""
        limit = settings.UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise serializers.ValidationError(
                f"the file has {upload.size:,} bytes, more than the {limit:,} accepted: split it into smaller files "
                "(文件过大，请拆分)")
        return upload


class CandidateSerializer(serializers.ModelSerializer):
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)
    source = serializers.SlugRelatedField(slug_field="key", read_only=True)
    organisation = serializers.SlugRelatedField(slug_field="key", read_only=True)
    resolved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    candidates = serializers.ListField(child=serializers.DictField(), read_only=True,
                                       help_text="Enterprises of similar names: organisation (key), name, "
                                                 "matched_name, similarity (0–1), uscc.")

    stage = serializers.CharField(read_only=True)

    class Meta:
        model = ImportCandidate
        fields = ["id", "row", "name", "uscc", "batch", "stage", "publicised_on", "granted_on", "valid_until",
                  "certificate_number", "region", "source", "reason", "candidates", "status", "organisation",
                  "designation", "resolved_by", "resolved_at", "comment"]
        read_only_fields = fields


class LinkSerializer(serializers.Serializer):
    organisation = organisation_field(help_text="Key of the enterprise the row names.")
    granted_on = serializers.DateField(required=False, allow_null=True, help_text="When the list gives none.")
    publicised_on = serializers.DateField(required=False, allow_null=True, help_text="When the list gives none.")
    comment = serializers.CharField(required=False, allow_blank=True, max_length=4000)


class CreateEnterpriseSerializer(serializers.Serializer):
    key = serializers.SlugField(required=False, max_length=100, help_text="Default: from the name, in pinyin.")
    region = region_field(required=False, allow_null=True,
                          help_text="Where it is located; default: where the list places it.")
    name_en = serializers.CharField(required=False, allow_blank=True, max_length=300)
    granted_on = serializers.DateField(required=False, allow_null=True, help_text="When the list gives none.")
    publicised_on = serializers.DateField(required=False, allow_null=True, help_text="When the list gives none.")
    comment = serializers.CharField(required=False, allow_blank=True, max_length=4000)


class DismissSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=4000, help_text="Why (another district's enterprise, a duplicate …).")


CANDIDATE_ID = OpenApiParameter("candidate_id", int, OpenApiParameter.PATH, description="The queued row's id.")


class DesignationImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Published lists imported from files, with every row's outcome, and the review queue
    of the rows that matched no enterprise exactly. The bureau's."""

    queryset = DesignationImport.objects.select_related("type", "region", "source", "by")
    serializer_class = DesignationImportSerializer
    parser_classes = [parsers.MultiPartParser, JSONParser]
    filterset_fields = ["status"]

    def get_queryset(self):
        return visible_to(super().get_queryset(), self.request.user)

    def filter_queryset(self, queryset):
        # The list's filters are the list's: the queue's own `status` is a row's, not the import's.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    @extend_schema(summary="Upload a list (multipart/form-data): all rows or none",
                   description="Rows matched by USCC or exact name are granted; the others wait in the review queue. "
                               "A file with any error writes nothing and is answered 400, every problem with its "
                               "row, column and reason (`file`), with the import's record (`import`); a form "
                               "field refused is answered with that field's errors (`type`, `level` …).",
                   request={"multipart/form-data": UploadSerializer},
                   responses={201: DesignationImportSerializer})
    def create(self, request):
        serializer = UploadSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = data["file"]
        outcome = answer_service_errors(lambda: importer.import_list(
            upload, designation_type=data["type"], level=data.get("level"), region=data.get("region"),
            stage=data["stage"], date=data.get("date"), batch=data.get("batch", ""), notice=data.get("source"),
            by=request.user, filename=upload.name, dry_run=data["dry_run"]))
        if outcome.refused:
            return Response({"file": [str(problem) for problem in outcome.problems] or [outcome.message],
                             "import": outcome.record.pk}, status=status.HTTP_400_BAD_REQUEST)
        record = self.get_queryset().get(pk=outcome.record.pk)
        return Response(self.get_serializer(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="The review queue: rows that matched no enterprise exactly", filters=False,
                   parameters=[OpenApiParameter("status", str, enum=CandidateStatus.values)],
                   responses=CandidateSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def queue(self, request, pk=None):
        rows = self.get_object().candidates.select_related("region", "source", "organisation", "resolved_by")
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in CandidateStatus.values:
                raise DRFValidationError({"status": [f"one of {', '.join(CandidateStatus.values)}"]})
            rows = rows.filter(status=wanted)
        return Response(CandidateSerializer(rows.order_by("row"), many=True).data)

    def _candidate(self, candidate_id) -> ImportCandidate:
        upload = self.get_object()
        return get_object_or_404(upload.candidates, pk=int(candidate_id))

    def _resolved(self, candidate: ImportCandidate) -> Response:
        stored = ImportCandidate.objects.select_related("region", "source", "organisation", "resolved_by").get(
            pk=candidate.pk)
        return Response(CandidateSerializer(stored).data)

    @extend_schema(summary="The row names this enterprise: link it and grant (the bureau)", filters=False,
                   parameters=[CANDIDATE_ID], request=LinkSerializer, responses=CandidateSerializer)
    @action(detail=True, methods=["post"], url_path=r"queue/(?P<candidate_id>[0-9]+)/link", url_name="link")
    def link(self, request, pk=None, candidate_id=None):
        candidate = self._candidate(candidate_id)
        serializer = LinkSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        organisation = data.pop("organisation")
        return self._resolved(answer_service_errors(lambda: importer.link_candidate(
            candidate, organisation, by=request.user, **data)))

    @extend_schema(summary="Register the enterprise the row names, and grant (the bureau)", filters=False,
                   parameters=[CANDIDATE_ID], request=CreateEnterpriseSerializer, responses=CandidateSerializer)
    @action(detail=True, methods=["post"], url_path=r"queue/(?P<candidate_id>[0-9]+)/create", url_name="create")
    def create_enterprise(self, request, pk=None, candidate_id=None):
        candidate = self._candidate(candidate_id)
        serializer = CreateEnterpriseSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        return self._resolved(answer_service_errors(lambda: importer.create_from_candidate(
            candidate, by=request.user, **serializer.validated_data)))

    @extend_schema(summary="Not ours to record: dismiss the row, saying why (the bureau)", filters=False,
                   parameters=[CANDIDATE_ID], request=DismissSerializer, responses=CandidateSerializer)
    @action(detail=True, methods=["post"], url_path=r"queue/(?P<candidate_id>[0-9]+)/dismiss", url_name="dismiss")
    def dismiss(self, request, pk=None, candidate_id=None):
        candidate = self._candidate(candidate_id)
        data = _input(request, DismissSerializer)
        return self._resolved(answer_service_errors(lambda: importer.dismiss_candidate(
            candidate, by=request.user, **data)))

