"""Account use cases: API tokens and role grants.

API tokens (接口令牌): one per user, issued on request, revoked at will. A token stands
for its user until it is revoked; the API's TokenAuthentication refuses it from then
on (401), and for a user who is no longer active.

Role grants (授权): given and revoked, never edited or deleted, so who could do what,
when, stays on record.
"""

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from kechuang.registry.models import CONTAINER_KINDS, OrganisationKind

from .models import ORGANISATION_ROLES, REGION_ROLES, Grant, Role
from .scoping import forget_scope, may_grant

log = logging.getLogger(__name__)


@transaction.atomic
def issue_token(user: AbstractBaseUser, *, by: str) -> Token:
    """The user's token, created if the user has none. `by` says who asked (for the log)."""
    token, created = Token.objects.get_or_create(user=user)
    if created:
        log.info("API token issued for %s by %s", user.get_username(), by)
    return token


@transaction.atomic
def revoke_token(user: AbstractBaseUser, *, by: str) -> bool:
    """Delete the user's token; False when there was none."""
    deleted, _ = Token.objects.filter(user=user).delete()
    if deleted:
        log.info("API token of %s revoked by %s", user.get_username(), by)
    return bool(deleted)


# --- role grants ---------------------------------------------------------------


class GrantRefused(Exception):
    """A grant that breaks a rule; the message says which."""


def check_grant(role: str, *, by: AbstractBaseUser | None, region=None, organisation=None) -> None:
    """Raise GrantRefused unless `role` fits its scope and `by` may grant it (a bureau
    admin within their subtree, or a superuser; `by=None` is the operator's command line)."""
    if role not in Role.values:
        raise GrantRefused(f"{role!r} is not a role; roles are {', '.join(Role.values)}")
    if role in REGION_ROLES and (region is None or organisation is not None):
        raise GrantRefused(f"a {role} is scoped to a region (a division code such as 320612)")
    if role in ORGANISATION_ROLES and (organisation is None or region is not None):
        raise GrantRefused(f"a {role} is scoped to an organisation (its key)")
    if role == Role.REVIEWER and (region is not None or organisation is not None):
        raise GrantRefused("a reviewer has no region or organisation: they see the applications assigned to them")
    if role == Role.PARK_MANAGER and organisation.kind not in CONTAINER_KINDS:
        raise GrantRefused(f"{organisation.key} is a {organisation.kind}; a park manager manages a park or zone")
    if role == Role.ENTERPRISE_USER and organisation.kind != OrganisationKind.ENTERPRISE:
        raise GrantRefused(f"{organisation.key} is a {organisation.kind}; an enterprise user belongs to an enterprise")
    if by is not None and not may_grant(by, role, region, organisation):
        raise GrantRefused(f"{by.get_username()} may not grant {role} there: only within their own region subtree")


@transaction.atomic
def grant_role(user: AbstractBaseUser, role: str, *, by: AbstractBaseUser | None, region=None,
               organisation=None) -> Grant:
    """Give `user` a role with its scope (see check_grant). Granting what the user
    already holds returns that grant."""
    check_grant(role, by=by, region=region, organisation=organisation)
    existing = Grant.objects.active().filter(user=user, role=role, region=region, organisation=organisation).first()
    if existing:
        return existing
    grant = Grant.objects.create(user=user, role=role, region=region, organisation=organisation, granted_by=by)
    forget_scope(user)
    log.info("role %s granted to %s (%s) by %s", role, user.get_username(), grant.scope_label,
             by.get_username() if by else "the command line")
    return grant


@transaction.atomic
def revoke_grant(grant: Grant, *, by: AbstractBaseUser | None) -> None:
    """End a grant. History is kept: the row stays, with who revoked it and when."""
    if grant.revoked_at is not None:
        raise GrantRefused("that grant is already revoked")
    if by is not None and not may_grant(by, grant.role, grant.region, grant.organisation):
        raise GrantRefused(f"{by.get_username()} may not revoke a grant outside their region subtree")
    grant.revoked_at, grant.revoked_by = timezone.now(), by
    grant.save(update_fields=["revoked_at", "revoked_by"])
    forget_scope(grant.user)
