"""One serializer per registry resource. `create`/`update` call a service; the
services hold the rules and raise field-named errors the API answers with 400."""

from collections.abc import Mapping

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from .. import services
from ..models import (
    CONTAINER_KINDS,
    Alias,
    Capacity,
    Contact,
    Location,
    Milestone,
    Organisation,
    Ownership,
    Phase,
    Region,
    Sector,
    Source,
)
from .fields import (
    UNSTORABLE,
    KeyRelatedField,
    PartialDateField,
    QualifiedRegionNameField,
    region_names,
    storable,
)


def region_field(**kwargs):
    kwargs.setdefault("help_text", "Region code (GB/T 2260).")
    return KeyRelatedField("region", slug_field="code", queryset=Region.objects.all(), **kwargs)


def organisation_field(**kwargs):
    kwargs.setdefault("help_text", "Organisation key.")
    return KeyRelatedField(
        "organisation", slug_field="key", queryset=Organisation.objects.all(), **kwargs
    )


def source_field():
    return KeyRelatedField(
        "source",
        slug_field="key",
        queryset=Source.objects.all(),
        required=False,
        allow_null=True,
        help_text="Key of the source the facts come from.",
    )


class PreloadingListSerializer(serializers.ListSerializer):
    """Renders a page of rows after letting the row serializer load, in one query each,
    what every row needs (region names), so a list costs the same for 3 rows or 300."""

    def to_representation(self, data):
        rows = list(data.all() if hasattr(data, "all") else data)
        self.child.preload(rows)
        return super().to_representation(rows)


class RegistrySerializer(serializers.ModelSerializer):
    """Base of the registry's serializers.

    - Text PostgreSQL cannot store (NUL, lone surrogates) is refused before any field
      runs, because some fields query the database with the raw value.
    - A stable identifier (`stable_key`: a code or key) is given on create and can
      never change afterwards; on update it may be left out.
    - Rules that span rows (uniqueness among an organisation's rows, shares adding up
      to 100 percent) are the services' to check, with a message naming the field,
      so the unique-together validators DRF would generate are switched off.
    """

    stable_key: str | None = None

    class Meta:
        list_serializer_class = PreloadingListSerializer

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.stable_key and isinstance(self.instance, self.Meta.model):
            self.fields[self.stable_key].required = False

    def get_validators(self):
        return []

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            errors = {
                name: [UNSTORABLE]
                for name, value in data.items()
                if name in self.fields and not storable(value)
            }
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)

    def validate(self, attrs):
        key = self.stable_key
        if key and isinstance(self.instance, self.Meta.model) and key in attrs:
            if attrs[key] != getattr(self.instance, key):
                raise serializers.ValidationError(
                    {key: [f"the {key} {getattr(self.instance, key)} cannot change"]}
                )
            del attrs[key]
        return attrs

    def preload(self, rows: list) -> None:
        """Load what every row of a list needs in as few queries as possible."""


# --- sources and sectors -------------------------------------------------------------


class SourceSerializer(RegistrySerializer):
    stable_key = "key"
    api_url = serializers.HyperlinkedIdentityField(view_name="source-detail", lookup_field="key")

    class Meta(RegistrySerializer.Meta):
        model = Source
        fields = ["api_url", "key", "title", "url", "publisher", "published", "note"]

    def create(self, attrs):
        return services.save_source(**attrs)[0]

    def update(self, instance, attrs):
        return services.save_source(instance.key, **attrs)[0]


class SectorSerializer(RegistrySerializer):
    stable_key = "code"
    api_url = serializers.HyperlinkedIdentityField(view_name="sector-detail", lookup_field="code")

    class Meta(RegistrySerializer.Meta):
        model = Sector
        fields = ["api_url", "code", "name_zh", "name_en"]

    def create(self, attrs):
        return services.save_sector(**attrs)[0]

    def update(self, instance, attrs):
        return services.save_sector(instance.code, **attrs)[0]


# --- regions -------------------------------------------------------------------------


class RegionSerializer(RegistrySerializer):
    """A division by its GB/T 2260 code. Changing `parent` is a move: the tree as it
    stood before is kept, and the move takes effect on `moved_on` (default today)."""

    stable_key = "code"
    api_url = serializers.HyperlinkedIdentityField(view_name="region-detail", lookup_field="code")
    parent = region_field(required=False, allow_null=True, help_text="Code of the parent region.")
    successor = region_field(
        required=False,
        allow_null=True,
        help_text="For an abolished code, the region that took its place.",
    )
    source = source_field()
    ancestors = serializers.SerializerMethodField(
        help_text="Codes from the province down to the parent."
    )
    qualified_name = QualifiedRegionNameField(source="*")
    moved_on = serializers.DateField(
        write_only=True,
        required=False,
        help_text="When a change of parent takes effect (default: today).",
    )

    class Meta(RegistrySerializer.Meta):
        model = Region
        fields = [
            "api_url",
            "code",
            "level",
            "name_zh",
            "name_en",
            "qualified_name",
            "parent",
            "ancestors",
            "valid_from",
            "valid_to",
            "successor",
            "statistical_only",
            "source",
            "moved_on",
        ]

    def get_ancestors(self, region) -> list[str]:
        return region.ancestor_codes

    def preload(self, rows):
        region_names(self.context).load(rows)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        # save_region leaves the period to the database constraint (region_valid_period);
        # checking here turns a would-be IntegrityError into a message naming the field.
        valid_from = attrs.get("valid_from", getattr(self.instance, "valid_from", None))
        valid_to = attrs.get("valid_to", getattr(self.instance, "valid_to", None))
        if valid_from and valid_to and valid_to <= valid_from:
            raise serializers.ValidationError(
                {"valid_to": [f"a region ends after it starts ({valid_from})"]}
            )
        return attrs

    def create(self, attrs):
        attrs.pop("moved_on", None)
        return services.save_region(**attrs)[0]

    def update(self, region, attrs):
        # save_region takes the whole row, so a partial update starts from what is stored.
        fields = {
            name: getattr(region, name)
            for name in (
                "level",
                "name_zh",
                "name_en",
                "parent",
                "valid_from",
                "valid_to",
                "successor",
                "statistical_only",
                "source",
            )
        }
        fields.update(attrs)
        return services.save_region(region.code, **fields)[0]


# --- organisations -------------------------------------------------------------------


class AliasSerializer(RegistrySerializer):
    class Meta(RegistrySerializer.Meta):
        model = Alias
        fields = ["name", "kind", "valid_to"]


class LocationSummarySerializer(serializers.ModelSerializer):
    """Where an organisation is now."""

    region = serializers.SlugRelatedField(slug_field="code", read_only=True)
    region_name = QualifiedRegionNameField(source="region")
    within = serializers.SlugRelatedField(slug_field="key", read_only=True)
    since = PartialDateField("valid_from", "valid_from_precision", read_only=True)

    class Meta:
        model = Location
        fields = ["region", "region_name", "within", "since", "address"]
        read_only_fields = fields


class OrganisationSerializer(RegistrySerializer):
    """An enterprise, university, institute, zone, park or government body.

    A new entry's USCC must pass its check characters; a code imported with a warning
    from an older register is kept as long as a client sends it back unchanged.
    """

    stable_key = "key"
    api_url = serializers.HyperlinkedIdentityField(
        view_name="organisation-detail", lookup_field="key"
    )
    sectors = KeyRelatedField(
        "sector", slug_field="code", queryset=Sector.objects.all(), many=True, required=False
    )
    source = source_field()
    aliases = AliasSerializer(many=True, required=False)
    current_location = LocationSummarySerializer(read_only=True, allow_null=True)
    related = serializers.SerializerMethodField(help_text="Lists of this organisation's rows.")
    # Where a new organisation is: it places the organisation in a scope (who may see
    # and change it). Later moves are new locations (POST /locations/).
    region = region_field(
        write_only=True, required=False, help_text="On create: code of the region it is located in."
    )
    within = organisation_field(
        write_only=True,
        required=False,
        allow_null=True,
        help_text="On create: key of the zone or park it is located in.",
    )

    class Meta(RegistrySerializer.Meta):
        model = Organisation
        fields = [
            "api_url",
            "key",
            "kind",
            "name_zh",
            "name_en",
            "name_zh_verified",
            "uscc",
            "uscc_warning",
            "above_designated_size",
            "sectors",
            "description_zh",
            "description_en",
            "website",
            "synthetic",
            "source",
            "aliases",
            "current_location",
            "related",
            "region",
            "within",
        ]
        read_only_fields = ["uscc_warning"]
        extra_kwargs = {"uscc": {"allow_null": True, "allow_blank": True}}

    #: Lists of an organisation's rows: name → (router basename, query parameter).
    RELATED = {
        "locations": ("location", "organisation"),
        "owners": ("ownership", "organisation"),
        "holdings": ("ownership", "owner"),
        "milestones": ("milestone", "organisation"),
        "capacities": ("capacity", "organisation"),
        "contacts": ("contact", "organisation"),
    }
    #: Only a zone or park has phases and tenants.
    CONTAINER_RELATED = {"phases": ("phase", "organisation"), "tenants": ("organisation", "within")}

    @extend_schema_field(
        inline_serializer(
            "OrganisationRelated",
            {
                **{name: serializers.URLField() for name in RELATED},
                **{
                    name: serializers.URLField(required=False, help_text="zones and parks only")
                    for name in CONTAINER_RELATED
                },
            },
        )
    )
    def get_related(self, org) -> dict:
        request = self.context.get("request")
        lists = {**self.RELATED, **(self.CONTAINER_RELATED if org.kind in CONTAINER_KINDS else {})}
        links = {}
        for name, (basename, parameter) in lists.items():
            url = f"{reverse(f'{basename}-list')}?{parameter}={org.key}"
            links[name] = request.build_absolute_uri(url) if request else url
        return links

    def preload(self, rows):
        region_names(self.context).load(loc.region for org in rows if (loc := org.current_location))

    def validate_aliases(self, aliases):
        names = [alias["name"] for alias in aliases]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise serializers.ValidationError(
                f"each alias once: {', '.join(repeated)} appears more than once"
            )
        return aliases

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if self.instance is not None and ("region" in attrs or "within" in attrs):
            raise serializers.ValidationError(
                {"region": ["an organisation moves by a new location (POST /api/v1/locations/), not by an update"]}
            )
        if attrs.get("within") is not None and "region" not in attrs:
            raise serializers.ValidationError({"region": ["give the region of the zone or park too"]})
        return attrs

    def service_fields(self, attrs: dict) -> dict:
        """The validated attributes as `save_organisation` takes them."""
        fields = dict(attrs)
        if "sectors" in fields:
            fields["sectors"] = [sector.code for sector in fields["sectors"]]
        if fields.get("uscc") == "":
            fields["uscc"] = None
        return fields

    def create(self, attrs):
        region, within = attrs.pop("region", None), attrs.pop("within", None)
        org = services.save_organisation(**self.service_fields(attrs))[0]
        if region is not None:
            services.move_organisation(org, region, within=within, source=org.source)
        return org

    def update(self, org, attrs):
        fields = self.service_fields(attrs)
        if "uscc" in fields and fields["uscc"] == org.uscc:
            # Unchanged, so not a new entry: re-checking it strictly would refuse a
            # PUT of a record imported with a warning just because it was sent back.
            del fields["uscc"]
        return services.save_organisation(org.key, **fields)[0]


class LocationSerializer(RegistrySerializer):
    """Where an organisation is, from `since` (a date known to the year, month or day)
    until `valid_to` (exclusive). Creating one records a move: the organisation's
    current location ends on the new one's `since`. Updating one corrects the record."""

    api_url = serializers.HyperlinkedIdentityField(view_name="location-detail")
    organisation = organisation_field()
    region = region_field()
    region_name = QualifiedRegionNameField(source="region")
    within = organisation_field(
        required=False, allow_null=True, help_text="Key of the zone or park it is in."
    )
    since = PartialDateField("valid_from", "valid_from_precision", required=False)
    source = source_field()
    current = serializers.SerializerMethodField()

    class Meta(RegistrySerializer.Meta):
        model = Location
        fields = [
            "api_url",
            "id",
            "organisation",
            "region",
            "region_name",
            "within",
            "since",
            "valid_to",
            "current",
            "address",
            "source",
        ]

    def get_current(self, location) -> bool:
        return location.valid_to is None

    def preload(self, rows):
        region_names(self.context).load(row.region for row in rows)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if self.instance is None and attrs.get("valid_to") is not None:
            raise serializers.ValidationError(
                {
                    "valid_to": [
                        "a new location holds until the next move; to record a past one, "
                        "create it and then set valid_to"
                    ]
                }
            )
        return attrs

    def create(self, attrs):
        attrs.pop("valid_to", None)
        return services.move_organisation(
            attrs.pop("organisation"),
            attrs.pop("region"),
            since=attrs.pop("valid_from", None),
            since_precision=attrs.pop("valid_from_precision", "day"),
            **attrs,
        )

    def update(self, location, attrs):
        return services.correct_location(location, **attrs)[0]


class OrganisationRowSerializer(RegistrySerializer):
    """A row that belongs to one organisation, written by `save_function`."""

    organisation = organisation_field()
    source = source_field()
    #: The service that creates (`row=None`) or changes one row: `save_function(row, **fields)`.
    save_function = None

    def create(self, attrs):
        return self.save_function(None, **attrs)[0]

    def update(self, row, attrs):
        return self.save_function(row, **attrs)[0]


class PhaseSerializer(OrganisationRowSerializer):
    """A numbered phase (期) of a park or zone."""

    api_url = serializers.HyperlinkedIdentityField(view_name="phase-detail")
    organisation = None
    park = organisation_field(help_text="Key of the park or zone.")
    construction_start = PartialDateField(
        "construction_start", "construction_start_precision", required=False
    )
    operation_start = PartialDateField(
        "operation_start", "operation_start_precision", required=False
    )
    save_function = staticmethod(services.save_phase)

    class Meta(RegistrySerializer.Meta):
        model = Phase
        fields = [
            "api_url",
            "id",
            "park",
            "number",
            "name_zh",
            "name_en",
            "status",
            "construction_start",
            "operation_start",
            "note",
            "source",
        ]
        # The column is a smallint on PostgreSQL; SQLite would take any number, so the
        # bound is stated here rather than read from the database in use.
        extra_kwargs = {"number": {"min_value": 1, "max_value": 32767}}


class OwnershipSerializer(OrganisationRowSerializer):
    """An owner's share (percent) in an organisation; owners may be outside any region."""

    api_url = serializers.HyperlinkedIdentityField(view_name="ownership-detail")
    # Any organisation may be named as the owner, in scope or not: a parent company is
    # often elsewhere (Zhongkeyi's is in Shenyang) and ownership is public record. Only
    # the owned organisation decides who may write the row.
    owner = organisation_field(help_text="Key of the owner (any organisation).", scoped=False)
    wholly_owned = serializers.BooleanField(read_only=True)
    save_function = staticmethod(services.save_ownership)

    class Meta(RegistrySerializer.Meta):
        model = Ownership
        fields = [
            "api_url",
            "id",
            "organisation",
            "owner",
            "share_percent",
            "wholly_owned",
            "since",
            "until",
            "note",
            "source",
        ]


class MilestoneSerializer(OrganisationRowSerializer):
    api_url = serializers.HyperlinkedIdentityField(view_name="milestone-detail")
    date = PartialDateField("date", "date_precision", nullable=False)
    save_function = staticmethod(services.save_milestone)

    class Meta(RegistrySerializer.Meta):
        model = Milestone
        fields = ["api_url", "id", "organisation", "date", "kind", "text_zh", "text_en", "source"]


class CapacitySerializer(OrganisationRowSerializer):
    """Production capacity of a product, per year, month or day, as stated on `as_of`."""

    api_url = serializers.HyperlinkedIdentityField(view_name="capacity-detail")
    save_function = staticmethod(services.save_capacity)

    class Meta(RegistrySerializer.Meta):
        model = Capacity
        fields = [
            "api_url",
            "id",
            "organisation",
            "product_zh",
            "product_en",
            "quantity",
            "unit",
            "per",
            "as_of",
            "source",
        ]


class ContactSerializer(OrganisationRowSerializer):
    """A person with a role at an organisation, from `valid_from` until `valid_to` (exclusive)."""

    api_url = serializers.HyperlinkedIdentityField(view_name="contact-detail")
    save_function = staticmethod(services.save_contact)

    class Meta(RegistrySerializer.Meta):
        model = Contact
        fields = [
            "api_url",
            "id",
            "organisation",
            "name_zh",
            "name_en",
            "role_zh",
            "role_en",
            "email",
            "phone",
            "valid_from",
            "valid_to",
            "source",
        ]
