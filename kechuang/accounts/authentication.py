"""DRF authentication that knows about the login lockout."""

from drf_spectacular.authentication import BasicScheme
from rest_framework import authentication, exceptions

from .lockout import LockedOut, is_locked_out


class BasicAuthentication(authentication.BasicAuthentication):
    """HTTP Basic, answered 429 with the lockout message, not a bare 401, while the
    username is locked out from this address.

    DRF hands its own request to `authenticate()`, so axes counts the failure and
    refuses the locked-out pair, but flags that request rather than the one axes'
    middleware would turn into a 429.
    """

    def authenticate_credentials(self, userid, password, request=None):
        try:
            return super().authenticate_credentials(userid, password, request)
        except exceptions.AuthenticationFailed:
            if request is not None and is_locked_out(request):
                raise LockedOut(request) from None
            raise


class BasicAuthenticationScheme(BasicScheme):
    """The OpenAPI security scheme of the class above: plain HTTP Basic (basicAuth)."""

    target_class = BasicAuthentication
