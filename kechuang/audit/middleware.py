"""Tell the audit trail who is asking and through which interface, for every request."""

from django.utils.decorators import sync_only_middleware
from simple_history.middleware import HistoryRequestMiddleware

from .context import Interface, interface

API_PREFIX = "/api/"
ADMIN_PREFIX = "/admin/"


def interface_for_path(path: str) -> str:
    """/api/… is the REST API, /admin/… the Django admin, every other page the web."""
    if path.startswith(API_PREFIX):
        return Interface.API
    if path.startswith(ADMIN_PREFIX):
        return Interface.ADMIN
    return Interface.WEB


@sync_only_middleware
def AuditMiddleware(get_response):
    """Sets the interface from the path, and (through simple-history's
    HistoryRequestMiddleware) the signed-in user, for the records made while the
    request is answered."""

    def with_interface(request):
        # path_info: the path below the script prefix the site may be mounted at.
        with interface(interface_for_path(request.path_info)):
            return get_response(request)

    return HistoryRequestMiddleware(with_interface)
