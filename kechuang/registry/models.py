"""The registry (登记): places, organisations and the facts about them.

Every link that can change over time (a region's parent, where an organisation is,
who owns whom) carries `valid_from`/`valid_to`, so that a 2023 figure can be
recomputed with the 2023 structure after a firm moves or a district is redrawn. The
current structure is the set of open-ended links. `valid_to` is exclusive: a link
that ends on 2009-07-02 no longer holds on that day.

Rows are written only by `services.py`; these classes hold the tables, the
constraints the database enforces, and read-only query helpers. Every table keeps its
history (`history = History()`, docs/audit.md).
"""

import datetime as dt

from django.db import models
from django.db.models import Q

from kechuang.audit import History

from .dates import Precision, to_partial


class Source(models.Model):
    """Where a fact comes from: a news article, a government page, a notice."""

    key = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=500)
    url = models.URLField(max_length=1000, blank=True)
    publisher = models.CharField(max_length=200, blank=True)
    published = models.DateField(null=True, blank=True)
    note = models.TextField(blank=True)
    history = History()

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.title


class SourcedModel(models.Model):
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


def in_force_on(date: dt.date) -> Q:
    """Rows whose [valid_from, valid_to) span holds `date`; a null end is open."""
    return (Q(valid_from__isnull=True) | Q(valid_from__lte=date)) & (Q(valid_to__isnull=True) | Q(valid_to__gt=date))


def period_constraint(name: str) -> models.CheckConstraint:
    """valid_to, when both ends are known, comes after valid_from."""
    return models.CheckConstraint(
        condition=Q(valid_from__isnull=True) | Q(valid_to__isnull=True) | Q(valid_to__gt=models.F("valid_from")),
        name=name,
    )


class EffectiveQuerySet(models.QuerySet):
    def on(self, date: dt.date):
        """Links that hold on `date` (valid_from inclusive, valid_to exclusive)."""
        return self.filter(in_force_on(date))

    def current(self):
        return self.filter(valid_to__isnull=True)


class Effective(SourcedModel):
    """A fact that holds from `valid_from` (inclusive; null = since always) to
    `valid_to` (exclusive; null = still holds)."""

    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)

    objects = EffectiveQuerySet.as_manager()

    class Meta:
        abstract = True



# --- places -----------------------------------------------------------------


class RegionLevel(models.TextChoices):
    PROVINCE = "province", "province 省级"
    CITY = "city", "city 地级"
    DISTRICT = "district", "district 县级"
    TOWN = "town", "town 乡级"


class RegionQuerySet(models.QuerySet):
    def subtree(self, region: "Region | str", on: dt.date | None = None):
        """The region and every region below it (today, or as the tree stood `on` a date)."""
        if isinstance(region, str):
            region = Region.objects.get(code=region)
        if on is None:
            return self.filter(path__startswith=region.path)
        path = RegionLink.objects.on(on).filter(region=region).values_list("path", flat=True).first()
        if path is None:
            return self.none()
        return self.filter(links__in=RegionLink.objects.on(on).filter(path__startswith=path)).distinct()

    def valid_on(self, date: dt.date):
        """Codes in use on `date`."""
        return self.filter(in_force_on(date))


class Region(SourcedModel):
    """An administrative division keyed by its GB/T 2260 code (towns: 9-digit statistical code).

    `parent` and `path` describe the current tree and are kept by the services from
    the open-ended `RegionLink`; the links keep the history. `path` is the chain of
    codes from the province down, each followed by "/", so a subtree is a prefix match.
    """

    code = models.CharField(max_length=12, unique=True)
    level = models.CharField(max_length=10, choices=RegionLevel.choices)
    name_zh = models.CharField(max_length=100)
    name_en = models.CharField(max_length=200, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    path = models.CharField(max_length=120, db_index=True, editable=False)
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    successor = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="predecessors",
        help_text="For an abolished code, the region that took its place (通州市 320683 → 通州区 320612).",
    )
    statistical_only = models.BooleanField(
        default=False,
        help_text="An NBS statistical code (e.g. a development zone coded x7x), not a GB/T 2260 division.",
    )

    objects = RegionQuerySet.as_manager()
    history = History()

    class Meta:
        ordering = ["code"]
        constraints = [
            period_constraint("region_valid_period"),
        ]

    def __str__(self) -> str:
        return f"{self.name_zh} {self.code}"

    @property
    def ancestor_codes(self) -> list[str]:
        return [code for code in self.path.split("/") if code][:-1]

    def ancestors(self) -> list["Region"]:
        """From the province down to the parent, in one query."""
        by_code = {r.code: r for r in Region.objects.filter(code__in=self.ancestor_codes)}
        return [by_code[c] for c in self.ancestor_codes if c in by_code]

    @property
    def qualified_name(self) -> str:
        """The name with its ancestors, enough to tell the two 通州区 apart."""
        return " › ".join([r.name_zh for r in self.ancestors()] + [self.name_zh])


class RegionLink(Effective):
    """A region's parent over a span of time, with the materialised path it had then."""

    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="links")
    parent = models.ForeignKey(Region, null=True, blank=True, on_delete=models.PROTECT, related_name="child_links")
    path = models.CharField(max_length=120, db_index=True)
    history = History()

    class Meta:
        ordering = ["region__code", "valid_from"]
        constraints = [
            period_constraint("regionlink_valid_period"),
            models.UniqueConstraint(fields=["region"], condition=Q(valid_to__isnull=True), name="regionlink_one_open"),
        ]

    def __str__(self) -> str:
        return f"{self.region.code} in {self.parent.code if self.parent else '—'}"


# --- organisations ------------------------------------------------------------


class OrganisationKind(models.TextChoices):
    ENTERPRISE = "enterprise", "enterprise 企业"
    UNIVERSITY = "university", "university 高校"
    INSTITUTE = "institute", "research institute 科研院所"
    ZONE = "zone", "high-tech / development zone 开发区"
    PARK = "park", "industrial park 产业园"
    GOVERNMENT = "government", "government body 政府部门"


#: Kinds that other organisations can be located inside.
CONTAINER_KINDS = (OrganisationKind.ZONE, OrganisationKind.PARK)


class Sector(models.Model):
    """A sector tag (semiconductor equipment, new materials …)."""

    code = models.SlugField(max_length=60, unique=True)
    name_zh = models.CharField(max_length=100)
    name_en = models.CharField(max_length=200)
    history = History()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name_en or self.code


class OrganisationQuerySet(models.QuerySet):
    def in_region(self, region: "Region | str", on: dt.date | None = None):
        """Organisations located in the region's subtree (today, or on a date)."""
        regions = Region.objects.subtree(region, on=on)
        locations = Location.objects.on(on) if on else Location.objects.current()
        return self.filter(pk__in=locations.filter(region__in=regions).values("organisation_id"))

    def within(self, container: "Organisation", on: dt.date | None = None):
        """Organisations located inside a zone or park (directly or via a park in the zone)."""
        locations = Location.objects.on(on) if on else Location.objects.current()
        inner = locations.filter(within=container).values("organisation_id")
        nested = locations.filter(within__in=inner).values("organisation_id")
        return self.filter(Q(pk__in=inner) | Q(pk__in=nested))

    def search(self, text: str):
        from .search import normalise_query

        query = normalise_query(text)
        if not query:
            return self
        return self.filter(search_text__contains=query)


class Organisation(SourcedModel):
    key = models.SlugField(max_length=100, unique=True, help_text="Stable key used by the world file and the API.")
    kind = models.CharField(max_length=12, choices=OrganisationKind.choices)
    name_zh = models.CharField(max_length=200, blank=True)
    name_en = models.CharField(max_length=300, blank=True)
    name_zh_verified = models.BooleanField(
        default=True, help_text="False when the Chinese name is not confirmed by a source."
    )
    uscc = models.CharField("USCC 统一社会信用代码", max_length=18, null=True, blank=True, unique=True)
    uscc_warning = models.CharField(
        max_length=200, blank=True, help_text="Why an imported code failed its check (kept as registered)."
    )
    above_designated_size = models.BooleanField(
        "above designated size 规模以上", default=False,
        help_text="Industrial enterprise with main-business revenue of at least 20 million yuan (since 2011).",
    )
    sectors = models.ManyToManyField(Sector, blank=True, related_name="organisations")
    description_zh = models.TextField(blank=True)
    description_en = models.TextField(blank=True)
    website = models.URLField(blank=True)
    synthetic = models.BooleanField(default=False, help_text="Invented for the demo; never real.")
    search_text = models.TextField(blank=True, editable=False)

    objects = OrganisationQuerySet.as_manager()
    # search_text is rebuilt from the names and aliases, which are recorded themselves.
    history = History(excluded_fields=["search_text"], m2m_fields=["sectors"])

    class Meta:
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(condition=~Q(name_zh="") | ~Q(name_en=""), name="organisation_has_a_name"),
        ]

    def __str__(self) -> str:
        return self.name_zh or self.name_en

    @property
    def current_location(self) -> "Location | None":
        return next((loc for loc in self.locations.all() if loc.valid_to is None), None)


class AliasKind(models.TextChoices):
    SHORT = "short", "short name 简称"
    FORMER = "former", "former name 曾用名"
    OTHER = "other", "other"


class Alias(SourcedModel):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=300)
    kind = models.CharField(max_length=10, choices=AliasKind.choices, default=AliasKind.SHORT)
    valid_to = models.DateField(null=True, blank=True, help_text="For a former name: when it stopped being used.")
    history = History()

    class Meta:
        ordering = ["organisation", "name"]
        verbose_name_plural = "aliases"
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="alias_unique_name")]

    def __str__(self) -> str:
        return self.name


class Location(Effective):
    """Where an organisation is: a region and, optionally, a zone or park it sits in."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="locations")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="locations")
    within = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="tenant_locations",
        help_text="The zone or park the organisation is located in.",
    )
    valid_from_precision = models.CharField(max_length=5, choices=Precision.choices, default=Precision.DAY)
    address = models.CharField(max_length=300, blank=True)
    history = History()

    class Meta:
        ordering = ["organisation", "valid_from"]
        constraints = [
            period_constraint("location_valid_period"),
            models.UniqueConstraint(fields=["organisation"], condition=Q(valid_to__isnull=True), name="location_one_open"),
            models.CheckConstraint(condition=~Q(within=models.F("organisation")), name="location_not_within_itself"),
        ]
        indexes = [
            # "Who is in this subtree today" reads only open locations, by region.
            models.Index(fields=["region"], condition=Q(valid_to__isnull=True), name="location_current_by_region"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} in {self.within or self.region}"

    def clean(self):
        # Forms (the admin) save rows one by one; the same rules as the services apply.
        from .services import check_container, check_no_overlap

        check_container(self.within)
        if self.organisation_id:
            siblings = Location.objects.filter(organisation_id=self.organisation_id).exclude(pk=self.pk)
            check_no_overlap([(s.valid_from, s.valid_to) for s in siblings] + [(self.valid_from, self.valid_to)], "valid_from")

    @property
    def since(self):
        return to_partial(self.valid_from, self.valid_from_precision)


class Ownership(SourcedModel):
    """An owner's share in an organisation (owners may sit outside any region)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="owners")
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="holdings")
    share_percent = models.DecimalField(max_digits=7, decimal_places=4)
    since = models.DateField(null=True, blank=True)
    until = models.DateField(null=True, blank=True)
    note = models.TextField(blank=True)
    history = History()

    class Meta:
        ordering = ["organisation", "-share_percent"]
        constraints = [
            models.CheckConstraint(condition=Q(share_percent__gt=0) & Q(share_percent__lte=100), name="ownership_share_range"),
            models.CheckConstraint(condition=~Q(owner=models.F("organisation")), name="ownership_not_self"),
            models.CheckConstraint(
                condition=Q(since__isnull=True) | Q(until__isnull=True) | Q(until__gt=models.F("since")),
                name="ownership_valid_period",
            ),
            models.UniqueConstraint(fields=["organisation", "owner"], condition=Q(until__isnull=True), name="ownership_one_open"),
        ]

    def __str__(self) -> str:
        return f"{self.owner} owns {self.share_percent}% of {self.organisation}"

    @property
    def wholly_owned(self) -> bool:
        return self.share_percent == 100


class PhaseStatus(models.TextChoices):
    PLANNED = "planned", "planned 规划"
    CONSTRUCTION = "construction", "under construction 在建"
    OPERATING = "operating", "operating 投运"
    CLOSED = "closed", "closed 关停"


class Phase(SourcedModel):
    """A numbered development phase (期) of a park or zone."""

    park = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="phases")
    number = models.PositiveSmallIntegerField()
    name_zh = models.CharField(max_length=200, blank=True)
    name_en = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=12, choices=PhaseStatus.choices)
    construction_start = models.DateField(null=True, blank=True)
    construction_start_precision = models.CharField(max_length=5, choices=Precision.choices, default=Precision.DAY)
    operation_start = models.DateField(
        null=True, blank=True, help_text="When operation started, or is planned to start (status says which)."
    )
    operation_start_precision = models.CharField(max_length=5, choices=Precision.choices, default=Precision.DAY)
    note = models.TextField(blank=True)
    history = History()

    class Meta:
        ordering = ["park", "number"]
        constraints = [
            models.UniqueConstraint(fields=["park", "number"], name="phase_unique_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="phase_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.park} phase {self.number}"


class MilestoneKind(models.TextChoices):
    FOUNDED = "founded", "founded 成立"
    ARRIVED = "arrived", "arrived in the region or zone 落户"
    INVESTMENT = "investment", "investment 投资"
    CONSTRUCTION = "construction", "construction started 开工"
    TRIAL_PRODUCTION = "trial_production", "first trial production 试生产"
    MASS_PRODUCTION = "mass_production", "mass production 量产"
    LISTING = "listing", "stock listing 上市"
    OTHER = "other", "other 其他"


class Milestone(SourcedModel):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="milestones")
    date = models.DateField()
    date_precision = models.CharField(max_length=5, choices=Precision.choices, default=Precision.DAY)
    kind = models.CharField(max_length=20, choices=MilestoneKind.choices)
    text_zh = models.TextField(blank=True)
    text_en = models.TextField(blank=True)
    history = History()

    class Meta:
        ordering = ["organisation", "date"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "kind", "date"], name="milestone_unique_kind_date"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation}: {self.kind} {self.when}"

    @property
    def when(self):
        return to_partial(self.date, self.date_precision)


class Capacity(SourcedModel):
    """Production capacity for a product, as stated on a date (13,000 units a year)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="capacities")
    product_zh = models.CharField(max_length=200, blank=True)
    product_en = models.CharField(max_length=200)
    quantity = models.DecimalField(max_digits=20, decimal_places=4)
    unit = models.CharField(max_length=30, help_text="units, t, sets, wafers …")
    per = models.CharField(max_length=10, default="year", choices=[("year", "year"), ("month", "month"), ("day", "day")])
    as_of = models.DateField()
    history = History()

    class Meta:
        ordering = ["organisation", "product_en", "-as_of"]
        verbose_name_plural = "capacities"
        constraints = [
            models.UniqueConstraint(fields=["organisation", "product_en", "as_of"], name="capacity_unique_product_date"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="capacity_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation}: {self.quantity} {self.unit} of {self.product_en} a {self.per}"


class Contact(Effective):
    """A person with a role at an organisation (Jin Xue, assistant general manager)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="contacts")
    name_zh = models.CharField(max_length=100, blank=True)
    name_en = models.CharField(max_length=200, blank=True)
    role_zh = models.CharField(max_length=200, blank=True)
    role_en = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    history = History()

    class Meta:
        ordering = ["organisation", "name_en", "name_zh"]
        constraints = [
            period_constraint("contact_valid_period"),
            models.CheckConstraint(condition=~Q(name_zh="") | ~Q(name_en=""), name="contact_has_a_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name_en or self.name_zh}, {self.role_en or self.role_zh}"
