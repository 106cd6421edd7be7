"""/api/v1/auth/token/: exchange a username and password for an API token, or revoke it.

    POST   {"username": …, "password": …}  → 200 {"username": …, "token": …}
    DELETE (authenticated)                  → 204, the caller's token no longer works

The password check goes through `authenticate()`, so django-axes counts failures and
refuses a locked-out username and address (429) exactly as at the admin login.
"""

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.response import Response
from rest_framework.views import APIView

from . import services
from .lockout import LockedOut, is_locked_out


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
