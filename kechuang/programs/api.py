"""REST resources of the programmes under /api/v1/.

    calls/                          calls for applications; POST opens one (the bureau)
    calls/<key>/ranking/            the call's projects by mean review score (the bureau)
    projects/                       applications and projects, scoped; POST creates a draft
    projects/<key>/<transition>/    submit, withdraw, return, start_review, approve, reject,
                                    start, complete, terminate (services.LIFECYCLE)
    projects/<key>/transitions/     the project's steps: who, when, why
    projects/export/                the filtered list as xlsx (Chinese headers for zh-hans)
    reviews/                        review assignments; POST assigns (the bureau);
    reviews/<id>/submit/            the assigned reviewer's scores
"""

import django_filters as filters
from django.contrib.auth import get_user_model
from django.utils import translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response

from kechuang.accounts.scoping import visible_to
from kechuang.api import answer_service_errors, spreadsheet
from kechuang.registry.api.fields import KeyRelatedField, storable
from kechuang.registry.api.serializers import organisation_field, region_field
from kechuang.registry.api.views import JSONParser
from kechuang.registry.filters import region_filter
from kechuang.registry.models import Organisation
from kechuang.statistics.periods import Period, PeriodError
from kechuang.tabular import write_table

from . import services
from .counts import window
from .models import Call, PartyRole, Project, ProjectKind, ProjectState, ProjectTransition, ReviewAssignment


def text_of(request, name: str, limit: int = 4000) -> str:
    value = request.data.get(name, "") if isinstance(request.data, dict) else ""
    if not isinstance(value, str) or not storable(value):
        raise DRFValidationError({name: ["give it as text"]})
    return value[:limit]


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
                       "state": serializers.CharField(), "mean_total": serializers.DecimalField(7, 2),
                       "reviews": serializers.IntegerField(),
                       "totals": serializers.ListField(child=serializers.DecimalField(7, 2))}, many=True))
    @action(detail=True, methods=["get"])
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


class ProjectSerializer(serializers.ModelSerializer):
    api_url = serializers.HyperlinkedIdentityField(view_name="project-detail", lookup_field="key")
    applicant = organisation_field(help_text="Key of the applying enterprise (the lead party).")
    call = KeyRelatedField("call", slug_field="key", queryset=Call.objects.all(), required=False, allow_null=True)
    parties = serializers.SerializerMethodField()
    partners = PartySerializer(many=True, write_only=True, required=False,
                               help_text="On create: the partners and their roles (the applicant is the lead).")
    approved_at = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = ["api_url", "key", "kind", "call", "category", "title_zh", "title_en", "summary", "applicant",
                  "parties", "partners", "planned_start", "planned_end", "requested_funding", "own_funding",
                  "agreement_date", "contract_value", "state", "approved_at", "synthetic", "created_at"]
        read_only_fields = ["state", "synthetic", "created_at"]
        extra_kwargs = {"key": {"required": False}}

    def get_parties(self, project) -> list[dict]:
        return [{"organisation": party.organisation.key, "role": party.role} for party in project.parties.all()]

    def get_approved_at(self, project) -> str | None:
        moments = [t.at for t in project.transitions.all() if t.to_state == ProjectState.APPROVED]
        return max(moments).isoformat() if moments else None

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
        "parties__organisation", "transitions")
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
    @action(detail=True, methods=["get"])
    def transitions(self, request, key=None):
        steps = self.get_object().transitions.select_related("by").order_by("at", "id")
        return Response([{"name": s.name, "from_state": s.from_state, "to_state": s.to_state, "at": s.at,
                          "by": s.by.get_username() if s.by else None, "comment": s.comment} for s in steps])

    @extend_schema(summary="The filtered list as a spreadsheet (Chinese headers for zh-hans)",
                   parameters=[OpenApiParameter("download", str, enum=["xlsx", "csv"])],
                   responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=False, methods=["get"])
    def export(self, request):
        chinese = translation.get_language() in ("zh-hans", "zh-cn", "zh")
        header = [zh if chinese else en for zh, en, _ in EXPORT]
        projects = self.filter_queryset(self.get_queryset())
        rows = [[read(project) for _, _, read in EXPORT] for project in projects]
        return spreadsheet(request, "projects", lambda out, fmt: write_table(rows, header, out, format=fmt))


def _transition_action(name: str, label: str):
    @extend_schema(summary=label, request=inline_serializer(f"{name.title().replace('_', '')}Comment", {
        "comment": serializers.CharField(required=False)}), responses=ProjectSerializer)
    def act(self, request, key=None):
        return self._take(request, name)

    # The attribute is `<name>_` (`return` is a keyword); the URL is the transition's name.
    act.__name__ = f"{name}_"
    return action(detail=True, methods=["post"], url_path=name, url_name=name)(act)


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
