"""Role grants: who may see and change what.

A user holds any number of grants; each names a role and the scope it applies to.
Bureau admins and analysts are scoped to a region subtree (Tongzhou 320612 and
everything below it), park managers to a park or zone, enterprise users to their own
enterprise; reviewers see only the applications assigned to them (the programmes issue
adds assignments). `scoping.py` turns a user's grants into the one answer every
interface uses.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from kechuang.registry.models import Organisation, Region


class Role(models.TextChoices):
    BUREAU_ADMIN = "bureau_admin", "bureau admin 科技局管理员"
    ANALYST = "analyst", "analyst 分析员"
    PARK_MANAGER = "park_manager", "park or zone manager 园区管理员"
    ENTERPRISE_USER = "enterprise_user", "enterprise user 企业用户"
    REVIEWER = "reviewer", "reviewer 评审专家"


#: Roles scoped to a region subtree, to an organisation, and to nothing (assignments).
REGION_ROLES = (Role.BUREAU_ADMIN, Role.ANALYST)
ORGANISATION_ROLES = (Role.PARK_MANAGER, Role.ENTERPRISE_USER)


class GrantQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class Grant(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grants")
    role = models.CharField(max_length=20, choices=Role.choices)
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               help_text="For bureau admins and analysts: the subtree they work in.")
    organisation = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                     help_text="For park managers: the park or zone; for enterprise users: the enterprise.")
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    granted_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    objects = GrantQuerySet.as_manager()

    class Meta:
        ordering = ["user", "role", "granted_at"]
        constraints = [
            # Each role carries exactly the scope it needs, in the database too.
            models.CheckConstraint(
                condition=(Q(role__in=REGION_ROLES) & Q(region__isnull=False) & Q(organisation__isnull=True))
                | (Q(role__in=ORGANISATION_ROLES) & Q(organisation__isnull=False) & Q(region__isnull=True))
                | (Q(role=Role.REVIEWER) & Q(region__isnull=True) & Q(organisation__isnull=True)),
                name="grant_scope_fits_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} — {self.scope_label}"

    @property
    def scope_label(self) -> str:
        if self.region_id:
            return f"{self.region.name_zh} {self.region.code}"
        if self.organisation_id:
            return str(self.organisation)
        return "assigned applications"
