"""The accounts API under /api/v1/auth/.

/api/v1/auth/token/: exchange a username and password for an API token, or revoke it.

    POST   {"username": …, "password": …}  → 200 {"username": …, "token": …}
    DELETE (authenticated)                  → 204, the caller's token no longer works

The password check goes through `authenticate()`, so django-axes counts failures and
refuses a locked-out username and address (429) exactly as at the admin login.

/api/v1/auth/grants/: role grants (授权), given by a superuser or by a bureau admin
within their region subtree, and revoked, never edited or deleted.

    GET    grants/                 → the grants the caller may see (?user=, ?role=, ?active=)
    POST   grants/ {"user", "role", "region" | "organisation"} → 201 the grant
    GET    grants/<id>/            → one grant (404 when not visible)
    POST   grants/<id>/revoke/     → 200 the revoked grant
"""

import django_filters.rest_framework as filters
from django.contrib.auth import authenticate, get_user_model
from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, parsers, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed, ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from kechuang.registry.api.fields import KeyRelatedField
from kechuang.registry.api.serializers import RegistrySerializer, organisation_field, region_field
from kechuang.registry.api.views import ID_PATTERN, JSONParser
from kechuang.registry.filters import TrueFalseFilter

from . import services
from .lockout import LockedOut, is_locked_out
from .models import Grant, Role
from .scoping import may_grant, scope_of, visible_to


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, write_only=True,
                                     style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    username = serializers.CharField(read_only=True)
    token = serializers.CharField(read_only=True, help_text="send as `Authorization: Token <token>`")


class TokenView(APIView):
    def get_permissions(self):
        if self.request.method == "POST":
            return [permissions.AllowAny()]
        return [permissions.IsAuthenticated()]

    @extend_schema(
        operation_id="auth_token_create",
        summary="Get your API token",
        description="Answers the user's token, creating it when there is none. After "
                    "5 wrong passwords for a username from one address, that pair is locked for 30 minutes (429).",
        request=CredentialsSerializer,
        responses={
            200: TokenSerializer,
            400: OpenApiResponse(description="username or password missing"),
            401: OpenApiResponse(description="wrong username or password, or the user is inactive"),
            429: OpenApiResponse(description="locked out after repeated failed logins; see Retry-After"),
        },
        auth=[],
    )
    def post(self, request):
        credentials = CredentialsSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        user = authenticate(request=request, **credentials.validated_data)
        if user is None:
            if is_locked_out(request):
                raise LockedOut(request)
            raise AuthenticationFailed("wrong username or password")
        token = services.issue_token(user, by=user.get_username())
        return Response(TokenSerializer({"username": user.get_username(), "token": token.key}).data)

    @extend_schema(
        operation_id="auth_token_destroy",
        summary="Revoke your API token",
        request=None,
        responses={204: OpenApiResponse(description="revoked (or there was none)")},
    )
    def delete(self, request):
        services.revoke_token(request.user, by=request.user.get_username())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- role grants -------------------------------------------------------------------


class GrantSerializer(RegistrySerializer):
    """A role grant (授权). Written once (POST) and revoked (`revoke/`); never edited."""

    api_url = serializers.HyperlinkedIdentityField(view_name="grant-detail")
    # Any user may be named: a bureau admin grants roles to people who hold none yet.
    user = KeyRelatedField("user", slug_field="username", queryset=get_user_model().objects.all(), scoped=False,
                           help_text="Username of the user who holds the role.")
    role = serializers.ChoiceField(
        choices=Role.choices,
        error_messages={"invalid_choice": f"{{input!r}} is not a role; roles are {', '.join(Role.values)}"},
    )
    region = region_field(required=False, allow_null=True,
                          help_text="For a bureau admin or analyst: the region code of their subtree (320612).")
    organisation = organisation_field(required=False, allow_null=True,
                                      help_text="For a park manager: the park or zone; for an enterprise user: the "
                                                "enterprise (its key).")
    scope_label = serializers.CharField(read_only=True)
    granted_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True,
                                              help_text="Who gave it; null when given on the command line.")
    revoked_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True,
                                              help_text="Who revoked it; null while in force, or when revoked on "
                                                        "the command line.")
    active = serializers.SerializerMethodField(help_text="Not revoked.")

    class Meta(RegistrySerializer.Meta):
        model = Grant
        fields = ["id", "api_url", "user", "role", "region", "organisation", "scope_label", "granted_by",
                  "granted_at", "revoked_at", "revoked_by", "active"]
        read_only_fields = ["granted_at", "revoked_at"]

    def get_active(self, grant) -> bool:
        return grant.revoked_at is None

    def create(self, attrs):
        try:
            return services.grant_role(attrs["user"], attrs["role"], by=self.context["request"].user,
                                       region=attrs.get("region"), organisation=attrs.get("organisation"))
        except services.GrantRefused as exc:
            # The refusal is about the role and its scope together, not one field.
            raise serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [str(exc)]}) from exc


class GrantFilterSet(filters.FilterSet):
    user = filters.CharFilter(field_name="user__username", max_length=150, help_text="Username of the holder.")
    role = filters.ChoiceFilter(choices=Role.choices)
    active = TrueFalseFilter(field_name="revoked_at", lookup_expr="isnull",
                             help_text="Grants in force (true) or revoked (false).")

    class Meta:
        model = Grant
        fields = []


class MayGrant(permissions.BasePermission):
    """Grants are for signed-in users only (401 otherwise). Anyone signed in reads the
    grants `visible_to` gives them (their own at least); giving and revoking is for a
    superuser or a bureau admin (403 for everyone else, whatever the grant), and a
    revoke only of a grant they may manage (`may_grant`)."""

    message = "only a superuser, or a bureau admin within their region subtree, gives and revokes roles"

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        scope = scope_of(request.user)
        return scope.everything or bool(scope.change_paths)

    def has_object_permission(self, request, view, grant):
        if request.method in permissions.SAFE_METHODS:
            return True
        return may_grant(request.user, grant.role, grant.region, grant.organisation)


NOT_FOUND = OpenApiResponse(description="no such grant, or one you may not see")
REFUSED = OpenApiResponse(description="the rules refuse it: the message says which")
FORBIDDEN = OpenApiResponse(description="you may not give or revoke roles (or not this grant)")


@extend_schema_view(
    list=extend_schema(summary="List role grants",
                       description="Your own grants; a bureau admin also sees those they may manage (roles scoped "
                                   "inside their region subtree, and reviewers); a superuser sees all."),
    retrieve=extend_schema(summary="One role grant", responses={200: GrantSerializer, 404: NOT_FOUND}),
    create=extend_schema(
        summary="Give a user a role",
        description="`region` for a bureau admin or analyst, `organisation` for a park manager or enterprise user, "
                    "neither for a reviewer. A bureau admin grants only within their region subtree. Giving what "
                    "the user already holds answers the grant in force (200).",
        responses={201: GrantSerializer, 200: GrantSerializer, 400: REFUSED, 403: FORBIDDEN},
    ),
)
class GrantViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                   viewsets.GenericViewSet):
    """Role grants: given (POST) and revoked (`<id>/revoke/`), never edited or deleted
    (PUT, PATCH and DELETE answer 405), so who could do what, when, stays on record.

    A grant the caller may not see is a 404, as one that does not exist; an
    organisation they may not see is "unknown" (400), never confirmed to exist."""

    queryset = Grant.objects.select_related("user", "region", "organisation", "granted_by", "revoked_by")
    serializer_class = GrantSerializer
    permission_classes = [MayGrant]
    filterset_class = GrantFilterSet
    ordering_fields = ["granted_at", "revoked_at", "role", "user__username"]
    parser_classes = [JSONParser, parsers.FormParser, parsers.MultiPartParser]
    lookup_value_regex = ID_PATTERN
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self):
        return visible_to(super().get_queryset(), self.request.user)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attrs = serializer.validated_data
        # grant_role answers a grant the user already holds instead of adding a second
        # one; 200 tells the client that nothing was created.
        held = Grant.objects.active().filter(user=attrs["user"], role=attrs["role"], region=attrs.get("region"),
                                             organisation=attrs.get("organisation")).exists()
        serializer.save()
        return Response(serializer.data, status=status.HTTP_200_OK if held else status.HTTP_201_CREATED)

    @extend_schema(summary="Revoke a role grant",
                   description="Ends the grant; the row stays, with who revoked it and when.",
                   request=None, responses={200: GrantSerializer, 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def revoke(self, request, *args, **kwargs):
        with transaction.atomic():
            grant = self.get_object()
            # Lock the row and read it again, so that of two revokes at once the second
            # finds the grant revoked (400) instead of writing over who revoked it.
            grant.revoked_at = Grant.objects.select_for_update().values_list("revoked_at", flat=True).get(pk=grant.pk)
            try:
                services.revoke_grant(grant, by=request.user)
            except services.GrantRefused as exc:
                raise ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [str(exc)]}) from exc
        return Response(self.get_serializer(grant).data)
