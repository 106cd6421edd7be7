"""The API fuzzing drill's engine (issue 10), shared by the CI test
(tests/reliability/test_api_fuzz.py) and the long run (benchmarks/api_fuzz_drill.py).

schemathesis reads the project's own OpenAPI schema (GET /api/schema/, drf-spectacular)
and generates requests for every operation, valid ones and invalid ones. Each is sent in
process to the WSGI application as one demo role (HTTP Basic, as in README's API tour) or
anonymously, and its response is checked:

- no 500 (`not_a_server_error`);
- it is what the schema says: a documented status code, content type, headers and body
  (`status_code_conformance`, `content_type_conformance`, `response_headers_conformance`,
  `response_schema_conformance`); invalid input is refused (`negative_data_rejection`);
- nothing outside the role's scope (`scope_leaks`, below): every row a response carries, and
  the row its path names, is one `visible_to(Model.objects.all(), user)` holds.

Every case runs in a savepoint rolled back after it: a write never reaches the next case,
and no case counts towards the login lockout (django-axes keeps its attempts in the
database). Only the demo's own credentials are sent: schemathesis invents no session
cookie or Authorization header (`with_security_parameters`), so a role is never turned
anonymous or locked out by a fuzzed password. The token endpoint's body (a username and a
password) is fuzzed like any other body, inside the same savepoint.

Generated values alone almost never name a row that exists, so in three cases in four the
path parameters, and most fields of the query and body that name a row or a period
(organisation, region, metric, period …), are replaced by real values of the demo: drawn
from the rows the role sees and from all rows, so that reading or changing a row outside
the scope is tried as well (`real_values`). Invalid cases keep their invalid part and may
name a real row elsewhere.

Some accepted "invalid" input is accepted by design and not counted (each in a function
below that says why): a query parameter sent empty (`?kind=`, read as absent, as the web
lists' forms send every field); in a body, a number where text is expected (DRF's CharField
keeps it as text), text that fits once its surrounding spaces are trimmed, null for a
nullable field (a schemathesis artefact); and a multipart field sent empty (lost by the
in-process transport, not by the application).

Findings that are known bugs, each with the regression test that pins it, are listed in
`KNOWN_BUGS`; the CI test fails on any other.
"""

import base64
import logging
import re
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import schemathesis
from django.contrib.auth import get_user_model
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import DatabaseError, close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from kechuang.demo.builder import DEMO_PASSWORD, DEMO_USERNAME

#: Who sends the requests: anonymous (None) and every demo login (kechuang/demo/builder.py).
ROLES: tuple[str | None, ...] = (None, DEMO_USERNAME, "bureau", "analyst", "zone", "park", "zhongkeyi", "reviewer")

SCHEMA_CHECKS = (not_a_server_error, status_code_conformance, content_type_conformance,
                 response_headers_conformance, response_schema_conformance, negative_data_rejection)

#: Operations that cost seconds a request (a spreadsheet of every visible row, a bulletin
#: rendered to PDF): in CI they get at most this many cases a role; the long run gives them all.
EXPENSIVE = {
    "GET /api/v1/observations/export/": 3,
    "GET /api/v1/projects/export/": 3,
    "POST /api/v1/bulletins/{id}/publish/": 3,
    "POST /api/v1/bulletins/preview/": 5,
}


def role_name(role: str | None) -> str:
    return role or "anonymous"


# --- the application, in process ------------------------------------------------------------


@contextmanager
def in_process_application() -> Iterator[WSGIHandler]:
    """Django's WSGI application, called in this process inside the caller's transaction.

    Django closes the database connection at the start and end of every request when it is
    not in autocommit mode (close_old_connections), which inside a transaction would end
    it; Django's own test client disconnects the handler for the same reason. The logs of
    every refused request and failed login (thousands of warnings) are silenced; a 500 is
    reported with its traceback (server_exceptions)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    logs = [logging.getLogger(name) for name in ("django.request", "axes", "kechuang")]
    levels = [log.level for log in logs]
    for log in logs:
        log.setLevel(logging.CRITICAL)
    try:
        yield WSGIHandler()
    finally:
        for log, level in zip(logs, levels, strict=True):
            log.setLevel(level)
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@contextmanager
def server_exceptions() -> Iterator[list[str]]:
    """The tracebacks of the exceptions the application answered with a 500, for the report."""
    caught: list[str] = []

    def record(sender, request=None, **kwargs):
        caught.append("".join(traceback.format_exception(*sys.exc_info())[-4:]))

    signals.got_request_exception.connect(record)
    try:
        yield caught
    finally:
        signals.got_request_exception.disconnect(record)


def load_schema(app: WSGIHandler):
    """The schema as the application serves it (GET /api/schema/), set up for the drill:
    no invented credentials (see the module's docstring), and no invented query parameters
    as invalid input: a parameter an operation does not define is ignored, as HTTP APIs
    (and DRF) do, and that is not a refusal the API owes."""
    schema = schemathesis.openapi.from_wsgi("/api/schema/", app)
    schema.config.generation.update(with_security_parameters=False, allow_extra_parameters=False)
    return schema


def operations(schema) -> list:
    """Every operation of the schema, in the schema's order."""
    return [result.ok() for result in schema.get_all_operations()]


def label_of(operation) -> str:
    return f"{operation.method.upper()} {operation.path}"


def basic_auth(role: str | None) -> dict[str, str]:
    if role is None:
        return {}
    token = base64.b64encode(f"{role}:{DEMO_PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


# --- real values of the demo -------------------------------------------------------------------


def _collections() -> dict[str, tuple]:
    """Each collection of the API (the path segment before a lookup, or a sub-resource's
    parameter name) and the model and field a value of it names."""
    from kechuang.accounts.models import Grant
    from kechuang.bulletins.models import Bulletin, BulletinTemplate, BulletinVersion
    from kechuang.designations.models import Designation, DesignationImport, DesignationType, ImportCandidate
    from kechuang.indicators.models import ExchangeRate, Indicator, Measure
    from kechuang.notifications.models import Notification
    from kechuang.programs.models import (
        Attachment,
        Call,
        Outcome,
        ProgressReport,
        Project,
        ReviewAssignment,
        Tranche,
    )
    from kechuang.registry.models import (
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
    from kechuang.statistics.models import DataLock, Metric, Observation

    return {
        "organisations": (Organisation, "key"), "regions": (Region, "code"), "sources": (Source, "key"),
        "sectors": (Sector, "code"), "locations": (Location, "id"), "phases": (Phase, "id"),
        "ownerships": (Ownership, "id"), "milestones": (Milestone, "id"), "capacities": (Capacity, "id"),
        "contacts": (Contact, "id"), "observations": (Observation, "id"), "locks": (DataLock, "id"),
        "metrics": (Metric, "code"), "calls": (Call, "key"), "projects": (Project, "key"),
        "reviews": (ReviewAssignment, "id"), "designations": (Designation, "id"),
        "designation-types": (DesignationType, "code"), "designation-imports": (DesignationImport, "id"),
        "indicators": (Indicator, "code"), "measures": (Measure, "code"), "exchange-rates": (ExchangeRate, "id"),
        "bulletins": (Bulletin, "id"), "bulletin-templates": (BulletinTemplate, "code"),
        "inbox": (Notification, "id"), "grants": (Grant, "id"), "screening": (Organisation, "key"),
        # the rows a response lists under a parent, and the parameters of sub-resources
        "attachments": (Attachment, "id"), "outcomes": (Outcome, "id"), "reports": (ProgressReport, "id"),
        "queue": (ImportCandidate, "id"), "ranking": (Project, "key"),
        "attachment_id": (Attachment, "id"), "report_id": (ProgressReport, "id"), "seq": (Tranche, "seq"),
        "candidate_id": (ImportCandidate, "id"), "number": (BulletinVersion, "number"),
    }


#: Query parameters and body fields that name a row, and the collection of the rows they name.
REFERENCE_FIELDS = {
    "organisation": "organisations", "owner": "organisations", "park": "organisations", "within": "organisations",
    "applicant": "organisations", "partners": "organisations", "region": "regions", "parent": "regions",
    "successor": "regions", "source": "sources", "sector": "sectors", "sectors": "sectors", "metric": "metrics",
    "call": "calls", "project": "projects", "type": "designation-types", "template": "bulletin-templates",
    "codes": "indicators", "user": "users", "reviewer": "users", "username": "users", "ruleset": "rulesets",
}

#: Values of the demo for fields that name no row.
FREE_VALUES = {
    "period": ["2023H1", "2023", "2022", "2023Q3", "2023-07", "2023-01..2023-05", "2022H2", "2026", "2023年上半年"],
    "period_from": ["2022", "2022H1"], "period_to": ["2023H1", "2023"], "approved_within": ["2023H1", "2023"],
    "date": ["2023-09-04", "2022-12-31"], "on": ["2023-09-04", "2024-01-01"], "today": ["2023-09-04"],
    "as_of": ["2023-09-04T10:00:00+08:00"], "since": ["2023-01-01T00:00:00+08:00"], "language": ["en", "zh"],
    "extension": ["html", "pdf", "xlsx", "md", "csv", "json"], "download": ["csv", "xlsx"],
    "role": ["bureau_admin", "analyst", "park_manager", "enterprise_user", "reviewer"],
    "currency": ["USD", "CNY"], "rate_date": ["2023-09-04"],
    "password": [DEMO_PASSWORD, "not-the-password"], "by": ["children", "district"],
}


#: The rows the demo's roles are about (Tongzhou, Nantong; the firm, park and zone of the seed article).
FAVOURITES = {"regions": ["320612", "320600"],
              "organisations": ["zhongkeyi-nantong", "hengli-nantong-industrial-park", "nantong-high-tech-zone"]}

#: Regions outside Nantong among the values: Jiangsu, and the other 通州区 (Beijing's).
REGIONS = ("320000", "110000", "110112")


def _sample(queryset, field_name: str, limit: int = 300) -> list[str]:
    values = queryset.order_by(field_name).values_list(field_name, flat=True).distinct()
    return [str(value) for value in values[:limit] if value not in ("", None)]


class DemoValues:
    """Real values of the demo: those each role sees, and all of them."""

    def __init__(self):
        self.collections = _collections()
        self._all: dict[str, list[str]] = {}
        self._visible: dict[tuple[str, str | None], list[str]] = {}

    def all(self, name: str) -> list[str]:
        if name not in self._all:
            if name == "users":
                self._all[name] = _sample(get_user_model().objects.all(), "username")
            elif name == "rulesets":
                from kechuang.designations.rules.loader import rule_sets

                self._all[name] = sorted(rule_sets())
            elif name == "regions":  # the demo's (Nantong, its districts and towns), and two others
                model, field_name = self.collections[name]
                rows = model.objects.filter(code__startswith="3206") | model.objects.filter(code__in=REGIONS)
                self._all[name] = _sample(rows, field_name, limit=1000)
            else:
                model, field_name = self.collections[name]
                self._all[name] = _sample(model.objects.all(), field_name)
        return self._all[name]

    def visible(self, name: str, user) -> list[str]:
        key = (name, getattr(user, "username", None))
        if key not in self._visible:
            from kechuang.accounts.scoping import visible_to

            model, field_name = self.collections[name]
            try:
                rows = visible_to(model.objects.all(), user)
            except TypeError:  # a table with no visibility rule (a catalogue, the inbox)
                rows = model.objects.all()
            self._visible[key] = _sample(rows, field_name)
        return self._visible[key]

    def for_path(self, name: str, user) -> st.SearchStrategy | None:
        """Values for a path parameter: rows the user sees, or any row."""
        if name == "rulesets":
            return st.sampled_from(self.all(name))
        if name not in self.collections:
            return self.for_field(name)
        choices = [st.sampled_from(found) for found in (self.visible(name, user), self.all(name)) if found]
        return st.one_of(choices) if choices else None

    def for_field(self, name: str) -> st.SearchStrategy | None:
        """Values for a query parameter or a body field."""
        if name in FREE_VALUES:
            return st.sampled_from(FREE_VALUES[name])
        collection = REFERENCE_FIELDS.get(name)
        found = self.all(collection) if collection else []
        if not found:
            return None
        if collection in FAVOURITES:  # half the time, the rows the demo's roles are about
            return st.one_of(st.sampled_from(FAVOURITES[collection]), st.sampled_from(found))
        return st.sampled_from(found)


def path_collection(path: str, parameter: str) -> str:
    """The collection a path parameter names: the segment before it (`/organisations/{key}/`
    gives organisations); a sub-resource's own parameter (`{report_id}`) names itself."""
    segments = path.strip("/").split("/")
    for index, segment in enumerate(segments):
        if segment.startswith("{" + parameter + "}") and index > 0:
            before = segments[index - 1]
            if before.startswith("{") or before in ("queue", "files", "versions", "attachments", "reports",
                                                      "tranches"):
                return parameter
            return "grants" if before == "grants" else before
    return parameter


def real_values(draw, case, user, values: DemoValues) -> None:
    """Replace generated values by real ones of the demo (see the module's docstring): every
    path parameter whose part of the request is valid, and, in a valid case, most query
    parameters (given or not) and body fields that name a row or a period. The other
    optional query parameters are left out half of the time, so that a request whose every
    value is real (an indicator table of a region and a period, say) is tried too."""
    components = case.meta.components if case.meta is not None else {}
    negative = {location for location, info in components.items() if info.mode.is_negative}
    if ParameterLocation.PATH not in negative:
        for parameter in list(case.path_parameters or {}):
            strategy = values.for_path(path_collection(case.operation.path, parameter), user)
            if strategy is not None:
                case.path_parameters[parameter] = draw(strategy)
    if negative:
        return
    defined = {parameter.name: parameter.is_required for parameter in case.operation.query}
    if defined:
        if case.query is None:
            case.query = {}
        for name, required in defined.items():
            strategy = values.for_field(name)
            if strategy is not None:
                if draw(st.integers(0, 3)) if name in case.query else not draw(st.integers(0, 2)):
                    case.query[name] = draw(strategy)
            elif name in case.query and not required and draw(st.booleans()):
                del case.query[name]
    if isinstance(case.body, dict):
        for name in list(case.body):
            strategy = values.for_field(name)
            if strategy is not None and draw(st.integers(0, 3)):
                value = draw(strategy)
                case.body[name] = [value] if isinstance(case.body[name], list) else value


# --- scope: no row outside the role's ------------------------------------------------------------


#: The collections whose rows `visible_to` narrows (kechuang/accounts/scoping.py). Not checked,
#: and why: the reference tables and catalogues (regions, sources, sectors, metrics, designation
#: types, indicators, measures, exchange rates, screening rule sets) are public; bulletin
#: versions and files exist only once published, and what is published is public; the
#: inbox is checked by its own rule (the recipient); indicator values, contributors and
#: corrections, the cultivation pool, the completeness list and the spreadsheet exports are
#: computed answers, not rows of one table (their scope is tested in their apps' tests).
SCOPED = ("organisations", "locations", "phases", "ownerships", "milestones", "capacities", "contacts",
          "observations", "locks", "calls", "projects", "reviews", "designations", "designation-imports", "bulletins",
          "bulletin-templates", "grants", "screening", "attachments", "outcomes", "reports", "queue", "ranking")

#: Which responses carry rows, and of which collection: a pattern of "METHOD path" and the
#: collection (None: the path's first segment; "{1}": the pattern's first group). The rows
#: are a page's `results`, a list, or the object itself.
ROWS_OF = [
    (r"(GET|POST|PUT|PATCH) /api/v1/(auth/grants|organisations|locations|phases|ownerships|milestones|capacities"
     r"|contacts|observations|locks|calls|projects|reviews|designations|designation-imports|bulletins|bulletin-templates"
     r"|inbox)/(\{[a-z_]+\}/)?", None),
    (r"GET /api/v1/designations/expiring/", "designations"),
    (r"GET /api/v1/observations/\{id\}/versions/", "observations"),
    (r"(GET|POST) /api/v1/projects/\{key\}/(attachments|outcomes|reports)/", "{2}"),
    (r"GET /api/v1/designation-imports/\{id\}/queue/", "queue"),
    (r"GET /api/v1/calls/\{key\}/ranking/", "ranking"),
    (r"POST /api/v1/(auth/grants|observations|locks|designations|projects|reviews|inbox)/\{[a-z_]+\}/[a-z_-]+/", None),
]


def rows_collection(label: str) -> str | None:
    for pattern, collection in ROWS_OF:
        found = re.fullmatch(pattern, label)
        if found is None:
            continue
        if collection is None:
            first = label.split(" ", 1)[1].removeprefix("/api/v1/").split("/")[0]
            return "grants" if first == "auth" else first
        if collection.startswith("{"):
            return found.group(int(collection.strip("{}")))
        return collection
    return None


def _rows(body) -> list:
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        return body["results"]
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        return [body]
    return []


def _normal(value, field_name: str):
    """A row's name as the database compares it (`/locations/007/` names location 7)."""
    text = str(value)
    return int(text) if field_name in ("id", "number", "seq") and text.isdigit() else text


def scope_check(user, values: DemoValues) -> Callable:
    """A schemathesis check: the response holds no row outside `user`'s scope."""
    from kechuang.accounts.scoping import visible_to

    def outside(collection: str, names: set) -> list:
        model, field_name = values.collections[collection]
        if collection == "inbox":
            rows = model.objects.filter(id__in=names, recipient=user) if user else model.objects.none()
        else:
            rows = visible_to(model.objects.filter(**{f"{field_name}__in": names}), user)
        seen = {_normal(value, field_name) for value in rows.values_list(field_name, flat=True)}
        return sorted(names - seen, key=str)

    def scope_leaks(ctx, response, case):
        if not 200 <= response.status_code < 300:
            return None
        label = label_of(case.operation)
        who = getattr(user, "username", None) or "anonymous"
        for parameter, value in (case.path_parameters or {}).items():
            collection = path_collection(case.operation.path, parameter)
            if collection in SCOPED:
                leaked = outside(collection, {_normal(value, values.collections[collection][1])})
                if leaked:
                    raise AssertionError(f"{who} was answered {response.status_code} on {collection} {leaked[0]}, "
                                         f"outside their scope")
        collection = rows_collection(label)
        if collection is None or (collection not in SCOPED and collection != "inbox"):
            return None
        try:
            body = response.json()
        except ValueError:
            return None
        field_name = values.collections[collection][1]
        names = {_normal(row[field_name], field_name) for row in _rows(body)
                 if isinstance(row, dict) and row.get(field_name) is not None}
        leaked = outside(collection, names) if names else []
        if leaked:
            raise AssertionError(f"{who} received {len(leaked)} {collection} outside their scope: {leaked[:5]}")
        return None

    return scope_leaks


# --- findings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One failed check of one response."""

    operation: str  # "GET /api/v1/organisations/"
    role: str | None
    kind: str  # see FAILURE_KINDS
    status: int | None
    message: str
    reproduction: str  # a curl command
    exception: str = ""  # the end of the traceback of a 500

    @property
    def summary(self) -> str:
        lines = [line.strip() for line in self.message.splitlines() if line.strip()]
        return " / ".join(lines[:3])[:240]


FAILURE_KINDS = {
    "ServerError": "server_error", "UndefinedStatusCode": "status_code", "JsonSchemaError": "response_schema",
    "MalformedJson": "response_schema", "UndefinedContentType": "content_type", "MalformedMediaType": "content_type",
    "MissingContentType": "content_type", "MissingHeaders": "headers", "JsonSchemaHeaderError": "headers",
    "AcceptedNegativeData": "negative_data_accepted",
}


def _kind(failure: Failure) -> str:
    if "scope_leaks" in failure.title:  # the custom check above, as schemathesis wraps it
        return "scope_leak"
    return FAILURE_KINDS.get(type(failure).__name__, type(failure).__name__)


def _only_empty_query_values(case, failure: Failure) -> bool:
    """Whether the invalid part of an accepted request is only query parameters sent empty
    (`?kind=`): kechuang reads an empty parameter as an absent one, as the web lists' forms
    send every field, and that is not a refusal it owes."""
    named = re.search(r"Invalid component: parameters? ((?:`[^`]+`(?:, )?)+) in query", failure.message)
    if named is None or not isinstance(case.query, dict):
        return False
    names = re.findall(r"`([^`]+)`", named.group(1))
    # An empty object or list is sent as an empty parameter too (`?page=`).
    return all(case.query.get(name) in ("", None, [""], {}, []) for name in names)


def _lenient_only(case, failure: Failure) -> bool:
    """Whether every invalid part of an accepted body is one the API reads leniently by
    design: a number where text is expected (DRF's CharField keeps it as text), text with
    spaces around it that fits once trimmed (CharField trims before it measures), null
    for a nullable field (schemathesis writes `nullable` as anyOf [X, null] and reports
    the null it put in the first branch as a mutation), or an empty string for a relation
    that may be null (DRF's RelatedField reads "" as null)."""
    mutations = re.findall(r"violates (.+?)(?=\n|$)", failure.message.split("Invalid component:", 1)[-1])
    if not mutations or "in body" not in failure.message:
        return False

    def lenient(mutation: str) -> bool:
        if re.fullmatch(r"`type` at /properties/\w+ \(was string, became (number|integer)\)", mutation):
            return True
        if re.fullmatch(r"`type` at /properties/\w+/anyOf/\d+ \(was \w+, became null\)", mutation):
            return True
        emptied = re.fullmatch(r"`minLength` at /properties/(\w+)/anyOf/\d+", mutation)
        if emptied and isinstance(case.body, dict) and case.body.get(emptied.group(1)) == "":
            return True
        trimmed = re.match(r"`maxLength` at /properties/(\w+)\b", mutation)
        value = case.body.get(trimmed.group(1)) if trimmed and isinstance(case.body, dict) else None
        return isinstance(value, str) and value != value.strip()

    return all(lenient(mutation.strip()) for mutation in mutations)


def _empty_multipart_field(case) -> bool:
    """Whether the case is a multipart body with a field sent empty: werkzeug, which encodes
    the body for the in-process call, leaves out the line break that ends an empty field's
    value, so the field never reaches the application (the same request from curl, with the
    field, is refused as it should be)."""
    return (case.media_type or "").startswith("multipart/") and isinstance(case.body, dict) and any(
        value in ("", b"") for value in case.body.values())


def _reproduce(case, role) -> str:
    try:
        command = case.as_curl_command(headers=basic_auth(role) or None)
    except Exception:  # noqa: BLE001 — a case that cannot be printed as curl is still reported
        return f"{case.method} {case.formatted_path} query={case.query!r} body={case.body!r}"
    return command.replace("-H 'Authorization: [Filtered]'", f"-u {role}:{DEMO_PASSWORD}")


@dataclass(frozen=True)
class KnownBug:
    """A bug the drill found that is not fixed yet: the findings it explains, and the
    regression test (xfail, strict) that pins it in tests/reliability/test_api_fuzz.py. Once
    the fix lands, that test passes, strict xfail fails it, and both the mark and this entry go."""

    name: str
    test: str
    kinds: tuple[str, ...]
    operation: str = ".*"  # a pattern of the operation's label
    message: str = ".*"  # a pattern searched in the finding's message
    statuses: tuple[int, ...] = ()

    def explains(self, finding: Finding) -> bool:
        return (finding.kind in self.kinds and re.fullmatch(self.operation, finding.operation) is not None
                and re.search(self.message, finding.message + finding.exception, re.DOTALL) is not None
                and (not self.statuses or finding.status in self.statuses))


#: None open at the last run: every bug the drill found is fixed, and kept as a test "found by
#: the drill, fixed" in test_api_fuzz.py.
KNOWN_BUGS: tuple[KnownBug, ...] = ()


def known_bug(finding: Finding) -> KnownBug | None:
    return next((bug for bug in KNOWN_BUGS if bug.explains(finding)), None)


# --- running -------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What one operation answered one role."""

    cases: int = 0
    statuses: Counter = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    def kinds(self, known: bool | None = None) -> Counter:
        return Counter(f.kind for f in self.findings if known is None or (known_bug(f) is not None) == known)


_STRATEGIES: dict = {}


def strategies(operation) -> tuple:
    """The operation's strategies for valid and invalid cases, built once (it takes a while)."""
    key = (id(operation.schema), label_of(operation))
    if key not in _STRATEGIES:
        _STRATEGIES[key] = (operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
                            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    return _STRATEGIES[key]


def fuzz_operation(operation, role: str | None, app, values: DemoValues, max_examples: int,
                   seed: int | None = None) -> Tally:
    """Send `max_examples` generated requests (as many valid as invalid, roughly) to one
    operation as one role, each in a savepoint rolled back after it, and check each answer.
    Returns what happened; raises nothing for a finding. Without a seed the cases are the
    same on every run (CI must not fail on a case it never tried before)."""
    user = get_user_model().objects.get(username=role) if role else None
    headers = basic_auth(role)
    label = label_of(operation)
    scope = scope_check(user, values)
    valid, invalid = strategies(operation)
    tally = Tally()

    @st.composite
    def cases(draw):
        case = draw(st.one_of(valid, invalid))
        if draw(st.integers(0, 3)):  # three cases in four
            real_values(draw, case, user, values)
        return case

    @settings(max_examples=max_examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), derandomize=seed is None)
    @given(case=cases())
    def run(case):
        tally.cases += 1
        started = time.perf_counter()

        def found(kind, message, status=None, exception=""):
            tally.findings.append(Finding(label, role, kind, status, message[:4000], _reproduce(case, role), exception))

        with server_exceptions() as caught, transaction.atomic():
            try:
                response = case.call(app=app, headers=headers)
            except Exception as exc:  # noqa: BLE001 — the application raised through WSGI
                tally.statuses["raised"] += 1
                found("server_error", f"{type(exc).__name__}: {exc}", exception="".join(caught))
            else:
                tally.statuses[response.status_code] += 1
                try:
                    case.validate_response(response, checks=list(SCHEMA_CHECKS), additional_checks=[scope])
                except FailureGroup as group:
                    for failure in group.exceptions:
                        if _kind(failure) == "negative_data_accepted" and (
                                _only_empty_query_values(case, failure) or _empty_multipart_field(case)
                                or _lenient_only(case, failure)):
                            continue
                        found(_kind(failure), f"{failure.title}: {failure.message}", response.status_code,
                              "".join(caught))
                except DatabaseError as error:
                    found("database_left_broken", str(error), response.status_code)
            transaction.set_rollback(True)
        tally.seconds += time.perf_counter() - started

    if seed is not None:
        run = hypothesis_seed(seed)(run)
    run()
    return tally


def budget(label: str, max_examples: int, long: bool) -> int:
    return max_examples if long else min(max_examples, EXPENSIVE.get(label, max_examples))


# --- reports -------------------------------------------------------------------------------------


def describe(findings: list[Finding], limit: int = 40) -> str:
    """Findings grouped by kind, operation and message, with one reproduction each."""
    groups: dict[tuple, list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.kind, finding.operation, finding.summary), []).append(finding)
    lines = []
    for (kind, operation, summary), found in sorted(groups.items())[:limit]:
        roles = ", ".join(sorted({role_name(f.role) for f in found}))
        lines.append(f"[{kind}] {operation} ×{len(found)} ({roles})\n    {summary}\n    {found[0].reproduction[:400]}")
        if found[0].exception:
            lines.append("    " + found[0].exception.strip().replace("\n", "\n    ")[-800:])
    if len(groups) > limit:
        lines.append(f"… and {len(groups) - limit} more groups")
    return "\n".join(lines)
