"""Who may see and change what: the one place that decides.

`visible_to(queryset, user)` narrows any registry queryset to the rows the user may
read; `can_change(user, obj)` says whether they may change one row;
`can_create_in(user, region)` whether they may register something there. Interfaces
(API, web, admin, exports, CLI) call these and nothing else, so a rule changes here
once.

The rules, by role:
- bureau admin: reads and changes everything located in their region subtree;
- analyst: reads everything in their region subtree; changes nothing;
- park manager: reads and changes their park or zone, its phases and the organisations
  located in it (tenants of parks inside a zone included);
- enterprise user: reads and changes their own enterprise and its rows;
- reviewer: nothing in the registry (only the applications assigned to them);
- anyone, signed in or not: the reference data (regions, sources, sectors, designation
  types) and designations that reached their final notice (a published list is public
  record); a designation still in publicity (公示) goes with its enterprise, and the
  review queue of imported lists is the bureau's. Published aggregates and bulletins
  come with the issues that add them.
A superuser sees and changes everything.

Organisations are placed by their current location; a firm that moved out of a
subtree leaves that bureau's scope with it.
"""

from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.db.models import Model, Q, QuerySet

from kechuang.bulletins.models import Bulletin, BulletinFile, BulletinTemplate, BulletinVersion
from kechuang.designations.models import (
    Designation,
    DesignationImport,
    DesignationStep,
    DesignationType,
    ImportCandidate,
    ReReview,
)
from kechuang.programs.models import (
    Attachment,
    Call,
    Outcome,
    Party,
    ProgressReport,
    Project,
    ProjectTransition,
    ReviewAssignment,
    Tranche,
)
from kechuang.registry.models import (
    Alias,
    Capacity,
    Contact,
    Location,
    Milestone,
    Organisation,
    Ownership,
    Phase,
    Region,
    RegionLink,
    Sector,
    Source,
)
from kechuang.registry.services import region_path
from kechuang.statistics.models import DataLock, Metric, Observation, ObservationStatus

from .models import Grant, Role

#: Tables anyone may read: the division codes are a public standard; sources, sectors,
#: the metrics catalogue and the designation types describe the data rather than hold it.
REFERENCE_MODELS = (Region, RegionLink, Source, Sector, Metric, DesignationType)

#: A designation's own rows: seen by whoever sees the designation.
DESIGNATION_ROWS = (DesignationStep, ReReview)

#: A project's own rows: seen by whoever sees the project, changed by whoever may change
#: it (the services decide which of them may do what).
PROJECT_ROWS = (Party, ProjectTransition, Tranche, ProgressReport, Outcome, Attachment)

#: For each table that belongs to an organisation, the path from a row to it.
ORGANISATION_FIELD = {
    Organisation: "",
    Alias: "organisation",
    Location: "organisation",
    Ownership: "organisation",
    Phase: "park",
    Milestone: "organisation",
    Capacity: "organisation",
    Contact: "organisation",
}


@dataclass(frozen=True)
class Scope:
    """A user's grants, resolved once per request."""

    everything: bool = False
    read_paths: tuple[str, ...] = ()       # region subtrees they may read
    change_paths: tuple[str, ...] = ()     # region subtrees they may change
    parks: tuple[int, ...] = ()            # parks and zones they manage
    enterprises: tuple[int, ...] = ()      # their own enterprises
    roles: frozenset = field(default_factory=frozenset)

    @property
    def empty(self) -> bool:
        return not (self.everything or self.read_paths or self.parks or self.enterprises)


def scope_of(user) -> Scope:
    if user is None or not user.is_authenticated or not user.is_active:
        return Scope()
    if user.is_superuser:
        return Scope(everything=True, roles=frozenset(Role.values))
    cached = getattr(user, "_kechuang_scope", None)
    if cached is not None:
        return cached
    grants = list(Grant.objects.active().filter(user=user).select_related("region"))
    scope = Scope(
        read_paths=tuple(g.region.path for g in grants if g.role in (Role.BUREAU_ADMIN, Role.ANALYST)),
        change_paths=tuple(g.region.path for g in grants if g.role == Role.BUREAU_ADMIN),
        parks=tuple(g.organisation_id for g in grants if g.role == Role.PARK_MANAGER),
        enterprises=tuple(g.organisation_id for g in grants if g.role == Role.ENTERPRISE_USER),
        roles=frozenset(g.role for g in grants),
    )
    user._kechuang_scope = scope  # grants change rarely; one lookup per request is enough
    return scope


def _in_paths(paths: tuple[str, ...]) -> Q:
    """Organisations whose current location lies in one of the region subtrees."""
    if not paths:
        return Q(pk__in=[])
    return Q(pk__in=Location.objects.current().filter(region__in=_regions_in(paths)).values("organisation_id"))


def _tenants_of(parks: tuple[int, ...]) -> Q:
    """The parks themselves and everything located in them, or in a park inside them."""
    if not parks:
        return Q(pk__in=[])
    inside = Location.objects.current().filter(within__in=parks).values("organisation_id")
    nested = Location.objects.current().filter(within__in=inside).values("organisation_id")
    return Q(pk__in=parks) | Q(pk__in=inside) | Q(pk__in=nested)


def organisations_visible(scope: Scope) -> Q:
    return _in_paths(scope.read_paths) | _tenants_of(scope.parks) | Q(pk__in=scope.enterprises)


def organisations_changeable(scope: Scope) -> Q:
    return _in_paths(scope.change_paths) | _tenants_of(scope.parks) | Q(pk__in=scope.enterprises)


def _through(model, condition: Q) -> Q:
    """Apply an organisation condition to a table that belongs to organisations."""
    prefix = ORGANISATION_FIELD[model]
    if not prefix:
        return condition
    return Q(**{f"{prefix}__in": Organisation.objects.filter(condition)})


def _grants_visible(queryset: QuerySet, user, scope: Scope) -> QuerySet:
    """A user sees their own grants; a bureau admin also those they may manage (see may_grant)."""
    mine = Q(user=user) if user is not None and user.is_authenticated else Q(pk__in=[])
    if not scope.change_paths:
        return queryset.filter(mine)
    organisations = Organisation.objects.filter(_in_paths(scope.change_paths))
    managed = Q(region__in=_regions_in(scope.change_paths)) | Q(organisation__in=organisations) | Q(role=Role.REVIEWER)
    return queryset.filter(mine | managed)


def _observations_visible(queryset: QuerySet, scope: Scope) -> QuerySet:
    """An enterprise's or park's figures go with the organisation; a region's own figures
    to the bureau and analysts of a subtree holding it. Anyone reads a region's published
    figure of a metric that is not confidential (the public's aggregates)."""
    public = Q(region__isnull=False, status=ObservationStatus.PUBLISHED, metric__confidential=False)
    if scope.empty:
        return queryset.filter(public)
    by_organisation = Q(organisation__in=Organisation.objects.filter(organisations_visible(scope)))
    by_region = Q(region__in=_regions_in(scope.read_paths)) if scope.read_paths else Q(pk__in=[])
    return queryset.filter(public | by_organisation | by_region)


def _projects_visible(queryset: QuerySet, user, scope: Scope) -> QuerySet:
    """A project goes with its applicant (the enterprise's own users, its park's managers, the
    bureau and analysts of its district) and to the reviewers assigned to it. Applications
    are confidential until approved: the public sees none (published counts come with the
    indicators)."""
    model = queryset.model
    signed_in = user is not None and user.is_authenticated
    if model is ReviewAssignment:
        # Scores are the bureau's and the reviewer's own: not the applicant's.
        by_scope = Q(project__applicant__in=Organisation.objects.filter(_in_paths(scope.read_paths)))
        return queryset.filter(by_scope | Q(reviewer=user) if signed_in else by_scope)
    # Subqueries, not joins: a project with several reviews must still come once.
    assigned = ReviewAssignment.objects.filter(reviewer=user).values("project_id") if signed_in else []
    condition = Q(applicant__in=Organisation.objects.filter(organisations_visible(scope))) | Q(pk__in=assigned)
    if model is Project:
        return queryset.filter(condition)
    return queryset.filter(project__in=Project.objects.filter(condition).values("pk"))


def _designations_visible(queryset: QuerySet, scope: Scope) -> QuerySet:
    """A designation that reached its final notice is public record: the ministries publish
    the lists. One still in publicity (公示, not yet designated) goes with its enterprise:
    its own users, its park's managers, the bureau and analysts of its district."""
    condition = Q(granted_on__isnull=False)
    if not scope.empty:
        condition |= Q(organisation__in=Organisation.objects.filter(organisations_visible(scope)))
    if queryset.model is Designation:
        return queryset.filter(condition)
    return queryset.filter(designation__in=Designation.objects.filter(condition).values("pk"))


def _designation_imports_visible(queryset: QuerySet, user, scope: Scope) -> QuerySet:
    """Imported lists and their review queue are the bureau's: the bureau admins and analysts
    of a subtree holding the region the names were matched in, and whoever imported it."""
    condition = Q(region__in=_regions_in(scope.read_paths)) if scope.read_paths else Q(pk__in=[])
    if user is not None and user.is_authenticated:
        condition |= Q(by=user)
    if queryset.model is DesignationImport:
        return queryset.filter(condition)
    return queryset.filter(designation_import__in=DesignationImport.objects.filter(condition).values("pk"))


def sees_drafts_of(user, region: Region) -> bool:
    """Whether `user` sees the unpublished bulletins of `region` (the rule visible_to applies
    to a Bulletin, for one that may not exist yet): the bureau's and analysts' of a subtree
    holding it."""
    scope = scope_of(user)
    return scope.everything or any(region.path.startswith(path) for path in scope.read_paths)


def _in_regions(paths: tuple[str, ...], field: str) -> Q:
    """Rows whose region path (`field`) lies in one of the subtrees; nothing for none."""
    return reduce(or_, (Q(**{f"{field}__startswith": p}) for p in paths), Q(pk__in=[]))


def _regions_in(paths: tuple[str, ...]) -> QuerySet:
    if not paths:
        return Region.objects.none()
    return Region.objects.filter(reduce(or_, (Q(path__startswith=p) for p in paths)))


def visible_to(queryset: QuerySet, user) -> QuerySet:
    """The rows of `queryset` that `user` may read."""
    model = queryset.model
    if model in REFERENCE_MODELS:
        return queryset
    scope = scope_of(user)
    if scope.everything:
        return queryset
    if model is Grant:
        return _grants_visible(queryset, user, scope)
    if model is Observation:
        return _observations_visible(queryset, scope)
    if model is Project or model is ReviewAssignment or model in PROJECT_ROWS:
        return _projects_visible(queryset, user, scope)
    if model is Call:
        return queryset if scope.read_paths or scope.parks or scope.enterprises else queryset.none()
    if model is Designation or model in DESIGNATION_ROWS:
        return _designations_visible(queryset, scope)
    if model is BulletinVersion or model is BulletinFile:
        return queryset  # a version exists only once published, and what is published is public
    if model is Bulletin:
        # Published: everyone's; a draft: the bureau's and analysts' of a subtree holding its region.
        return queryset.filter(Q(published_at__isnull=False) | _in_regions(scope.read_paths, "region__path"))
    if model is BulletinTemplate:
        return queryset if scope.read_paths else queryset.none()
    if model is DesignationImport or model is ImportCandidate:
        return _designation_imports_visible(queryset, user, scope)
    if model is DataLock:
        # Who locked and unlocked a region's figures, and why: the bureau's and analysts' of a
        # subtree holding the region (found open to anyone by the security drill).
        return queryset.filter(_in_regions(scope.read_paths, "region__path"))
    if model not in ORGANISATION_FIELD:
        raise TypeError(f"no visibility rule for {model.__name__}: add it to kechuang/accounts/scoping.py")
    if scope.empty:
        return queryset.none()
    return queryset.filter(_through(model, organisations_visible(scope)))


@dataclass(frozen=True)
class Workspaces:
    """The workspaces a user's roles open; each page still checks its rows (visible_to, can_change)."""

    calls: bool  # calls for applications: everyone with a scope
    apply: bool  # applications: enterprise users
    review: bool  # the reviewer's queue
    decide: bool  # the bureau's boards and queues: approve, return, lock
    report: bool  # report and import figures: the bureau, park managers, enterprise users
    screen: bool  # expiry lists, screening, the designation import queue: the bureau and analysts


def workspaces(user) -> Workspaces:
    scope = scope_of(user)
    roles, everything = scope.roles, scope.everything
    return Workspaces(
        calls=everything or bool(scope.read_paths or scope.parks or scope.enterprises),
        apply=everything or bool(scope.enterprises),
        review=everything or Role.REVIEWER in roles,
        decide=everything or bool(scope.change_paths),
        report=everything or bool(scope.change_paths or scope.parks or scope.enterprises),
        screen=everything or bool(scope.read_paths),
    )


def may_change_anything(user) -> bool:
    """Whether `user` may change any row at all (analysts, reviewers and the public may not)."""
    scope = scope_of(user)
    return scope.everything or bool(scope.change_paths or scope.parks or scope.enterprises)


def _region_path(region: Region) -> str:
    """The path a region has, or will have once saved under its (new) parent."""
    return region_path(region.parent if region.parent_id else None, region.code)


def can_change(user, obj: Model) -> bool:
    """Whether `user` may change (or delete) this row. `obj` may be unsaved, or carry
    changes not yet saved: the answer is then for the row as it would be written, so a
    change that would move a row out of the user's scope is refused like any other."""
    scope = scope_of(user)
    if scope.everything:
        return True
    model = type(obj)
    if model is Region or model is RegionLink:
        path = _region_path(obj if model is Region else obj.region)
        # Its own division too (names, dates), but a new parent must keep it in the subtree.
        return any(path.startswith(p) for p in scope.change_paths)
    if model in (Source, Sector, Metric):
        return bool(scope.change_paths)  # bureau staff keep the reference lists
    if model is DataLock:
        return can_review(user, obj.region)
    if model is Call:
        return any(_region_path(obj.region).startswith(p) for p in scope.change_paths)
    if model is Project or model is ReviewAssignment or model in PROJECT_ROWS:
        project = obj if model is Project else obj.project
        # The applicant's people edit a draft; the bureau of its district runs the rest
        # (the services guard each transition).
        return Organisation.objects.filter(organisations_changeable(scope), pk=project.applicant_id).exists()
    if model is DesignationType:
        # The shipped types are the catalogue's (data/types.yaml); bureau staff keep their own.
        return not obj.built_in and bool(scope.change_paths)
    if model is Designation or model in DESIGNATION_ROWS:
        # The bureau records designations from the notices; enterprises and parks read theirs.
        designation = obj if model is Designation else obj.designation
        return can_review(user, designation.organisation)
    if model is DesignationImport or model is ImportCandidate:
        upload = obj if model is DesignationImport else obj.designation_import
        if upload.region_id is not None:
            return any(_region_path(upload.region).startswith(p) for p in scope.change_paths)
        return bool(scope.change_paths) and upload.by_id == getattr(user, "pk", None)
    if model is Observation:
        if obj.region_id is not None:
            return any(_region_path(obj.region).startswith(p) for p in scope.change_paths)
        # Enterprises report their own figures, park managers their tenants', the bureau anyone's.
        return Organisation.objects.filter(organisations_changeable(scope), pk=obj.organisation_id).exists()
    if model not in ORGANISATION_FIELD:
        raise TypeError(f"no change rule for {model.__name__}: add it to kechuang/accounts/scoping.py")
    organisation_id = obj.pk if model is Organisation else getattr(obj, f"{ORGANISATION_FIELD[model]}_id")
    if organisation_id is None:
        return False  # an organisation is created with its location: see can_create_in
    if model is Location and not (_same_place_as_stored(obj) or can_create_in(user, obj.region, obj.within)):
        return False  # a move, or a correction of the place, must land inside the scope too
    return Organisation.objects.filter(organisations_changeable(scope), pk=organisation_id).exists()


def _same_place_as_stored(location: Location) -> bool:
    """Whether a location row keeps the region and zone or park it has in the database
    (a correction of its address or dates, say)."""
    return location.pk is not None and Location.objects.filter(
        pk=location.pk, region_id=location.region_id, within_id=location.within_id
    ).exists()


def can_review(user, subject: Organisation | Region) -> bool:
    """Whether `user` approves, returns, locks and publishes the figures of `subject`:
    the bureau admins of a subtree holding it (not park managers or enterprises)."""
    scope = scope_of(user)
    if scope.everything:
        return True
    if isinstance(subject, Region):
        return any(_region_path(subject).startswith(p) for p in scope.change_paths)
    return Organisation.objects.filter(_in_paths(scope.change_paths), pk=subject.pk).exists()


def reviewable_by(observations: QuerySet, user) -> QuerySet:
    """The figures among `observations` that `user` reviews (see can_review), in one query."""
    scope = scope_of(user)
    if scope.everything:
        return observations
    if not scope.change_paths:
        return observations.none()
    return observations.filter(Q(organisation__in=Organisation.objects.filter(_in_paths(scope.change_paths)))
                               | Q(region__in=_regions_in(scope.change_paths)))


def can_create_in(user, region: Region | None, within: Organisation | None = None) -> bool:
    """Whether `user` may register a new organisation in `region` (or inside `within`)."""
    scope = scope_of(user)
    if scope.everything:
        return True
    if within is not None and (within.pk in scope.parks or
                               Organisation.objects.filter(_tenants_of(scope.parks), pk=within.pk).exists()):
        return True
    return region is not None and any(region.path.startswith(p) for p in scope.change_paths)


def may_grant(user, role: str, region: Region | None = None, organisation: Organisation | None = None) -> bool:
    """Bureau admins manage the users of their subtree: they may grant any role scoped
    inside it (a region below theirs, or an organisation located there); reviewers
    are appointed by bureau admins too. Only a superuser grants outside every subtree."""
    scope = scope_of(user)
    if scope.everything:
        return True
    if not scope.change_paths:
        return False
    if region is not None:
        return any(region.path.startswith(p) for p in scope.change_paths)
    if organisation is not None:
        return Organisation.objects.filter(_in_paths(scope.change_paths), pk=organisation.pk).exists()
    return role == Role.REVIEWER


def forget_scope(user) -> None:
    """Drop the per-request cache after the user's grants changed."""
    if hasattr(user, "_kechuang_scope"):
        del user._kechuang_scope
