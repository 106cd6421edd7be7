"""What every page's frame needs to know about the user: which workspaces to offer."""

from django.utils.functional import SimpleLazyObject

from kechuang.accounts.models import Role
from kechuang.accounts.scoping import scope_of


def workspaces(user) -> dict[str, bool]:
    """The workspaces `user`'s roles open (the pages themselves check again, row by row)."""
    scope = scope_of(user)
    roles, everything = scope.roles, scope.everything
    bureau = everything or Role.BUREAU_ADMIN in roles
    return {
        "calls": everything or bool(roles & {Role.BUREAU_ADMIN, Role.ANALYST, Role.PARK_MANAGER,
                                             Role.ENTERPRISE_USER}),
        "apply": everything or Role.ENTERPRISE_USER in roles,
        "review": Role.REVIEWER in roles,
        "decide": bureau,
        "report": everything or bool(roles & {Role.BUREAU_ADMIN, Role.PARK_MANAGER, Role.ENTERPRISE_USER}),
        "screen": bureau or Role.ANALYST in roles,
    }


def workspace(request):
    """`may`: the workspaces of the user (`may.decide` …), looked up only if a template asks."""
    user = getattr(request, "user", None)
    return {"may": SimpleLazyObject(lambda: workspaces(user) if user is not None else {})}
