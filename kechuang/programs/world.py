"""The world file's `calls` and `projects` sections (kechuang/world, docs/world-file.md):
calls for applications, and projects — innovation projects and academia–industry
collaborations (产学研合作项目) — with their parties and their history.

A project's state is never written from the file. The file gives its history, the
dated transitions it took, and the load replays them through `services.take`, so a
loaded project obeys the same rules as one taken through the API (the call's window,
the order of the steps, a reason where one is needed) and the counts, which read the
transitions, see it exactly as the file dates it. A reload adds the steps the
database lacks; it never rewrites nor removes one.

The check phase simulates what the services will refuse (the lifecycle table, the
call's window and categories, the parties), so that a bad file is answered with every
problem at once and nothing written.
"""

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone

from kechuang.notifications.services import silenced
from kechuang.registry.models import CONTAINER_KINDS, Location, Organisation, OrganisationKind, Region, Source
from kechuang.workflows import TransitionError
from kechuang.world import schema as s
from kechuang.world.children import organisation_key
from kechuang.world.context import DumpContext, LoadContext
from kechuang.world.errors import at
from kechuang.world.organisations import organisation_kinds
from kechuang.world.rows import group_rows
from kechuang.world.sections import Entries, Section
from kechuang.world.sources import check_source_refs, source_key, source_reference
from kechuang.world.values import read_date, read_decimal, without_defaults, write_date, write_decimal

from . import services
from .models import Call, Party, PartyRole, Project, ProjectKind, ProjectState, ProjectTransition
from .services import LIFECYCLE, NEED_COMMENT, PARTNER_KINDS, SHANGHAI, ProgrammeError

#: Money columns: DecimalField(max_digits=16, decimal_places=2), in yuan.
MONEY = {"max_digits": 16, "decimal_places": 2}
#: What services.check_transition tolerates of a clock running ahead.
CLOCK_SKEW = dt.timedelta(minutes=5)
#: The largest value of a PositiveIntegerField on every database kechuang runs on.
MAX_POSITIVE = 2147483647

MOMENT_PATTERN = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?$"


def moment_schema(description: str) -> dict:
    """The schema of a moment: an ISO date and time, its offset optional."""
    return {"type": "string", "description": f"{description} YYYY-MM-DDTHH:MM[:SS][+08:00]; without an offset, "
                                             "Asia/Shanghai.", "pattern": MOMENT_PATTERN}


def read_moment(value: str) -> dt.datetime:
    """An ISO date and time; one without an offset is the bureau's local time, as in
    services.open_call and services.take."""
    if not re.match(MOMENT_PATTERN, str(value)):
        raise ValueError(f"{value!r} is not a moment: write YYYY-MM-DDTHH:MM, with an offset or in Asia/Shanghai")
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a moment: no such date or time") from None
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=SHANGHAI)


def write_moment(value: dt.datetime) -> str:
    """Written in Asia/Shanghai with its offset: what the bureau reads, and what any reader parses alike."""
    return timezone.localtime(value, SHANGHAI).isoformat()


def _parse(ctx: LoadContext, path: str, reader, value: Any, **options) -> Any:
    """`reader(value)`, or None with a problem at `path` when it cannot be read."""
    try:
        return reader(value, **options)
    except ValueError as exc:
        ctx.problem(path, str(exc))
        return None


def _amount(ctx: LoadContext, path: str, value: Any) -> Decimal | None:
    """An amount in yuan: at most two decimals (fen), never negative (services._money's rule)."""
    if value is None:
        return None
    amount = _parse(ctx, path, read_decimal, value, **MONEY)
    if amount is not None and amount < 0:
        ctx.problem(path, f"an amount cannot be negative ({amount})")
        return None
    return amount


def _money(value: Any) -> Decimal | None:
    return None if value is None else read_decimal(value, **MONEY)


# --- calls -------------------------------------------------------------------------------

CALL_DEFAULTS = {"programme_en": "", "criteria": [], "required_documents": [], "budget": None, "places": None,
                 "review_days": 14, "synthetic": False, "source": None}

CALL_SCHEMA = s.listing(
    "Calls for applications (申报通知) the bureau of a region opens; projects apply to them.",
    s.entry("A call.", {
        "key": s.key("Stable slug that projects name, e.g. tongzhou-2023.", Call, "key"),
        "programme_zh": s.text("Programme, in Chinese, e.g. 2023年通州区科技创新项目.", Call, "programme_zh",
                               required=True),
        "programme_en": s.text("Programme, in English.", Call, "programme_en"),
        "region": s.region_code("Code of the region whose organisations may apply (in the file or the database)."),
        "categories": {**s.listing("Categories an application chooses from, e.g. 普通科创项目.",
                                   s.text("A category.", Project, "category", required=True), unique=True),
                       "minItems": 1},
        "opens": moment_schema("When submissions open."),
        "closes": moment_schema("When submissions close (a submission after this moment is refused)."),
        "criteria": s.listing("Review criteria with their maximum score.", s.entry("A criterion.", {
            "name": s.text("Name, e.g. 创新性.", required=True),
            "max": s.decimal("Maximum score, more than 0.", exclusiveMinimum=0),
        }, required=["name", "max"])),
        "required_documents": s.listing("Documents an application must include.",
                                        s.text("A document.", required=True)),
        "budget": s.nullable(s.decimal("Budget in yuan, at most two decimals.", minimum=0)),
        "places": s.nullable(s.integer("How many projects it funds.", minimum=0, maximum=MAX_POSITIVE)),
        "review_days": s.integer("Reviews are due this many days after assignment (default 14).", minimum=0,
                                 maximum=MAX_POSITIVE),
        "synthetic": s.boolean("Invented for the demo; never real."),
        "source": source_reference(),
    }, required=["key", "programme_zh", "region", "categories", "opens", "closes"]),
)


@dataclass(frozen=True)
class CallFacts:
    """What a project's checks need of its call, from the file or the database.
    A moment that could not be read is None (its problem is already reported)."""

    categories: list[str]
    opens: dt.datetime | None
    closes: dt.datetime | None

    def open_at(self, moment: dt.datetime) -> str | None:
        """Why a submission at `moment` is refused (services.check_submission), or None."""
        if self.opens is not None and moment < self.opens:
            return f"the call opens on {write_moment(self.opens)}; a submission before is refused"
        if self.closes is not None and moment > self.closes:
            return f"the call closed on {write_moment(self.closes)}; submissions after the closing date are refused"
        return None


def check_calls(entries: Entries, ctx: LoadContext) -> None:
    for i, entry in enumerate(entries):
        ctx.declare("calls", entry["key"], at("calls", i), entry)
    check_source_refs(ctx, [(at("calls", i, "source"), entry.get("source")) for i, entry in enumerate(entries)])
    regions = ctx.known("regions", Region, "code", {entry["region"] for entry in entries})
    for i, entry in enumerate(entries):
        _check_call(ctx, at("calls", i), entry, regions)


def _check_call(ctx: LoadContext, path: str, entry: dict, regions: set[str]) -> None:
    """What services.open_call refuses, found without writing."""
    if entry["region"] not in regions:
        ctx.problem(at(path, "region"), f"no region has the code {entry['region']}, in this file or in the database")
    for j, category in enumerate(entry["categories"]):
        if not category.strip():
            ctx.problem(at(path, "categories", j), "a category has a name, e.g. 普通科创项目")
    opens = _parse(ctx, at(path, "opens"), read_moment, entry["opens"])
    closes = _parse(ctx, at(path, "closes"), read_moment, entry["closes"])
    if opens is not None and closes is not None and closes <= opens:
        ctx.problem(at(path, "closes"), "a call closes after it opens")
    seen: dict[str, int] = {}
    for j, criterion in enumerate(entry.get("criteria", [])):
        name = criterion["name"].strip()
        if not name:
            ctx.problem(at(path, "criteria", j, "name"), "a criterion has a name, e.g. 创新性")
        elif name in seen:
            ctx.problem(at(path, "criteria", j, "name"), f"repeats criteria[{seen[name]}] ({name})")
        seen.setdefault(name, j)
        maximum = _parse(ctx, at(path, "criteria", j, "max"), read_decimal, criterion["max"], max_digits=7,
                         decimal_places=2)
        if maximum is not None and maximum <= 0:
            ctx.problem(at(path, "criteria", j, "max"), f"a maximum score is more than 0, not {maximum}")
    _amount(ctx, at(path, "budget"), entry.get("budget"))


def _score(value: Any) -> int | float:
    """A criterion's maximum as JSON holds it (Call.criteria): services.check_scores reads it back exactly."""
    number = Decimal(str(value))
    return int(number) if number == number.to_integral_value() else float(number)


def _call_values(entry: dict, regions: dict[str, Region], sources: dict[str, Source]) -> dict:
    """The keyword arguments of services.open_call for an entry."""
    values = {**CALL_DEFAULTS, **entry}
    return {
        "key": entry["key"], "programme_zh": values["programme_zh"], "programme_en": values["programme_en"],
        "region": regions[values["region"]], "categories": list(values["categories"]),
        "opens": read_moment(values["opens"]), "closes": read_moment(values["closes"]),
        "criteria": [{"name": c["name"].strip(), "max": _score(c["max"])} for c in values["criteria"]],
        "required_documents": list(values["required_documents"]), "budget": _money(values["budget"]),
        "places": values["places"], "review_days": values["review_days"], "synthetic": values["synthetic"],
        "source": sources.get(values["source"]),
    }


def load_calls(entries: Entries, ctx: LoadContext) -> None:
    existing = Call.objects.in_bulk([entry["key"] for entry in entries], field_name="key")
    regions = Region.objects.in_bulk({entry["region"] for entry in entries}, field_name="code")
    sources = Source.objects.in_bulk({entry.get("source") for entry in entries} - {None}, field_name="key")
    for i, entry in enumerate(entries):
        values = _call_values(entry, regions, sources)
        call = existing.get(entry["key"])
        with ctx.writing(at("calls", i)):
            if call is None:
                status = "created"
                services.open_call(**values)
            else:
                status = "updated" if _update_call(call, values) else "unchanged"
        ctx.report.count("calls", status)


def _update_call(call: Call, values: dict) -> bool:
    """Make a stored call say what the file says; whether anything changed.

    services has no use case for changing a call once opened, so the world file does
    it here, on rules the check phase has already applied (open_call's); the audit
    trail records the change as an import. The projects already submitted keep their
    transitions: a narrower window or a dropped category does not undo them.
    """
    fields = {name: value for name, value in values.items() if name not in ("key", "region", "source")}
    fields.update(region_id=values["region"].pk, source_id=values["source"].pk if values["source"] else None)
    changed = {name: value for name, value in fields.items() if getattr(call, name) != value}
    if not changed:
        return False
    for name, value in changed.items():
        setattr(call, name, value)
    call.full_clean(validate_constraints=False)
    call.save()
    return True


def _call_entry(call: Call) -> dict:
    return without_defaults({
        "key": call.key, "programme_zh": call.programme_zh, "programme_en": call.programme_en,
        "region": call.region.code, "categories": list(call.categories),
        "opens": write_moment(call.opens), "closes": write_moment(call.closes),
        "criteria": [{"name": c["name"], "max": write_decimal(Decimal(str(c["max"])))} for c in call.criteria],
        "required_documents": list(call.required_documents),
        "budget": write_decimal(call.budget) if call.budget is not None else None,
        "places": call.places, "review_days": call.review_days, "synthetic": call.synthetic,
        "source": source_key(call),
    }, CALL_DEFAULTS)


def dump_calls(ctx: DumpContext) -> Entries:
    """Every call; in a region dump, the calls of the region's subtree and those its projects apply to."""
    calls = Call.objects.select_related("region", "source")
    if not ctx.whole:
        calls = calls.filter(Q(region__path__startswith=ctx.region.path) | Q(key__in=ctx.required("calls")))
    entries = [_call_entry(call) for call in sorted(calls, key=lambda call: call.key)]
    ctx.require("regions", [entry["region"] for entry in entries])
    ctx.require("sources", [entry.get("source") for entry in entries])
    return entries


CALLS = Section("calls", CALL_SCHEMA, load=load_calls, dump=dump_calls, check=check_calls,
                after=("sources", "regions", "organisations"))


# --- projects ----------------------------------------------------------------------------

PROJECT_DEFAULTS = {"kind": ProjectKind.INNOVATION.value, "call": None, "category": "", "title_en": "",
                    "summary": "", "requested_funding": 0, "own_funding": 0, "planned_start": None,
                    "planned_end": None, "agreement_date": None, "contract_value": None, "synthetic": False,
                    "source": None}
STEP_DEFAULTS = {"comment": ""}

#: The Project fields a file sets, compared with the stored row on a reload.
PROJECT_FIELDS = ("kind", "call_id", "category", "title_zh", "title_en", "summary", "applicant_id", "planned_start",
                  "planned_end", "requested_funding", "own_funding", "agreement_date", "contract_value", "synthetic",
                  "source_id")

PROJECT_SCHEMA = s.listing(
    "Projects: innovation projects (科创项目) and academia–industry collaborations (产学研合作项目), each with "
    "the history of its lifecycle.",
    s.entry("A project. Its state is where its history leads, from draft.", {
        "key": s.key("Stable slug, e.g. zhongkeyi-2023-vacuum.", Project, "key"),
        "kind": s.choice("innovation (default) or collaboration.", ProjectKind),
        "call": s.nullable(s.key("Key of the call it applies to (in the file or the database); a collaboration "
                                 "may have none.", Call, "key")),
        "category": s.text("One of the call's categories.", Project, "category"),
        "title_zh": s.text("Title in Chinese.", Project, "title_zh", required=True),
        "title_en": s.text("Title in English.", Project, "title_en"),
        "summary": s.text("What the project does."),
        "applicant": organisation_key("Key of the applicant, the lead party (牵头单位): an enterprise, university "
                                      "or institute; an enterprise for a collaboration."),
        "parties": s.listing("The partners; the applicant is the lead and is not listed.", s.entry("A partner.", {
            "organisation": organisation_key("Key of the partner (it may lie outside every region)."),
            "role": s.choice("enterprise_partner, university_partner or institute_partner, after the partner's "
                             "kind.", list(PARTNER_KINDS)),
        }, required=["organisation", "role"])),
        "requested_funding": s.decimal("Funding requested, yuan.", minimum=0),
        "own_funding": s.decimal("The applicant's own funding, yuan.", minimum=0),
        "planned_start": s.nullable(s.date("Planned start.")),
        "planned_end": s.nullable(s.date("Planned end, not before the start.")),
        "agreement_date": s.nullable(s.date("Collaborations: when the agreement was signed (needed to submit).")),
        "contract_value": s.nullable(s.decimal("Collaborations: technology contract value, yuan.", minimum=0)),
        "synthetic": s.boolean("Invented for the demo; never real."),
        "source": source_reference(),
        "history": s.listing("The transitions it took, in order (see docs/programs.md, Lifecycle).", s.entry(
            "A transition.", {
                "transition": s.choice("The transition's name.", list(LIFECYCLE.transitions)),
                "at": moment_schema("When it was taken; not before the previous step, not in the future."),
                "comment": s.text("Why; required for return, reject and terminate."),
            }, required=["transition", "at"])),
    }, required=["key", "title_zh", "applicant"]),
)


@dataclass(frozen=True)
class Step:
    """A transition as the file and the database both say it; `at` None when unreadable."""

    transition: str
    at: dt.datetime | None
    comment: str

    def __str__(self) -> str:
        when = write_moment(self.at) if self.at else "?"
        return f"{self.transition} at {when}" + (f" ({self.comment})" if self.comment else "")


def _file_steps(entry: dict) -> list[Step]:
    steps = []
    for step in entry.get("history", []):
        try:
            when = read_moment(step["at"])
        except ValueError:
            when = None
        steps.append(Step(step["transition"], when, step.get("comment", "").strip()))
    return steps


def _stored_steps(keys: list[str]) -> dict[str, list[Step]]:
    """The histories the database holds for these project keys, in one query."""
    stored: dict[str, list[Step]] = {}
    for key, name, when, comment in (ProjectTransition.objects.filter(project__key__in=keys)
                                        .order_by("at", "id").values_list("project__key", "name", "at", "comment")):
        stored.setdefault(key, []).append(Step(name, when, comment))
    return stored


def _call_facts(ctx: LoadContext, keys: set[str]) -> dict[str, CallFacts]:
    """The calls these keys name, from the file (which the load will write) or else the database."""
    declared = ctx.declared("calls")
    facts = {}
    for key in keys & declared.keys():
        entry = declared[key]
        opens, closes = (_quiet(read_moment, entry[name]) for name in ("opens", "closes"))
        if opens is not None and closes is not None and closes <= opens:
            # The call's own problem; submissions are not judged against a window it does not have.
            opens = closes = None
        facts[key] = CallFacts(entry["categories"], opens, closes)
    for key, categories, opens, closes in (Call.objects.filter(key__in=keys - declared.keys())
                                           .values_list("key", "categories", "opens", "closes")):
        facts[key] = CallFacts(categories, opens, closes)
    return facts


def _quiet(reader, value):
    """`reader(value)`, or None: for values whose problem another check reports."""
    try:
        return reader(value)
    except ValueError:
        return None


def check_projects(entries: Entries, ctx: LoadContext) -> None:
    for i, entry in enumerate(entries):
        ctx.declare("projects", entry["key"], at("projects", i), entry)
    check_source_refs(ctx, [(at("projects", i, "source"), entry.get("source")) for i, entry in enumerate(entries)])
    kinds = organisation_kinds(ctx, {entry["applicant"] for entry in entries}
                               | {party["organisation"] for entry in entries for party in entry.get("parties", [])})
    calls = _call_facts(ctx, {entry["call"] for entry in entries if entry.get("call")})
    stored = _stored_steps([entry["key"] for entry in entries])
    now = timezone.now()
    for i, entry in enumerate(entries):
        path = at("projects", i)
        _check_fields(ctx, path, entry, kinds, calls)
        _check_history(ctx, path, entry, calls.get(entry.get("call")), now)
        _check_against_stored(ctx, path, _file_steps(entry), stored.get(entry["key"], []))


def _unknown_organisation(key: str) -> str:
    return f"no organisation has the key {key!r}, in this file or in the database"


def _check_fields(ctx: LoadContext, path: str, entry: dict, kinds: dict[str, str],
                  calls: dict[str, CallFacts]) -> None:
    """The rules of services.new_project, party_rows and check_parties, found without writing."""
    kind = entry.get("kind", PROJECT_DEFAULTS["kind"])
    applicant = entry["applicant"]
    applicant_kind = kinds.get(applicant)
    if applicant_kind is None:
        ctx.problem(at(path, "applicant"), _unknown_organisation(applicant))
    elif applicant_kind in CONTAINER_KINDS or applicant_kind == OrganisationKind.GOVERNMENT:
        ctx.problem(at(path, "applicant"), f"{applicant} is a {applicant_kind}; enterprises, universities and "
                                           "institutes apply")
    elif kind == ProjectKind.COLLABORATION and applicant_kind != OrganisationKind.ENTERPRISE:
        ctx.problem(at(path, "applicant"), "an enterprise leads a collaboration (产学研合作) and applies for it")
    _check_parties(ctx, path, entry, kind, kinds)
    call_key = entry.get("call")
    if call_key and call_key not in calls:
        ctx.problem(at(path, "call"), f"no call has the key {call_key!r}, in this file or in the database")
    category = entry.get("category", "")
    if call_key in calls and category and category not in calls[call_key].categories:
        ctx.problem(at(path, "category"), f"{category!r} is not a category of the call {call_key}: "
                                          f"{', '.join(calls[call_key].categories)}")
    for name in ("requested_funding", "own_funding", "contract_value"):
        _amount(ctx, at(path, name), entry.get(name))
    start, end = read_date(entry.get("planned_start")), read_date(entry.get("planned_end"))
    if start is not None and end is not None and end < start:
        ctx.problem(at(path, "planned_end"), "a project ends after it starts")


def _check_parties(ctx: LoadContext, path: str, entry: dict, kind: str, kinds: dict[str, str]) -> None:
    """Each partner known, once, in the role of its kind; then, those being sound, the
    mix a collaboration needs (judged only then: one wrong partner is one problem)."""
    seen: dict[str, int] = {}
    sound = True
    for j, party in enumerate(entry.get("parties", [])):
        key, role = party["organisation"], party["role"]
        problem = None
        if key == entry["applicant"]:
            problem = "organisation", "the applicant is the lead party; list only partners"
        elif key in seen:
            problem = "organisation", f"repeats parties[{seen[key]}]: {key} takes part once"
        elif key not in kinds:
            problem = "organisation", _unknown_organisation(key)
        elif kinds[key] != PARTNER_KINDS[role]:
            problem = "role", f"{key} is a {kinds[key]}, not a {PARTNER_KINDS[role]}: it cannot be a {role}"
        if problem:
            ctx.problem(at(path, "parties", j, problem[0]), problem[1])
            sound = False
        seen.setdefault(key, j)
    everyone = [entry["applicant"], *seen]
    if sound and all(key in kinds for key in everyone):
        try:
            services.check_parties(kind, [(Organisation(key=key, kind=kinds[key]), None) for key in everyone])
        except ProgrammeError as exc:
            ctx.problem(at(path, "parties"), exc.reason)


def _check_history(ctx: LoadContext, path: str, entry: dict, call: CallFacts | None, now: dt.datetime) -> None:
    """Walk the history through LIFECYCLE from draft, with the rules services.take applies
    at each step; a step the table refuses ends the walk (what follows cannot be judged)."""
    state, last, submitted = ProjectState.DRAFT, None, False
    for j, step in enumerate(entry.get("history", [])):
        step_path = at(path, "history", j)
        name = step["transition"]
        try:
            state = LIFECYCLE.check(name, state).target
        except TransitionError as exc:
            ctx.problem(at(step_path, "transition"), str(exc))
            return
        when = _parse(ctx, at(step_path, "at"), read_moment, step["at"])
        if when is not None:
            if when > now + CLOCK_SKEW:
                ctx.problem(at(step_path, "at"), "a transition cannot be dated in the future")
            if last is not None and when < last:
                ctx.problem(at(step_path, "at"), f"the previous step was on {write_moment(last)}; a later one "
                                                 "cannot be dated before it")
            last = when if last is None else max(last, when)
        if name in NEED_COMMENT and not step.get("comment", "").strip():
            ctx.problem(at(step_path, "comment"), f"say why ({name})")
        if name == "submit":
            _check_submission(ctx, path, step_path, entry, call, when, first=not submitted)
            submitted = True


def _check_submission(ctx: LoadContext, path: str, step_path: str, entry: dict, call: CallFacts | None,
                      when: dt.datetime | None, *, first: bool) -> None:
    """services.check_submission: the call open at that moment, a category of it, and a
    collaboration's agreement date (the parties are checked whatever the state). The
    fields' problems are reported once, however often the project was submitted."""
    if call is not None:
        refusal = when and call.open_at(when)
        if refusal:
            ctx.problem(at(step_path, "at"), refusal)
    if not first:
        return
    if call is not None and not entry.get("category"):
        ctx.problem(at(path, "category"), f"a project submitted to a call chooses one of its categories: "
                                          f"{', '.join(call.categories)}")
    if entry.get("kind") == ProjectKind.COLLABORATION and entry.get("agreement_date") is None:
        ctx.problem(at(path, "agreement_date"), "a collaboration is submitted with the date its agreement was signed")


def _check_against_stored(ctx: LoadContext, path: str, steps: list[Step], stored: list[Step]) -> None:
    """A reload only extends a history: the steps the database holds must begin the file's.

    A file that stops short of the database (saved before the project moved on) loads,
    with a warning: its steps are all there, and nothing is undone.
    """
    for j, (held, said) in enumerate(zip(stored, steps, strict=False)):
        if said.at is None:
            return
        if held != said:
            ctx.problem(at(path, "history", j), f"the database holds step {j} as {held}; the file says {said}. "
                                                "A history is extended by a reload, never rewritten")
            return
    if len(stored) > len(steps):
        ctx.warn(at(path, "history"), f"the database holds {len(stored) - len(steps)} later step(s), up to "
                                      f"{stored[-1]}; they are kept")


def _project_values(entry: dict, orgs: dict[str, Organisation], calls: dict[str, Call],
                    sources: dict[str, Source]) -> dict:
    """The keyword arguments of services.create_project for an entry (but its parties)."""
    values = {**PROJECT_DEFAULTS, **entry}
    return {
        "key": entry["key"], "kind": values["kind"], "call": calls.get(values["call"]),
        "category": values["category"], "title_zh": values["title_zh"], "title_en": values["title_en"],
        "summary": values["summary"], "applicant": orgs[values["applicant"]],
        "requested_funding": _money(values["requested_funding"]), "own_funding": _money(values["own_funding"]),
        "planned_start": read_date(values["planned_start"]), "planned_end": read_date(values["planned_end"]),
        "agreement_date": read_date(values["agreement_date"]), "contract_value": _money(values["contract_value"]),
        "synthetic": values["synthetic"], "source": sources.get(values["source"]),
    }


def load_projects(entries: Entries, ctx: LoadContext) -> None:
    # A file replays steps taken long ago: nobody's inbox hears of them.
    with silenced("replaying a world file"):
        _load_projects(entries, ctx)


def _load_projects(entries: Entries, ctx: LoadContext) -> None:
    """Create or update each project, then take the steps of its history the database lacks.

    Everything is read in bulk first, so that reloading an unchanged file costs a few
    queries, however many projects it lists.
    """
    existing = Project.objects.in_bulk([entry["key"] for entry in entries], field_name="key")
    orgs = Organisation.objects.in_bulk({entry["applicant"] for entry in entries}
                                        | {p["organisation"] for entry in entries for p in entry.get("parties", [])},
                                        field_name="key")
    calls = Call.objects.in_bulk({entry.get("call") for entry in entries} - {None}, field_name="key")
    sources = Source.objects.in_bulk({entry.get("source") for entry in entries} - {None}, field_name="key")
    ids = [project.pk for project in existing.values()]
    parties = group_rows(Party.objects.all(), "project_id", ids)
    steps = group_rows(ProjectTransition.objects.order_by("at", "id"), "project_id", ids)
    for i, entry in enumerate(entries):
        path = at("projects", i)
        values = _project_values(entry, orgs, calls, sources)
        partners = [(orgs[party["organisation"]], party["role"]) for party in entry.get("parties", [])]
        project = existing.get(entry["key"])
        with ctx.writing(path):
            if project is None:
                project, status, held = services.create_project(parties=partners, **values), "created", 0
            else:
                changed = _update_project(project, values, partners, parties[project.pk])
                status, held = ("updated" if changed else "unchanged"), len(steps[project.pk])
        for j, step in enumerate(entry.get("history", [])[held:], start=held):
            with ctx.writing(at(path, "history", j)):
                services.take(project, step["transition"], at=read_moment(step["at"]),
                              comment=step.get("comment", ""))
            status = "updated" if status == "unchanged" else status
        ctx.report.count("projects", status)


def _update_project(project: Project, values: dict, partners: list[tuple[Organisation, str]],
                    held: list[Party]) -> bool:
    """Make a stored project and its parties say what the file says; whether anything changed.

    services has no use case for changing a project after it is created, so the world
    file does it here, on the services' own rules: services.new_project checks the
    fields, party_rows and check_parties the parties, and the call's region is
    create_project's rule. The state is not a field: only the history moves it.
    """
    candidate = services.new_project(**values)
    changed = {name: getattr(candidate, name) for name in PROJECT_FIELDS
               if getattr(project, name) != getattr(candidate, name)}
    for name, value in changed.items():
        setattr(project, name, value)
    # The rows read in bulk (the ids are those the file names), not a query each.
    project.applicant, project.call = values["applicant"], values["call"]
    if {"call_id", "applicant_id"} & changed.keys():
        _check_call_region(project)
    wanted = services.party_rows(project, partners)
    services.check_parties(project.kind, [(row.organisation, row.role) for row in wanted])
    wanted_pairs = {(row.organisation.pk, row.role) for row in wanted}
    held_pairs = {(row.organisation_id, row.role) for row in held}
    stale = [row for row in held if (row.organisation_id, row.role) not in wanted_pairs]
    missing = [row for row in wanted if (row.organisation.pk, row.role) not in held_pairs]
    if changed:
        project.full_clean(validate_constraints=False)
        project.save()
    # Stale rows go first: an organisation is a party once, so a changed role is a new row.
    for row in stale:
        row.delete()
    for row in missing:
        row.save()
    return bool(changed or stale or missing)


def _check_call_region(project: Project) -> None:
    """services.create_project's rule: a call is for the organisations located in its region."""
    call = project.call
    if call is not None and not Organisation.objects.in_region(call.region).filter(pk=project.applicant_id).exists():
        raise ProgrammeError("call", f"{call} is for organisations located in {call.region.name_zh} "
                                     f"{call.region.code}; {project.applicant} is not located there")


def _project_entry(project: Project, partners: list[Party], steps: list[ProjectTransition]) -> dict:
    return without_defaults({
        "key": project.key, "kind": project.kind, "call": project.call.key if project.call_id else None,
        "category": project.category, "title_zh": project.title_zh, "title_en": project.title_en,
        "summary": project.summary, "applicant": project.applicant.key,
        "parties": sorted(({"organisation": party.organisation.key, "role": party.role} for party in partners),
                          key=lambda party: party["organisation"]),
        "requested_funding": write_decimal(project.requested_funding),
        "own_funding": write_decimal(project.own_funding),
        "planned_start": write_date(project.planned_start), "planned_end": write_date(project.planned_end),
        "agreement_date": write_date(project.agreement_date),
        "contract_value": write_decimal(project.contract_value) if project.contract_value is not None else None,
        "synthetic": project.synthetic, "source": source_key(project),
        "history": [without_defaults({"transition": step.name, "at": write_moment(step.at), "comment": step.comment},
                                     STEP_DEFAULTS) for step in steps],
    }, PROJECT_DEFAULTS)


def dump_projects(ctx: DumpContext) -> Entries:
    """Every project; in a region dump, those whose applicant is or was located in the
    region's subtree (the organisations the dump holds). One query per table."""
    projects = Project.objects.select_related("applicant", "call", "source")
    ids = None
    if not ctx.whole:
        located = Location.objects.filter(region__path__startswith=ctx.region.path).values("organisation_id")
        projects = projects.filter(applicant__in=located)
        ids = list(projects.values_list("pk", flat=True))
    partners = group_rows(Party.objects.exclude(role=PartyRole.LEAD).select_related("organisation"), "project_id", ids)
    steps = group_rows(ProjectTransition.objects.order_by("at", "id"), "project_id", ids)
    entries = [_project_entry(project, partners[project.pk], steps[project.pk])
               for project in sorted(projects, key=lambda project: project.key)]
    ctx.require("organisations", [entry["applicant"] for entry in entries]
                + [party["organisation"] for entry in entries for party in entry.get("parties", [])])
    ctx.require("calls", [entry.get("call") for entry in entries])
    ctx.require("sources", [entry.get("source") for entry in entries])
    return entries


PROJECTS = Section("projects", PROJECT_SCHEMA, load=load_projects, dump=dump_projects, check=check_projects,
                   after=("sources", "organisations", "calls"))
