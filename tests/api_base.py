"""Checks every REST resource gets for free (after NetBox's `utilities/testing`).

A test class for a resource subclasses `ResourceAPITests` and supplies only its data:

    class TestPhases(ResourceAPITests):
        basename = "phase"                       # the router's basename
        def make(self, world, n): ...            # the n-th row, built through the services
        def create_payload(self, world): ...     # a valid POST body (in its rendered form)
        def update_payload(self, world): ...     # a valid PATCH body for a row from make()
        def bad_payloads(self, world): ...       # (change to the POST body, field named in the 400)

and receives: list, retrieve, 404, OPTIONS, the browsable API page, create, PUT of
what GET returned, PATCH, DELETE answered 405, anonymous writes and writes by a user
without a role refused, reads by the public open for reference tables (`public`) and
empty or 404 for every other table,
a table of bad inputs answered 400 naming the field, garbage in every field and every
query parameter never answered 500, and a list whose query count does not grow with
its length.

The module that defines the subclass provides a `world` fixture (the shared data the
payloads refer to); `operator_client` (a superuser) comes from tests/conftest.py. What
each role may do is tested in tests/accounts/test_matrix.py.
"""

import itertools
import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

#: Values a client might send in any field; none of them may produce a 500.
GARBAGE_VALUES = [
    None,
    "",
    "text\x00with a NUL",
    "\ud800",
    "x" * 5000,
    "通州区" * 400,
    10**30,
    -1,
    0,
    1.5,
    1e308,
    True,
    [],
    ["a"],
    [None],
    {"a": 1},
    "2023-13-45",
    "99999-01-01",
    "-1",
    "1e400",
    "NaN",
]

#: Request bodies that are not a JSON object.
GARBAGE_BODIES = [
    "{",
    "[]",
    "[{}]",
    '"text"',
    "42",
    "null",
    '{"a": NaN}',
    "{'single': 'quotes'}",
    "\x00",
    "[" * 100_000 + "]" * 100_000,
    '{"a": ' + "9" * 5000 + "}",
]

#: Query parameters every list must survive (answered 200 or 4xx, never 500).
GARBAGE_PARAMS = [
    {"page": "abc"},
    {"page": "0"},
    {"page": "-1"},
    {"page": "99999999999999999999999"},
    {"page": "\x00"},
    {"page_size": "-1"},
    {"page_size": "abc"},
    {"page_size": "100000"},
    {"ordering": "\x00"},
    {"ordering": "-nonexistent"},
    {"ordering": "password"},
    {"q": "\x00"},
    {"q": "x" * 5000},
    {"region": "\x00"},
    {"region": "999999"},
    {"region": "abc"},
    {"region": "9" * 200},
    {"organisation": "\x00"},
    {"organisation": "no-such-organisation"},
    {"within": "\x00"},
    {"sector": "\x00"},
    {"synthetic": "maybe"},
    {"on": "2023-13-45"},
    {"kind": "\x00"},
]


def serve_static_files_plainly(settings) -> None:
    """Tests run without collectstatic, so the manifest storage would find no manifest
    and fail every page that links a static file (the docs, the browsable API)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def send(client, method: str, url: str, data=None, *, raw: str | bytes | None = None):
    """A JSON request; `raw` sends the body exactly as given."""
    body = raw if raw is not None else json.dumps(data)
    return getattr(client, method)(url, data=body, content_type="application/json")


def errors_of(response) -> dict:
    """The field-level errors of a 400 (every 400 is a JSON object)."""
    assert response.status_code == 400, (response.status_code, response.content[:500])
    body = response.json()
    assert isinstance(body, dict), body
    return body


class ResourceAPITests:
    basename: str = ""
    #: The model attribute in the detail URL (id, key, code).
    lookup: str = "id"
    #: Fields whose value is shown differently from how it is written, or not shown
    #: (write-only), left out of the round-trip comparison.
    normalised: tuple[str, ...] = ()
    #: Reference data anyone may read (regions, sources, sectors); every other table
    #: is shown only within a role's scope, so the public sees none of it.
    public: bool = False

    # --- what a subclass supplies ----------------------------------------------------

    def make(self, world, n: int):
        raise NotImplementedError

    def create_payload(self, world) -> dict:
        raise NotImplementedError

    def update_payload(self, world) -> dict:
        raise NotImplementedError

    def bad_payloads(self, world) -> list[tuple[dict, str]]:
        return []

    # --- helpers ---------------------------------------------------------------------

    def list_url(self) -> str:
        return reverse(f"{self.basename}-list")

    def detail_url(self, row_or_key) -> str:
        key = row_or_key if isinstance(row_or_key, (str, int)) else getattr(row_or_key, self.lookup)
        return reverse(f"{self.basename}-detail", args=[key])

    @pytest.fixture
    def anonymous(self):
        return Client()

    @pytest.fixture
    def clerk(self, django_user_model):
        """A signed-in user who holds no role."""
        client = Client()
        client.force_login(django_user_model.objects.create_user("clerk", password="pw-clerk-123"))
        return client

    # --- reads -----------------------------------------------------------------------

    def listed_urls(self, client) -> list[str]:
        response = client.get(self.list_url())
        assert response.status_code == 200
        body = response.json()
        assert {"count", "next", "previous", "results"} <= body.keys()
        return [r["api_url"].removeprefix("http://testserver") for r in body["results"]]

    def test_list(self, world, operator_client):
        row = self.make(world, 1)
        assert self.detail_url(row) in self.listed_urls(operator_client)

    def test_retrieve(self, world, operator_client):
        row = self.make(world, 1)
        response = operator_client.get(self.detail_url(row))
        assert response.status_code == 200
        assert response.json()["api_url"].endswith(self.detail_url(row))

    def test_what_the_public_reads(self, world, anonymous, clerk):
        """Reference tables are open; the rest is not there for the public or for a
        signed-in user without a role: an empty list, and 404 as for a missing row."""
        row = self.make(world, 1)
        for client in (anonymous, clerk):
            if self.public:
                assert self.detail_url(row) in self.listed_urls(client)
                assert client.get(self.detail_url(row)).status_code == 200
            else:
                assert self.listed_urls(client) == []
                assert client.get(self.detail_url(row)).status_code == 404

    @pytest.mark.parametrize("unknown", ["999999999", "no-such-row", "9" * 40, "%00", "a.b"])
    def test_unknown_row_is_404(self, world, anonymous, unknown):
        url = self.list_url() + unknown + "/"
        assert anonymous.get(url).status_code == 404

    def test_list_query_count_does_not_grow_with_rows(self, world, operator_client):
        self.make(world, 1)
        self.make(world, 2)
        with CaptureQueriesContext(connection) as few:
            assert operator_client.get(self.list_url()).status_code == 200
        for n in range(3, 13):
            self.make(world, n)
        with CaptureQueriesContext(connection) as many:
            body = operator_client.get(self.list_url()).json()
        assert body["count"] >= 12
        assert len(many) == len(few), [q["sql"] for q in many.captured_queries]

    def test_garbage_query_parameters_never_500(self, world, anonymous, operator_client):
        self.make(world, 1)
        for params, client in itertools.product(GARBAGE_PARAMS, (anonymous, operator_client)):
            response = client.get(self.list_url(), params)
            assert response.status_code in (200, 400, 404), (params, response.content[:300])
            if response.status_code == 400:
                errors_of(response)

    # --- writes ----------------------------------------------------------------------

    def test_create(self, world, operator_client):
        payload = self.create_payload(world)
        response = send(operator_client, "post", self.list_url(), payload)
        assert response.status_code == 201, response.content
        created = response.json()
        for field, value in payload.items():
            if field not in self.normalised:
                assert created[field] == value, field
        assert operator_client.get(created["api_url"]).json() == created

    def test_put_back_what_get_returned(self, world, operator_client):
        """A representation is a valid PUT body: read-only fields are ignored."""
        row = self.make(world, 1)
        shown = operator_client.get(self.detail_url(row)).json()
        response = send(operator_client, "put", self.detail_url(row), shown)
        assert response.status_code == 200, response.content
        assert response.json() == shown

    def test_patch(self, world, operator_client):
        row = self.make(world, 1)
        change = self.update_payload(world)
        response = send(operator_client, "patch", self.detail_url(row), change)
        assert response.status_code == 200, response.content
        shown = operator_client.get(self.detail_url(row)).json()
        for field, value in change.items():
            if field not in self.normalised:
                assert shown[field] == value, field

    def test_options_describe_the_resource(self, world, operator_client):
        row = self.make(world, 1)
        assert operator_client.options(self.list_url()).status_code == 200
        assert operator_client.options(self.detail_url(row)).status_code == 200

    def test_browsable_api_renders(self, world, operator_client, anonymous, settings):
        serve_static_files_plainly(settings)
        row = self.make(world, 1)
        pages = [(operator_client, self.list_url()), (operator_client, self.detail_url(row)),
                 (anonymous, self.list_url())] + ([(anonymous, self.detail_url(row))] if self.public else [])
        for client, url in pages:
            response = client.get(url, HTTP_ACCEPT="text/html")
            assert response.status_code == 200 and b"<html" in response.content, url

    def test_delete_is_not_offered(self, world, operator_client):
        row = self.make(world, 1)
        assert operator_client.delete(self.detail_url(row)).status_code == 405
        assert operator_client.get(self.detail_url(row)).status_code == 200

    def test_anonymous_cannot_write(self, world, anonymous):
        row = self.make(world, 1)
        assert send(anonymous, "post", self.list_url(), self.create_payload(world)).status_code in (
            401,
            403,
        )
        assert send(
            anonymous, "patch", self.detail_url(row), self.update_payload(world)
        ).status_code in (401, 403)

    def test_a_user_without_a_role_cannot_write(self, world, clerk):
        row = self.make(world, 1)
        assert send(clerk, "post", self.list_url(), self.create_payload(world)).status_code == 403
        assert (
            send(clerk, "put", self.detail_url(row), self.create_payload(world)).status_code == 403
        )
        assert (
            send(clerk, "patch", self.detail_url(row), self.update_payload(world)).status_code
            == 403
        )

    # --- bad input -------------------------------------------------------------------

    def test_bad_inputs_are_400_naming_the_field(self, world, operator_client):
        for change, field in self.bad_payloads(world):
            payload = {**self.create_payload(world), **change}
            response = send(operator_client, "post", self.list_url(), payload)
            assert field in errors_of(response), (change, field, response.json())

    def test_nul_bytes_are_400_in_every_field(self, world, operator_client):
        for field in self.create_payload(world):
            payload = {**self.create_payload(world), field: "a\x00b"}
            assert field in errors_of(send(operator_client, "post", self.list_url(), payload)), field

    def test_empty_body_is_400(self, world, operator_client):
        assert errors_of(send(operator_client, "post", self.list_url(), {}))

    def test_garbage_bodies_are_400(self, world, operator_client):
        row = self.make(world, 1)
        for body in GARBAGE_BODIES:
            for method, url in (
                ("post", self.list_url()),
                ("put", self.detail_url(row)),
                ("patch", self.detail_url(row)),
            ):
                errors_of(send(operator_client, method, url, raw=body))

    def test_invalid_utf8_is_400(self, world, operator_client):
        errors_of(send(operator_client, "post", self.list_url(), raw=b'{"a": "\xff\xfe"}'))

    def test_garbage_in_any_field_never_500(self, world, operator_client):
        """Every value of GARBAGE_VALUES in every field, on create and on update: a
        400 with field-level errors, or accepted; never a server error."""
        row = self.make(world, 1)
        for field in self.create_payload(world):
            for value in GARBAGE_VALUES:
                for method, url in (("post", self.list_url()), ("patch", self.detail_url(row))):
                    payload = (
                        {**self.create_payload(world), field: value}
                        if method == "post"
                        else {field: value}
                    )
                    response = send(operator_client, method, url, payload)
                    assert response.status_code in (200, 201, 400), (
                        method,
                        field,
                        value,
                        response.content[:300],
                    )
                    if response.status_code == 400:
                        errors_of(response)
