"""REST resources of the bulletins (简报) under /api/v1/.

    bulletins/                               the bulletins the caller may see (the public: the published
                                             ones); POST {template, region, period} prepares one (a bureau admin)
    bulletins/<id>/                          one, with its versions and their files
    bulletins/preview/                       POST: a template (or an unsaved spec) rendered now, or as the
                                             data stood at `as_of`: the document as JSON, or a file
    bulletins/<id>/publish/                  POST {note}: freeze the next version (a bureau admin)
    bulletins/<id>/versions/                 the published versions; …/versions/<n>/ one, with its figures
    bulletins/<id>/versions/<n>/files/<language>.<format>    en.pdf, zh.docx … and data.csv, data.json
    bulletins/<id>/would-change/             the published figures that republishing now would change
    bulletin-templates/                      the templates (users with read scope)
    bulletin-templates/<code>/               one, with its spec and YAML; PUT {source, name_en, name_zh}
                                             saves it (a bureau admin)

Who may do what is the services' and scoping's: a draft the caller may not see is a 404, a
refusal for their role a 403, a broken rule a 400 naming the field.
"""

import django_filters as filters
from django.db.models import Max, Prefetch
from django.http import HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.reverse import reverse

from kechuang.accounts.scoping import sees_drafts_of, visible_to
from kechuang.api import ScopedAccess, answer_service_errors
from kechuang.registry.api.fields import KeyRelatedField, storable
from kechuang.registry.api.serializers import region_field
from kechuang.registry.api.views import JSONParser
from kechuang.registry.filters import LookupFilter, TrueFalseFilter, region_filter
from kechuang.statistics.api import PeriodField
from kechuang.statistics.forms import PeriodField as PeriodFormField

from . import services, templating, writers
from .models import Bulletin, BulletinFile, BulletinTemplate, BulletinVersion

#: The languages a client may name, and the bulletin's own ("zh-hans" is the site's name for Chinese).
LANGUAGES = {"zh": "zh", "zh-hans": "zh", "en": "en"}
#: The open data's files are named data.csv and data.json.
DATA = "data"
#: The media types of the files, without parameters (the schema's keys).
MEDIA_TYPES = {fmt: content_type.split(";")[0] for fmt, (content_type, _, _) in writers.FORMATS.items()}
DATA_MEDIA_TYPES = {"csv": "text/csv", "json": "application/json"}


def _template_field(**kwargs):
    kwargs.setdefault("help_text", "Code of the bulletin template; default half-year.")
    # Not scoped: a template's code is no secret, and whether the caller may prepare or see the
    # bulletin is the region's question (403), not the template's.
    return KeyRelatedField("bulletin template", slug_field="code", queryset=BulletinTemplate.objects.all(),
                           scoped=False, required=False, **kwargs)


def _input(request, serializer_class) -> dict:
    if not isinstance(request.data, dict):
        raise DRFValidationError({"non_field_errors": ["send a JSON object"]})
    if not storable(request.data):
        raise DRFValidationError({"non_field_errors": ["text cannot contain NUL characters"]})
    serializer = serializer_class(data=request.data, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _checked(spec: dict, field: str) -> dict:
    """The spec, if kechuang can render it; else a 400 naming the field, and where in the
    template and why (templating.TemplateError)."""
    try:
        return templating.check(spec)
    except templating.TemplateError as error:
        raise DRFValidationError({field: [str(error)], "where": error.where, "reason": error.reason}) from None


class BulletinAccess(ScopedAccess):
    """Reads as everywhere (narrowed by visible_to). A preview needs a signed-in user (who may
    see the region's drafts: the view checks); other writes a user who may change something.
    Whether they may prepare or publish this bulletin, or keep templates, the services decide
    (NotAllowed: 403), since no row-level rule of scoping.can_change covers bulletins."""

    def has_permission(self, request, view):
        if getattr(view, "action", None) == "preview":
            return bool(request.user and request.user.is_authenticated)
        return super().has_permission(request, view)

    def has_object_permission(self, request, view, obj):
        return True


class FilesWhateverTheAccept(DefaultContentNegotiation):
    """A file is answered in its own type whatever the client's Accept header says (no 406),
    and an error as JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


# --- the schema's answers ------------------------------------------------------------------------


class ProblemSerializer(serializers.Serializer):
    detail = serializers.CharField()


REFUSED = OpenApiResponse(OpenApiTypes.OBJECT, description="A field was wrong: {field: [messages]}. A broken "
                                                           "template also says `where` in it and the `reason`.")
NOT_SIGNED_IN = OpenApiResponse(ProblemSerializer, description="Not signed in.")
FORBIDDEN = OpenApiResponse(ProblemSerializer, description="Your role does not allow this.")
NOT_FOUND = OpenApiResponse(ProblemSerializer, description="No such row, or one you may not see (a draft).")
READ_ERRORS = {404: NOT_FOUND}
WRITE_ERRORS = {400: REFUSED, 401: NOT_SIGNED_IN, 403: FORBIDDEN, 404: NOT_FOUND}
FILE_TYPES = {(200, media_type): OpenApiTypes.BINARY for media_type in MEDIA_TYPES.values()}


# --- serializers ----------------------------------------------------------------------------------


class FileSerializer(serializers.ModelSerializer):
    language = serializers.CharField(read_only=True, help_text='"zh" or "en"; "" for the open data (CSV, JSON).')
    url = serializers.SerializerMethodField(help_text="Where to download it.")

    class Meta:
        model = BulletinFile
        fields = ["language", "format", "size", "sha256", "url"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, row: BulletinFile) -> str:
        version = row.version  # the prefetch sets it
        return reverse("api-bulletin-file", kwargs={"pk": version.bulletin_id, "number": version.number,
                                                "language": row.language or DATA, "extension": row.format},
                       request=self.context.get("request"))


class VersionSerializer(serializers.ModelSerializer):
    published_by = serializers.SlugRelatedField(slug_field="username", read_only=True,
                                                help_text="Empty when published on the command line.")
    files = FileSerializer(many=True, read_only=True)
    api_url = serializers.SerializerMethodField()

    class Meta:
        model = BulletinVersion
        fields = ["api_url", "number", "published_at", "published_by", "as_of", "note", "files"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_api_url(self, version: BulletinVersion) -> str:
        return reverse("api-bulletin-version", kwargs={"pk": version.bulletin_id, "number": version.number},
                       request=self.context.get("request"))


class VersionDetailSerializer(VersionSerializer):
    figures = serializers.DictField(child=serializers.DictField(), read_only=True,
                                    help_text="Each declared value as published: indicator, area, period, value, "
                                              "unit, basis, provisional, suppressed, contributors, as_of, "
                                              "definitions.")

    class Meta(VersionSerializer.Meta):
        fields = [*VersionSerializer.Meta.fields, "figures"]
        read_only_fields = fields


class LinksSerializer(serializers.Serializer):
    versions = serializers.URLField()
    latest = serializers.URLField(allow_null=True, help_text="The latest version; empty for a draft.")
    would_change = serializers.URLField(allow_null=True, help_text="Empty for a draft.")


class BulletinSerializer(serializers.ModelSerializer):
    api_url = serializers.HyperlinkedIdentityField(view_name="api-bulletin-detail")
    template = serializers.SlugRelatedField(slug_field="code", read_only=True)
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)
    region_name_zh = serializers.CharField(source="region.name_zh", read_only=True)
    region_name_en = serializers.CharField(source="region.name_en", read_only=True)
    latest_version = serializers.IntegerField(read_only=True, allow_null=True,
                                              help_text="The latest version's number; empty for a draft.")
    links = serializers.SerializerMethodField()

    class Meta:
        model = Bulletin
        fields = ["api_url", "id", "template", "region", "region_name_zh", "region_name_en", "period",
                  "published_at", "latest_version", "links"]
        read_only_fields = fields

    @extend_schema_field(LinksSerializer)
    def get_links(self, bulletin: Bulletin) -> dict:
        request = self.context.get("request")
        number = bulletin.latest_version

        def url(name, **kwargs):
            return reverse(name, kwargs={"pk": bulletin.pk, **kwargs}, request=request)

        return {"versions": url("api-bulletin-versions"),
                "latest": url("api-bulletin-version", number=number) if number else None,
                "would_change": url("api-bulletin-would-change") if number else None}


class BulletinDetailSerializer(BulletinSerializer):
    versions = VersionSerializer(many=True, read_only=True)

    class Meta(BulletinSerializer.Meta):
        fields = [*BulletinSerializer.Meta.fields, "versions"]
        read_only_fields = fields


class NewBulletinSerializer(serializers.Serializer):
    template = _template_field()
    region = region_field()
    period = PeriodField(max_length=40, help_text="Period code (2023H1) or a Chinese phrase (2023年上半年).")


class PreviewSerializer(serializers.Serializer):
    template = _template_field()
    spec = serializers.DictField(required=False, help_text="An unsaved template spec (instead of `template`): "
                                                           "values, facts and sections (docs/bulletins.md).")
    region = region_field()
    period = PeriodField(max_length=40, help_text="Period code (2023H1) or a Chinese phrase (2023年上半年).")
    language = serializers.ChoiceField(choices=list(LANGUAGES), default="zh-hans")
    format = serializers.ChoiceField(choices=["json", *writers.FORMATS], default="json",
                                     help_text="json: the document (its text, figures and annex); the others: "
                                               "the file.")
    as_of = serializers.DateTimeField(required=False, allow_null=True,
                                      help_text="As the data stood then (default now); without an offset, "
                                                "Asia/Shanghai.")

    def validate_as_of(self, moment):
        # Far enough from the calendar's ends that the periods and time zones around it exist.
        if moment is not None and not 1900 <= moment.year <= 9000:
            raise serializers.ValidationError("a moment between the years 1900 and 9000")
        return moment

    def validate(self, attrs):
        if "template" in attrs and "spec" in attrs:
            raise serializers.ValidationError({"spec": ["send a template's code or a spec, not both"]})
        return attrs


class PublishSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True,
                                 help_text="What changed since the version before (required from version 2).")


class ChangeSerializer(serializers.Serializer):
    name = serializers.CharField()
    indicator = serializers.CharField()
    area = serializers.CharField()
    period = serializers.CharField()
    published = serializers.CharField(allow_null=True, help_text="The value published; empty if withheld.")
    now = serializers.CharField(allow_null=True, help_text="The value now; empty if withheld.")
    published_basis = serializers.CharField()
    now_basis = serializers.CharField()


class DocumentSerializer(serializers.Serializer):
    """kechuang.bulletins.document.Document as JSON (Document.as_dict)."""

    language = serializers.CharField()
    title = serializers.CharField()
    region = serializers.CharField()
    region_code = serializers.CharField()
    period = serializers.CharField()
    period_label = serializers.CharField()
    dateline = serializers.CharField()
    breadcrumb = serializers.ListField(child=serializers.DictField())
    sections = serializers.ListField(child=serializers.DictField(),
                                     help_text="heading, and blocks: paragraphs (runs of text and figure "
                                               "references), charts (SVG and data) and tables.")
    figures = serializers.ListField(child=serializers.DictField(), help_text="The annex: each figure with its "
                                                                             "definition, value, basis, sources.")
    as_of = serializers.CharField()
    template = serializers.CharField()
    version = serializers.IntegerField()
    revision_note = serializers.CharField()
    left_out = serializers.ListField(child=serializers.CharField(),
                                     help_text="Sentences left out for want of their figures, and why.")


# --- bulletins ------------------------------------------------------------------------------------


class PeriodFilter(filters.CharFilter):
    field_class = PeriodFormField


class BulletinFilterSet(filters.FilterSet):
    region = region_filter("Code of the region: its bulletins.")
    period = PeriodFilter(method="filter_period", help_text="Period code (2023H1) or a Chinese phrase.")
    template = LookupFilter(queryset=BulletinTemplate.objects.all(), to_field="code", noun="bulletin template",
                            help_text="Code of the template.")
    published = TrueFalseFilter(method="filter_published", help_text="Published (true) or drafts (false).")

    class Meta:
        model = Bulletin
        fields = []

    def filter_period(self, queryset, name, period):
        return queryset.filter(period=period.code)

    def filter_published(self, queryset, name, published):
        return queryset.filter(published_at__isnull=not published)


# Bounded as the URLs are: a longer number is no bulletin or version (404).
BULLETIN_ID = OpenApiParameter("id", {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
                               OpenApiParameter.PATH, description="The bulletin's id.")
NUMBER = OpenApiParameter("number", {"type": "integer", "minimum": 0, "maximum": 99999}, OpenApiParameter.PATH,
                          description="The version's number (1, 2 …).")
FILE_PARAMETERS = [
    NUMBER,
    OpenApiParameter("language", str, OpenApiParameter.PATH, enum=["en", "zh", "zh-hans", DATA],
                     description=f"The document's language; `{DATA}` for the open data (csv, json)."),
    OpenApiParameter("extension", str, OpenApiParameter.PATH, enum=[*services.DOCUMENT_FORMATS,
                                                                    *services.DATA_FORMATS]),
]


class BulletinViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Bulletins (简报): one template for one region and period. A published one (with its
    versions and files) is everyone's; a draft the bureau's and analysts' of its region."""

    # Ordered here: a query with an aggregate ignores Meta.ordering.
    queryset = Bulletin.objects.select_related("template", "region").annotate(
        latest_version=Max("versions__number")).order_by("-published_at", "-created_at", "-id")
    serializer_class = BulletinSerializer
    filterset_class = BulletinFilterSet
    permission_classes = [BulletinAccess]
    parser_classes = [JSONParser]
    lookup_value_regex = "[0-9]{1,18}"  # longer is no id; answered 404 rather than overflowing a query
    ordering_fields = ["published_at", "period", "created_at", "id"]

    def get_queryset(self):
        rows = visible_to(super().get_queryset(), self.request.user)
        if self.action == "retrieve":
            rows = rows.prefetch_related(Prefetch("versions", queryset=self._versions()))
        return rows

    def get_serializer_class(self):
        return BulletinDetailSerializer if self.action in ("retrieve", "create") else BulletinSerializer

    @staticmethod
    def _versions(*, figures: bool = False):
        rows = BulletinVersion.objects.select_related("published_by").prefetch_related(
            Prefetch("files", queryset=BulletinFile.objects.defer("content")))
        # The documents and the spec are large and shown elsewhere (the files, the template).
        return rows.defer("documents", "spec") if figures else rows.defer("documents", "spec", "figures")

    def _version(self, number, bulletin: Bulletin | None = None) -> BulletinVersion:
        found = self._versions(figures=True).filter(bulletin=bulletin or self.get_object(), number=int(number)).first()
        if found is None:
            raise NotFound("this bulletin has no such version")
        return found

    def _answer(self, bulletin: Bulletin, code=status.HTTP_200_OK) -> Response:
        stored = Bulletin.objects.select_related("template", "region").annotate(
            latest_version=Max("versions__number")).prefetch_related(
            Prefetch("versions", queryset=self._versions())).get(pk=bulletin.pk)
        return Response(BulletinDetailSerializer(stored, context=self.get_serializer_context()).data, status=code)

    @extend_schema(summary="The bulletins you may see (the public: the published ones)",
                   responses={200: BulletinSerializer(many=True), 400: REFUSED})
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="A bulletin, with its versions and their files", parameters=[BULLETIN_ID],
                   responses={200: BulletinDetailSerializer, **READ_ERRORS})
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(summary="Prepare the bulletin of a template, region and period (a bureau admin)",
                   description="Answers the draft (201), or the bulletin that already exists (200).",
                   request=NewBulletinSerializer,
                   responses={201: BulletinDetailSerializer, 200: BulletinDetailSerializer, **WRITE_ERRORS})
    def create(self, request):
        data = _input(request, NewBulletinSerializer)
        template = data.get("template") or answer_service_errors(lambda: services.find_template(None))
        region, period = data["region"], data["period"]
        existed = Bulletin.objects.filter(template=template, region=region, period=period.code).exists()
        bulletin = answer_service_errors(lambda: services.bulletin_for(template, region, period, by=request.user))
        return self._answer(bulletin, status.HTTP_200_OK if existed else status.HTTP_201_CREATED)

    @extend_schema(summary="Render a bulletin now, or as the data stood at `as_of` (who sees the region's drafts)",
                   description="A template by its code, or an unsaved spec. `format` json answers the document; "
                               "the other formats the file, as publishing would write it.",
                   filters=False, request=PreviewSerializer,
                   responses={(200, "application/json"): DocumentSerializer, **FILE_TYPES, **WRITE_ERRORS})
    @action(detail=False, methods=["post"], content_negotiation_class=FilesWhateverTheAccept)
    def preview(self, request):
        data = _input(request, PreviewSerializer)
        region, period, fmt = data["region"], data["period"], data["format"]
        if not sees_drafts_of(request.user, region):
            raise PermissionDenied(f"only the bureau and analysts of {region.name_zh} see its bulletins before "
                                   "they are published")
        if "spec" in data:
            subject = _checked(data["spec"], "spec")
        else:
            subject = data.get("template") or answer_service_errors(lambda: services.find_template(None))
        language = LANGUAGES[data["language"]]
        documents = answer_service_errors(lambda: services.preview(subject, region, period, languages=(language,),
                                                                   as_of=data.get("as_of")))
        document = documents[language]
        if fmt == "json":
            return Response(document.as_dict())
        content_type, extension, _ = writers.FORMATS[fmt]
        response = HttpResponse(writers.write(document, fmt), content_type=content_type)
        response["Content-Disposition"] = (f'inline; filename="{document.template}-{region.code}-{period.code}-'
                                           f'preview-{language}.{extension}"')
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response

    @extend_schema(summary="Publish: freeze the next version with its figures and files (a bureau admin)",
                   filters=False, parameters=[BULLETIN_ID], request=PublishSerializer,
                   responses={201: VersionDetailSerializer, **WRITE_ERRORS})
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        bulletin = self.get_object()
        note = _input(request, PublishSerializer).get("note", "")
        version = answer_service_errors(lambda: services.publish(bulletin, by=request.user, note=note))
        return Response(VersionDetailSerializer(self._version(version.number),
                                                context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(summary="The published versions, oldest first", filters=False, parameters=[BULLETIN_ID],
                   responses={200: VersionSerializer(many=True), **READ_ERRORS})
    @action(detail=True, methods=["get"], pagination_class=None)
    def versions(self, request, pk=None):
        rows = self._versions().filter(bulletin=self.get_object()).order_by("number")
        return Response(VersionSerializer(rows, many=True, context=self.get_serializer_context()).data)

    @extend_schema(summary="One version, with its figures as published", filters=False,
                   parameters=[BULLETIN_ID, NUMBER], responses={200: VersionDetailSerializer, **READ_ERRORS})
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>[0-9]{1,5})", url_name="version")
    def version(self, request, pk=None, number=None):
        return Response(VersionDetailSerializer(self._version(number), context=self.get_serializer_context()).data)

    @extend_schema(summary="Download a published file: en.pdf, zh.docx … data.csv, data.json",
                   description="The bytes as published; the ETag is their SHA-256.",
                   filters=False, parameters=[BULLETIN_ID, *FILE_PARAMETERS], operation_id="v1_bulletins_file",
                   responses={**FILE_TYPES, (200, "text/csv"): OpenApiTypes.BINARY,
                              (200, "application/json"): OpenApiTypes.OBJECT,
                              304: OpenApiResponse(description="Not modified (If-None-Match)."), **READ_ERRORS})
    def file(self, request, pk=None, number=None, language=None, extension=None):
        bulletin = self.get_object()
        version = self._version(number, bulletin)
        if extension in services.DATA_FORMATS:
            wanted = DATA
        elif extension in services.DOCUMENT_FORMATS:
            wanted = LANGUAGES.get(language)
        else:
            raise NotFound(f"{extension}: the files are {', '.join(services.DOCUMENT_FORMATS)} in each language, "
                           f"and {', '.join(services.DATA_FORMATS)} of the data")
        if wanted is None or (language == DATA) != (wanted == DATA):
            raise NotFound(f"{language}.{extension}: a document is en.{extension} or zh.{extension}; the data "
                           f"{DATA}.csv and {DATA}.json")
        try:
            row = services.file_of(version, wanted, extension)
        except services.BulletinError as error:
            raise NotFound(error.reason) from None
        etag = f'"{row.sha256}"'
        unchanged = get_conditional_response(request, etag=etag)
        if unchanged is not None:
            return unchanged
        content_type = (writers.FORMATS[extension][0] if extension in writers.FORMATS
                        else f"{DATA_MEDIA_TYPES[extension]}; charset=utf-8")
        response = HttpResponse(bytes(row.content), content_type=content_type)
        # The same name as the bulletin's page gives it (tongzhou-2023H1-half-year-v1-en.pdf).
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=services.file_name(bulletin, version.number, row.language, row.format))
        response["ETag"] = etag
        response["X-Content-Type-Options"] = "nosniff"
        # A published file never changes: a new version has its own address.
        response["Cache-Control"] = "public, max-age=31536000, immutable"
        return response

    @extend_schema(summary="The figures of the latest version that republishing now would change",
                   description="Corrections, late approvals, a figure that became official: the value published "
                               "and the value now, with their bases. 404 for a draft.",
                   filters=False, parameters=[BULLETIN_ID],
                   responses={200: ChangeSerializer(many=True), **READ_ERRORS})
    @action(detail=True, methods=["get"], url_path="would-change", url_name="would-change", pagination_class=None)
    def would_change(self, request, pk=None):
        bulletin = self.get_object()
        latest = bulletin.versions.order_by("-number").first()
        if latest is None:
            raise NotFound("this bulletin is a draft: nothing is published to compare with")
        changes = answer_service_errors(lambda: services.would_change(latest))
        return Response(ChangeSerializer(changes, many=True).data)


# --- templates ------------------------------------------------------------------------------------


class TemplateSerializer(serializers.ModelSerializer):
    api_url = serializers.HyperlinkedIdentityField(view_name="api-bulletin-template-detail", lookup_field="code")
    updated_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = BulletinTemplate
        fields = ["api_url", "code", "name_zh", "name_en", "built_in", "created_at", "updated_at", "updated_by"]
        read_only_fields = fields


class TemplateDetailSerializer(TemplateSerializer):
    spec = serializers.DictField(read_only=True, help_text="The template as kechuang reads it.")
    source_text = serializers.CharField(read_only=True, help_text="The spec as its editor wrote it (YAML).")

    class Meta(TemplateSerializer.Meta):
        fields = [*TemplateSerializer.Meta.fields, "spec", "source_text"]
        read_only_fields = fields


class TemplateInputSerializer(serializers.Serializer):
    source = serializers.CharField(max_length=200_000, trim_whitespace=False,
                                   help_text="The spec in YAML: title, values, facts, sections (docs/bulletins.md).")
    name_en = serializers.CharField(required=False, max_length=200, help_text="Required for a new template.")
    name_zh = serializers.CharField(required=False, max_length=200, help_text="Required for a new template.")


class BulletinTemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Bulletin templates (简报模板): data the bureau keeps; users with read scope see them."""

    queryset = BulletinTemplate.objects.select_related("updated_by")
    serializer_class = TemplateSerializer
    permission_classes = [BulletinAccess]
    parser_classes = [JSONParser]
    lookup_field = "code"
    lookup_value_regex = r"[-a-zA-Z0-9_]{1,60}"
    ordering_fields = ["code", "updated_at"]

    def get_queryset(self):
        rows = visible_to(super().get_queryset(), self.request.user)
        return rows.defer("spec", "source_text") if self.action == "list" else rows

    def get_serializer_class(self):
        return TemplateSerializer if self.action == "list" else TemplateDetailSerializer

    @extend_schema(summary="The templates (users with read scope)")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="A template, with its spec and YAML", responses={200: TemplateDetailSerializer,
                                                                           **READ_ERRORS})
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(summary="Save a template from its YAML, once it renders (a bureau admin)",
                   description="Changes the template, or creates it (201: name_en and name_zh required).",
                   request=TemplateInputSerializer,
                   responses={200: TemplateDetailSerializer, 201: TemplateDetailSerializer, **WRITE_ERRORS})
    def update(self, request, code=None):
        if not services.may_keep_templates(request.user):
            raise PermissionDenied("only a bureau admin keeps bulletin templates")
        data = _input(request, TemplateInputSerializer)
        try:
            spec = templating.parse(data["source"])
        except templating.TemplateError as error:
            raise DRFValidationError({"source": [str(error)], "where": error.where, "reason": error.reason}) from None
        _checked(spec, "source")  # here, for its where and reason; the service checks again as it saves
        existed = BulletinTemplate.objects.filter(code=code).exists()
        saved = answer_service_errors(lambda: services.save_template(
            code, data["source"], name_en=data.get("name_en"), name_zh=data.get("name_zh"), by=request.user))
        return Response(TemplateDetailSerializer(self.get_queryset().get(pk=saved.pk),
                                                 context=self.get_serializer_context()).data,
                        status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)
