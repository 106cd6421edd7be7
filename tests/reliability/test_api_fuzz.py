"""API fuzzing (issue 10), the CI run: schemathesis against the project's own OpenAPI schema.

Every operation of /api/schema/ is sent generated requests, valid and invalid, as each demo
role (demo, bureau, analyst, zone, park, zhongkeyi, reviewer: HTTP Basic with the demo
password) and anonymously; each answer must not be a 500, must be what the schema
documents (status code, content type, headers, body), must refuse invalid input, and must
hold no row outside the role's scope. The engine, what it checks and how, is
tests/reliability/fuzz_support.py; the demo world is built once for the module and every
case runs in a savepoint rolled back after it.

Size: 10 cases per operation and role here (fewer for the few operations that render a
spreadsheet or a PDF, fuzz_support.EXPENSIVE), the same cases on every run; 100 with
KECHUANG_DRILL=long. The long run proper is a command that prints a table per operation
and role: `.venv/bin/python benchmarks/api_fuzz_drill.py` (a few hundred cases per
operation, a random seed it prints).

What the drill found and is not fixed yet is listed in fuzz_support.KNOWN_BUGS: a finding one
of them explains does not fail the fuzz test; each has its regression test below, marked
xfail (strict) with the bug's name. When a fix lands its test passes, the strict xfail fails,
and the mark and the KNOWN_BUGS entry go together.

Nothing is excluded: every operation of the schema is fuzzed (multipart uploads included:
schemathesis builds their bodies), and `test_every_api_route_is_in_the_schema` checks that
every route under /api/v1/ is one of them, except the browsable API root (a list of
links, answered to anyone). OPTIONS and HEAD, which DRF answers for every route, are not
in the schema and are not sent.
"""

import itertools
import json
import re
from dataclasses import dataclass

import pytest
import requests
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from django.test.utils import override_settings
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve
from drf_spectacular.generators import SchemaGenerator
from schemathesis import Response
from schemathesis.specs.openapi.checks import response_schema_conformance

from kechuang.demo.builder import DEMO_PASSWORD, build_demo
from tests.reliability import fuzz_support as fuzz

from .conftest import LONG

pytestmark = pytest.mark.django_db

CASES = 100 if LONG else 10


def generated_schema() -> dict:
    """The schema as drf-spectacular generates it, without a request (and without a database)."""
    return SchemaGenerator().get_schema(request=None, public=True)


#: Every operation of the schema, by label: "GET /api/v1/organisations/".
OPERATIONS = [f"{method.upper()} {path}" for path, methods in generated_schema()["paths"].items()
              for method in methods if method in ("get", "put", "post", "patch", "delete")]


@dataclass
class FuzzWorld:
    schema: object
    values: fuzz.DemoValues

    def operation(self, label: str):
        method, path = label.split(" ", 1)
        return self.schema[path][method]


@pytest.fixture(scope="module")
def fuzz_world(django_db_setup, django_db_blocker):
    """The demo (with its published bulletin) in one transaction rolled back after the module,
    the schema as the application serves it, and the demo's values.

    The demo's passwords are hashed again with the fast hasher the suite puts first
    (tests/conftest.py): every case signs in, and Argon2 is slow on purpose."""
    with django_db_blocker.unblock(), transaction.atomic():
        list(build_demo(bulletins=True))
        with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
            for user in get_user_model().objects.filter(username__in=[role for role in fuzz.ROLES if role]):
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
        with fuzz.in_process_application() as app:
            schema = fuzz.load_schema(app)
        yield FuzzWorld(schema, fuzz.DemoValues())
        transaction.set_rollback(True)


def signed_in(role: str | None) -> Client:
    """A test client sending the role's credentials as HTTP Basic, as API clients do."""
    client = Client(raise_request_exception=False)
    if role:
        client.defaults.update({f"HTTP_{name.upper()}": value for name, value in fuzz.basic_auth(role).items()})
    return client


# --- the fuzzing -------------------------------------------------------------------------------


@pytest.mark.parametrize("label", OPERATIONS)
def test_operation_as_every_role(fuzz_world, label):
    """No 500, every answer as documented, invalid input refused, nothing outside the scope."""
    from axes.models import AccessAttempt

    operation = fuzz_world.operation(label)
    cases, findings = 0, []
    with fuzz.in_process_application() as app:
        for role in fuzz.ROLES:
            tally = fuzz.fuzz_operation(operation, role, app, fuzz_world.values, fuzz.budget(label, CASES, LONG))
            cases += tally.cases
            findings += tally.findings
    assert cases > 0
    new = [finding for finding in findings if fuzz.known_bug(finding) is None]
    assert not new, f"{len(new)} findings in {cases} cases:\n" + fuzz.describe(new)
    # Every case was rolled back: nothing written, no failed login counted.
    assert not AccessAttempt.objects.exists()


def test_every_api_route_is_in_the_schema(fuzz_world):
    """Exclude nothing silently: each route under /api/v1/ and each method it answers is an
    operation of the schema, so the fuzz test above sends it requests."""

    def routes(patterns, prefix=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from routes(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                yield prefix + str(entry.pattern), entry.callback

    in_schema = set()
    for label in OPERATIONS:
        method, path = label.split(" ", 1)
        in_schema.add((route_of(path).func, method.lower()))

    missing = []
    for route, callback in routes(get_resolver().url_patterns):
        if not route.startswith("api/v1/") or getattr(callback, "cls", None) is None:
            continue
        if callback.cls.__name__ == "APIRootView":
            continue  # the browsable API root: links to the resources, the same to everyone
        actions = getattr(callback, "actions", None)
        # DRF answers HEAD as GET (and adds it to a viewset's actions at its first request).
        methods = (set(actions) if actions else {m for m in callback.cls.http_method_names
                                                 if hasattr(callback.cls, m)}) - {"options", "head"}
        missing += [f"{method.upper()} {route}" for method in methods if (callback, method) not in in_schema]
    assert not missing, missing


def route_of(path: str):
    """The route a schema path is served by: its parameters filled with values the route's
    patterns accept (digits for ids, letters for codes, languages and extensions)."""
    names = re.findall(r"\{([a-z_]+)\}", path)
    for values in itertools.product(("1", "a", "en", "pdf"), repeat=len(names)):
        concrete = path
        for name, value in zip(names, values, strict=True):
            concrete = concrete.replace("{" + name + "}", value)
        try:
            return resolve(concrete)
        except Resolver404:
            continue
    raise AssertionError(f"no route serves {path}")


def test_the_scope_check_catches_a_row_outside_the_scope(fuzz_world):
    """The custom check is not vacuous: an answer to the enterprise user holding another
    enterprise, or any organisation for the public, fails it; their own passes."""
    operation = fuzz_world.operation("GET /api/v1/organisations/")
    case = operation.Case(query={})

    def answer(*keys):
        body = json.dumps({"count": len(keys), "results": [{"key": key} for key in keys]})
        return Response(status_code=200, headers={"content-type": ["application/json"]}, content=body.encode(),
                        request=requests.Request("GET", "http://localhost/api/v1/organisations/").prepare(),
                        elapsed=0.0, verify=False)

    zhongkeyi = get_user_model().objects.get(username="zhongkeyi")
    check = fuzz.scope_check(zhongkeyi, fuzz_world.values)
    check(None, answer("zhongkeyi-nantong"), case)
    with pytest.raises(AssertionError, match="outside their scope"):
        check(None, answer("zhongkeyi-nantong", "hengli-nantong-industrial-park"), case)
    with pytest.raises(AssertionError, match="outside their scope"):
        fuzz.scope_check(None, fuzz_world.values)(None, answer("zhongkeyi-nantong"), case)
    # …and it knows which rows an answer carries.
    assert fuzz.rows_collection("GET /api/v1/auth/grants/{id}/") == "grants"
    assert fuzz.rows_collection("POST /api/v1/projects/{key}/outcomes/") == "outcomes"
    assert fuzz.rows_collection("GET /api/v1/calls/{key}/ranking/") == "ranking"
    assert fuzz.rows_collection("POST /api/v1/observations/{id}/approve/") == "observations"
    assert fuzz.rows_collection("GET /api/v1/indicators/table/") is None
    assert fuzz.path_collection("/api/v1/projects/{key}/reports/{report_id}/submit/", "report_id") == "report_id"


def test_every_known_bug_has_its_regression_test():
    names = {bug.test for bug in fuzz.KNOWN_BUGS}
    assert names <= set(globals()), names - set(globals())


# --- what the drill found: one regression test per bug (xfail until fixed) ----------------------


def test_percent_sign_in_a_lookup_filter_is_refused(fuzz_world):
    """Found by the drill, fixed: a `%` in the value of a lookup filter (?sector=%Y, ?region=%s) is
    a 500: LookupField.clean (kechuang/registry/filters.py) puts the value into the
    ValidationError's message, which django-filter formats with `%`."""
    client = signed_in("bureau")
    for url in ("/api/v1/organisations/?sector=%25Y-%25m-%25d", "/api/v1/locations/?region=%25s",
                "/api/v1/observations/?metric=100%25", "/api/v1/projects/?region=%25(x)s"):
        response = client.get(url)
        assert response.status_code == 400, (url, response.status_code)
        assert "%" in response.content.decode()


def test_every_operation_documents_its_error_statuses():
    """Found by the drill: most refusals (400, 401, 403, 404 …) were answered but not
    documented (kechuang/schema.py adds them)."""
    undocumented = {}
    for path, methods in generated_schema()["paths"].items():
        for method, operation in methods.items():
            expected = {"401", "403", "404", "429", "503"}
            if "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", [])):
                expected.add("400")
            if "requestBody" in operation:
                expected.add("415")
            missing = expected - set(operation["responses"])
            if missing:
                undocumented[f"{method.upper()} {path}"] = sorted(missing)
    assert not undocumented, f"{len(undocumented)} operations, e.g. {list(undocumented.items())[:3]}"


def test_unrouted_api_url_is_answered_in_json(fuzz_world):
    """Found by the drill, fixed: a URL under /api/ that no route matches (/api/v1/bulletins/x/) is
    answered with Django's HTML 404 page, not JSON as every other API error."""
    client = signed_in(None)
    for url in ("/api/v1/bulletins/x/", "/api/v1/locations/abc/", "/api/v1/bulletins/1/versions/x/",
                "/api/v1/no-such-resource/"):
        response = client.get(url)
        assert response.status_code == 404
        assert response["Content-Type"].startswith("application/json"), (url, response["Content-Type"])


#: The read-only fields that hold null for some rows but that the schema does not mark
#: nullable (component, property), as the fuzzer met them.
NULLABLE = [
    ("Template", "updated_by"), ("TemplateDetail", "updated_by"), ("Version", "published_by"),
    ("VersionDetail", "published_by"), ("Designation", "replaces"), ("Step", "by"), ("ReReview", "by"),
    ("Indicator", "official_metric"), ("Indicator", "source"), ("Measure", "metric"), ("Metric", "part_of"),
    ("DataLock", "locked_by"), ("DataLock", "unlocked_by"), ("Observation", "entered_by"),
    ("Observation", "reviewed_by"), ("LocationSummary", "within"),
]


def test_nullable_read_only_fields_are_documented():
    """Found by the drill, fixed: read-only related fields that are null for some rows
    (SlugRelatedField(read_only=True) on a nullable foreign key) are not marked nullable in the
    schema: response_schema_conformance fails."""
    components = generated_schema()["components"]["schemas"]
    not_nullable = []
    for component, name in NULLABLE:
        field = components[component]["properties"][name]
        if not (field.get("nullable") or {"type": "null"} in field.get("oneOf", []) + field.get("anyOf", [])):
            not_nullable.append(f"{component}.{name}")
    assert not not_nullable, not_nullable


def test_data_lock_documents_approved_as_optional(fuzz_world):
    """Found by the drill, fixed: dataLock's `approved` is documented as always in the answer (read-
    only, so required) but is there only on creation (kechuang/statistics/api.py,
    DataLockSerializer)."""
    lock = generated_schema()["components"]["schemas"]["DataLock"]
    assert "approved" not in lock.get("required", []) or lock["properties"]["approved"].get("nullable")
    # …and as documented: a lock read back says null, not nothing.
    response = signed_in("bureau").get(f"/api/v1/locks/{fuzz_world.values.all('locks')[0]}/")
    assert response.status_code == 200
    assert "approved" in response.json() or "approved" not in lock.get("required", [])


def test_list_answers_are_documented_as_lists():
    """Found by the drill, fixed: two answers that are lists are documented as one object (GET
    observations/{id}/versions/) or as a page (GET calls/{key}/ranking/)."""
    paths = generated_schema()["paths"]
    shapes = {path: paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
              for path in ("/api/v1/observations/{id}/versions/", "/api/v1/calls/{key}/ranking/")}
    assert all(shape.get("type") == "array" for shape in shapes.values()), shapes


def test_spreadsheet_downloads_document_their_content_types():
    """Found by the drill, fixed: spreadsheet downloads are documented as application/octet-stream
    but answered as xlsx (application/vnd.openxmlformats-…sheet) or text/csv."""
    paths = generated_schema()["paths"]
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    wrong = {}
    for path in ("/api/v1/observations/export/", "/api/v1/projects/export/", "/api/v1/completeness/"):
        documented = set(paths[path]["get"]["responses"]["200"]["content"])
        if not {xlsx, "text/csv"} <= documented:
            wrong[path] = sorted(documented)
    assert not wrong, wrong


def test_designation_import_documents_its_refusals(fuzz_world):
    """Found by the drill, fixed: pOST designation-imports/ documents its 400 as an object with
    `file` and `import`, but answers every refusal as the field's errors ({"type": […]}, {"file":
    […]})."""
    with fuzz.in_process_application() as app:
        operation = fuzz_world.operation("POST /api/v1/designation-imports/")
        case = operation.Case(body={"type": "no-such-type", "level": "national", "file": b"x"},
                              media_type="multipart/form-data")
        response = case.call(app=app, headers=fuzz.basic_auth("bureau"))
        assert response.status_code == 400
        case.validate_response(response, checks=[response_schema_conformance])


def test_project_transitions_document_a_comment_body():
    """Found by the drill, fixed: the project transitions (POST projects/{key}/approve/, submit/, …)
    document the whole project as their body, not the comment they read: action() overwrites the
    extend_schema set before it (programs/api.py, _transition_action)."""
    schema = generated_schema()
    wrong = []
    for name in ("approve", "complete", "reject", "return", "start", "start_review", "submit", "terminate",
                 "withdraw"):
        body = schema["paths"][f"/api/v1/projects/{{key}}/{name}/"]["post"]["requestBody"]["content"]
        component = body["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        fields = set(schema["components"]["schemas"][component]["properties"])
        if fields != {"comment"}:
            wrong.append(f"{name}: {component} {sorted(fields)[:4]}")
    assert not wrong, wrong


def test_put_documents_the_key_as_optional():
    """Found by the drill, fixed: the schema requires the row's key (code, key) in the body of a PUT
    to sources, sectors, regions and organisations, but the API takes it from the URL and accepts a
    body without it (RegistrySerializer.stable_key)."""
    schema = generated_schema()
    required = {}
    for path, key in (("/api/v1/sources/{key}/", "key"), ("/api/v1/sectors/{code}/", "code"),
                      ("/api/v1/regions/{code}/", "code"), ("/api/v1/organisations/{key}/", "key")):
        body = schema["paths"][path]["put"]["requestBody"]["content"]["application/json"]["schema"]
        component = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
        if key in component.get("required", []):
            required[path] = key
    assert not required, required


def test_invalid_page_size_is_refused(fuzz_world):
    """Found by the drill, fixed: a page size that is not a positive integer (?page_size=abc,
    ?page_size=0) is ignored instead of refused (kechuang/api.py, Pagination)."""
    client = signed_in(None)
    for query in ("page_size=abc", "page_size=0", "page_size=-3", "page_size=1.5"):
        response = client.get(f"/api/v1/sources/?{query}")
        assert response.status_code == 400, (query, response.status_code)


def test_boolean_filters_refuse_other_values(fuzz_world):
    """Found by the drill, fixed: gET designation-types/?built_in=maybe lists every type: the filter
    is django-filter's lenient BooleanFilter (filterset_fields), not the TrueFalseFilter the other
    lists use."""
    response = signed_in(None).get("/api/v1/designation-types/?built_in=maybe")
    assert response.status_code == 400


def test_cultivation_pool_is_documented_as_one_object():
    """Found by the drill, fixed: gET screening/ (the cultivation pool) is documented as a list of
    pools, but answers one pool (a page with the rule set and the region): drf-spectacular documents
    a `list` action as a list."""
    answer = generated_schema()["paths"]["/api/v1/screening/"]["get"]["responses"]["200"]["content"]
    assert answer["application/json"]["schema"].get("type") != "array"


def test_ranking_documents_a_mean_total_of_null():
    """Found by the drill, fixed: gET calls/{key}/ranking/ answers mean_total null for a project no
    review has scored yet, but documents it as never null."""
    ranked = generated_schema()["components"]["schemas"]["RankedProject"]["properties"]["mean_total"]
    assert ranked.get("nullable")


def test_call_dates_are_refused_outside_a_plausible_range(fuzz_world):
    """Found by the drill, fixed: a call may open or close in any year (1703); one before 1901 is
    answered with Asia/Shanghai's local mean time offset (+08:05:43), which is not an RFC 3339 date-
    time (programs/api.py, CallSerializer)."""
    body = {"key": "fuzz-call-1703", "programme_zh": "测试", "region": "320612", "categories": ["测试"],
            "opens": "1703-11-15T12:00:00+08:00", "closes": "1703-12-15T12:00:00+08:00"}
    response = signed_in("bureau").post("/api/v1/calls/", data=body, content_type="application/json")
    assert response.status_code == 400, response.content


def test_transition_refuses_a_body_that_is_not_an_object(fuzz_world):
    """Found by the drill, fixed: the project transitions read their comment with text_of
    (programs/api.py), which takes a body that is not an object (a list) for an empty one and goes
    on."""
    from kechuang.programs.models import Project

    project = Project.objects.filter(state="under_review").values_list("key", flat=True).first()
    response = signed_in("bureau").post(f"/api/v1/projects/{project}/approve/", data="[[], {}]",
                                        content_type="application/json")
    assert response.status_code == 400, response.status_code


def test_registry_writes_do_not_drop_aliases_sent_as_a_form(fuzz_world):
    """Found by the drill, fixed: registry writes take multipart and urlencoded bodies (documented
    in the schema), but a form cannot carry the nested `aliases`, which DRF then drops without a
    word: the write succeeds without them."""
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

    body = encode_multipart(BOUNDARY, {"aliases": json.dumps([{"name": "x" * 5000, "kind": "former"}])})
    response = signed_in("bureau").patch("/api/v1/organisations/zhongkeyi-nantong/", data=body,
                                         content_type=MULTIPART_CONTENT)
    assert response.status_code in (400, 415), response.status_code
