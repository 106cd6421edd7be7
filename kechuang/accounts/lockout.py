"""Login lockout (django-axes) as kechuang answers it.

Axes counts the failed logins of a username from an address and, past
AXES_FAILURE_LIMIT, refuses that pair before any password is checked. It flags the
request it was handed (`axes_locked_out`); for the web login its middleware turns the
flag into a 429 page, and for the API (whose requests axes' middleware does not see)
`LockedOut` turns it into a 429 JSON answer.
"""

import ipaddress

from axes.helpers import get_cool_off, get_lockout_message
from django.conf import settings
from rest_framework import exceptions, status


def client_address(request) -> str | None:
    """The address a login came from (AXES_CLIENT_IP_CALLABLE).

    Behind PROXY_COUNT reverse proxies, each appending the address it saw to
    X-Forwarded-For, the client is the entry the outermost proxy appended; entries
    to its left are whatever the client chose to send, and are never trusted.
    """
    remote = request.META.get("REMOTE_ADDR")
    if not settings.PROXY_COUNT:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < settings.PROXY_COUNT:
        return remote  # not through the proxies (a health check on the machine itself)
    candidate = forwarded[-settings.PROXY_COUNT]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def is_locked_out(request) -> bool:
    """Whether the login just attempted with `request` was refused by, or tipped into, a lockout."""
    return bool(getattr(request, "axes_locked_out", False))


class LockedOut(exceptions.APIException):
    """429 with axes' message and a Retry-After of the cool-off time."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"

    def __init__(self, request):
        super().__init__(detail=str(get_lockout_message()))
        cool_off = get_cool_off(request)
        # DRF's exception handler sends `wait` as the Retry-After header.
        self.wait = int(cool_off.total_seconds()) if cool_off else None
