"""What every page's frame needs to know about the user: which workspaces to offer."""

from django.utils.functional import SimpleLazyObject

from kechuang.accounts.scoping import workspaces


def workspace(request):
    """`may`: the user's workspaces (`may.decide` …, scoping.Workspaces), looked up only if a template asks."""
    user = getattr(request, "user", None)
    return {"may": SimpleLazyObject(lambda: workspaces(user))}
