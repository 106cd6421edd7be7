"""The kinds of records a measure can count besides observations: registry events and
stocks. Each is a `Source` registered under a code; a measure names the code.

An event source says which rows are events, which field dates them, which organisation
they belong to (its location on the event's date places it in a region or park), and
which field a sum adds up. A stock source says which fields bound the span a row is in
force; the stock of a period is the rows in force on its last day.

Adding a kind (designations granted, designations held) is a `register(Source(...))` in
the app that owns the rows; the engine does not change.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from kechuang.programs.models import (
    Outcome,
    OutcomeKind,
    Project,
    ProjectKind,
    ProjectState,
    ProjectTransition,
    Tranche,
)
from kechuang.registry.models import CONTAINER_KINDS, Location


class SourceError(ValueError):
    pass


@dataclass(frozen=True)
class Source:
    code: str
    kind: str  # "events" or "stock"
    name_en: str
    name_zh: str
    records: Callable[[dict], QuerySet]  # the rows, the measure's parameters applied
    subject: str  # path from a row to the Organisation it belongs to
    date: str = ""  # events: the field that dates the row
    is_datetime: bool = False  # events: whether `date` is a moment (periods are read in Asia/Shanghai)
    valid_from: str = ""  # stocks: in force from (inclusive; null = always)
    valid_to: str = ""  # stocks: until (exclusive; null = still)
    value: str = ""  # the field a sum adds up; empty: the source is counted only
    recorded: str = ""  # when the row was written, for figures "as the data stood" at a moment
    parameters: tuple[str, ...] = ()
    unit: str = "个"
    description: str = ""

    def rows(self, parameters: dict) -> QuerySet:
        unknown = sorted(set(parameters) - set(self.parameters))
        if unknown:
            raise SourceError(f"{self.code} takes no parameter {', '.join(unknown)}"
                              + (f"; it takes {', '.join(self.parameters)}" if self.parameters else ""))
        return self.records(parameters)


_sources: dict[str, Source] = {}


def register(source: Source) -> Source:
    if source.kind not in ("events", "stock"):
        raise SourceError(f"{source.code}: a source gives events or a stock, not {source.kind!r}")
    _sources[source.code] = source
    return source


def find(code: str) -> Source:
    try:
        return _sources[code]
    except KeyError:
        raise SourceError(f"{code!r} is not a registered source; the sources are {', '.join(sorted(_sources))}") from None


def registered() -> list[Source]:
    return sorted(_sources.values(), key=lambda source: source.code)


# --- the programmes ----------------------------------------------------------------------

#: A project the bureau approved or recognised, whatever came after (as programs/counts.py).
RECOGNISED = (ProjectState.APPROVED, ProjectState.IN_PROGRESS, ProjectState.COMPLETED, ProjectState.TERMINATED)


def _project_steps(parameters: dict, **step) -> QuerySet:
    kind = parameters.get("kind", ProjectKind.INNOVATION)
    rows = ProjectTransition.objects.filter(project__kind=kind, **step)
    if parameters.get("category"):
        rows = rows.filter(project__category=parameters["category"])
    return rows


def _collaborations(parameters: dict) -> QuerySet:
    return Project.objects.filter(kind=ProjectKind.COLLABORATION, state__in=RECOGNISED, agreement_date__isnull=False)


register(Source(
    code="projects-approved", kind="events", name_en="projects approved", name_zh="立项项目",
    records=lambda p: _project_steps(p, to_state=ProjectState.APPROVED),
    subject="project__applicant", date="at", is_datetime=True, recorded="recorded_at",
    parameters=("kind", "category"), unit="项",
    description="Projects whose transition into approved (立项) is dated in the period; kind innovation unless "
                "the parameter says otherwise, optionally of one category.",
))
register(Source(
    code="applications-submitted", kind="events", name_en="applications submitted", name_zh="申报项目",
    records=lambda p: _project_steps(p, name="submit"),
    subject="project__applicant", date="at", is_datetime=True, recorded="recorded_at",
    parameters=("kind", "category"), unit="项",
    description="Submissions (申报) dated in the period; a project withdrawn and submitted again counts once per "
                "submission.",
))
register(Source(
    code="collaborations-introduced", kind="events", name_en="academia–industry collaborations introduced",
    name_zh="产学研合作项目", records=_collaborations, subject="applicant", date="agreement_date",
    value="contract_value", unit="项",
    description="Collaborations recognised by the bureau whose agreement was signed in the period; they count "
                "for the lead enterprise's location, wherever the universities are.",
))



def _outcomes(parameters: dict) -> QuerySet:
    kinds = parameters.get("kinds") or OutcomeKind.values
    unknown = sorted(set(kinds) - set(OutcomeKind.values))
    if unknown:
        raise SourceError(f"outcome kinds {', '.join(unknown)}: expected {', '.join(OutcomeKind.values)}")
    return Outcome.objects.filter(kind__in=list(kinds))


register(Source(
    code="project-outcomes", kind="events", name_en="project outcomes", name_zh="项目成果", records=_outcomes,
    subject="project__applicant", date="date", value="amount", recorded="recorded_at", parameters=("kinds",),
    unit="项",
    description="Outcomes recorded against projects (patents filed and granted, new products, standards, revenue "
                "from results) dated in the period; `kinds` chooses which; a sum adds the revenue.",
))
register(Source(
    code="funding-paid", kind="events", name_en="project funding paid", name_zh="项目资金拨付",
    records=lambda p: Tranche.objects.filter(paid_date__isnull=False), subject="project__applicant",
    date="paid_date", value="paid_amount", unit="yuan",
    description="Tranches of project funding paid in the period (their paid amounts).",
))

# --- the registry ------------------------------------------------------------------------


def _arrivals(parameters: dict) -> QuerySet:
    rows = Location.objects.exclude(organisation__kind__in=CONTAINER_KINDS)
    if parameters.get("kinds"):
        rows = rows.filter(organisation__kind__in=parameters["kinds"])
    return rows.filter(valid_from__isnull=False)


def _present(parameters: dict) -> QuerySet:
    rows = Location.objects.exclude(organisation__kind__in=CONTAINER_KINDS)
    if parameters.get("kinds"):
        rows = rows.filter(organisation__kind__in=parameters["kinds"])
    if parameters.get("above_designated_size") is not None:
        rows = rows.filter(organisation__above_designated_size=bool(parameters["above_designated_size"]))
    if parameters.get("sectors"):
        rows = rows.filter(organisation__in=_with_sectors(parameters["sectors"]))
    return rows


def _with_sectors(codes) -> QuerySet:
    from kechuang.registry.models import Organisation

    return Organisation.objects.filter(sectors__code__in=list(codes)).values("pk")


register(Source(
    code="organisations-arrived", kind="events", name_en="organisations arrived", name_zh="新落户单位",
    records=_arrivals, subject="organisation", date="valid_from", parameters=("kinds",), unit="家",
    description="Locations that begin in the period: an organisation settling in the region, zone or park "
                "(a move within it counts too).",
))
register(Source(
    code="organisations-located", kind="stock", name_en="organisations located", name_zh="单位数",
    records=_present, subject="organisation", valid_from="valid_from", valid_to="valid_to",
    parameters=("kinds", "above_designated_size", "sectors"), unit="家",
    description="Organisations located in the region, zone or park on the period's last day.",
))

SUBJECT_FILTERS: dict[str, Callable[[object], Q]] = {
    "above_designated_size": lambda value: Q(above_designated_size=bool(value)),
    "kinds": lambda value: Q(kind__in=list(value)),
    "sectors": lambda value: Q(pk__in=_with_sectors(value)),
}
