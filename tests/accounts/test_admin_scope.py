"""The admin through the same rules: a bureau admin given admin access sees and changes
their district only; the trail of every table is the superuser's; a change form opened
before someone else's save is refused instead of silently overwriting it."""

import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from kechuang.accounts.models import Role
from kechuang.accounts.services import grant_role
from kechuang.audit.admin import VersionedModelForm
from kechuang.registry import services
from kechuang.registry.models import Location, Milestone, Organisation

from .test_matrix import ORGANISATIONS, TONGZHOU, world  # noqa: F401  (the matrix's world)

pytestmark = pytest.mark.django_db


class FormFields(HTMLParser):
    """The values a browser would submit from the page's main form."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file"):
            if attrs.get("type") == "checkbox":
                if "checked" in attrs:
                    self.values[name] = attrs.get("value", "on")
            else:
                self.values[name] = attrs.get("value") or ""
        elif tag == "select" and name:
            self._select = name
            self.values.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self.values[self._select] = attrs.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = ""

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data.removeprefix("\n")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_of(client, url) -> dict[str, str]:
    response = client.get(url)
    assert response.status_code == 200, url
    parser = FormFields()
    parser.feed(response.content.decode())
    parser.values.pop("csrfmiddlewaretoken", None)
    return parser.values


@pytest.fixture
def bureau_staff(world, django_user_model):  # noqa: F811
    user = django_user_model.objects.get(username="bureau")
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


def change_url(org_key: str) -> str:
    return f"/admin/registry/organisation/{Organisation.objects.get(key=org_key).pk}/change/"


def test_a_bureau_admin_sees_their_district_in_the_admin(bureau_staff):
    html = bureau_staff.get("/admin/registry/organisation/").content.decode()
    listed = {key for key in ORGANISATIONS if f">{key}<" in html}
    assert listed == {"zone", "park", "tenant", "firm"}
    # A row outside the scope is answered as a row that does not exist.
    response = bureau_staff.get(change_url("elsewhere"))
    assert response.status_code == 302 and response.url == "/admin/"
    assert bureau_staff.get("/admin/registry/milestone/").content.decode().count("/change/") == 4


def test_a_bureau_admin_cannot_read_the_whole_trail(bureau_staff):
    assert bureau_staff.get("/admin/registry/historicalorganisation/").status_code == 403


def test_a_bureau_admin_cannot_add_an_organisation_in_the_admin(bureau_staff):
    """Organisations are registered with their location (API, workspace)."""
    assert bureau_staff.get("/admin/registry/organisation/add/").status_code == 403


def test_a_full_change_form_with_its_inlines_saves(bureau_staff):
    fields = form_of(bureau_staff, change_url("tenant"))
    assert fields["row_version"]
    fields["description_en"] = "Makes pumps"
    fields["milestones-0-text_en"] = "founded in Tongzhou"
    response = bureau_staff.post(change_url("tenant"), fields)
    assert response.status_code == 302, re.findall(r"errorlist.{0,300}", response.content.decode())
    assert Organisation.objects.get(key="tenant").description_en == "Makes pumps"
    assert Milestone.objects.get(organisation__key="tenant").text_en == "founded in Tongzhou"


def test_an_inline_cannot_move_a_firm_out_of_scope(bureau_staff, world):  # noqa: F811
    fields = form_of(bureau_staff, change_url("firm"))
    # The region is an autocomplete: any code can be posted, so the rule must hold on save.
    outside = world["elsewhere"].current_location.region
    fields["locations-0-region"] = str(outside.pk)
    response = bureau_staff.post(change_url("firm"), fields)
    assert response.status_code == 403
    assert Location.objects.get(organisation__key="firm").region.code == TONGZHOU


def test_a_stale_change_form_is_refused(bureau_staff):
    fields = form_of(bureau_staff, change_url("tenant"))
    services.save_organisation("tenant", description_en="changed by a colleague meanwhile")
    fields["description_en"] = "my change"
    response = bureau_staff.post(change_url("tenant"), fields)
    assert response.status_code == 200
    assert "changed by someone else" in response.content.decode()
    assert Organisation.objects.get(key="tenant").description_en == "changed by a colleague meanwhile"
    # Reloaded, the same change goes through.
    fields = form_of(bureau_staff, change_url("tenant"))
    fields["description_en"] = "my change"
    assert bureau_staff.post(change_url("tenant"), fields).status_code == 302
    assert Organisation.objects.get(key="tenant").description_en == "my change"


def test_a_change_form_without_a_version_is_refused(bureau_staff):
    fields = form_of(bureau_staff, change_url("tenant"))
    del fields["row_version"]
    fields["description_en"] = "my change"
    response = bureau_staff.post(change_url("tenant"), fields)
    assert response.status_code == 200 and VersionedModelForm.STALE[:40] in response.content.decode()


def test_grants_in_the_admin_are_those_the_bureau_may_manage(bureau_staff, django_user_model, world):  # noqa: F811
    outsider = django_user_model.objects.create_user("outsider")
    grant_role(outsider, Role.ENTERPRISE_USER, by=None, organisation=world["elsewhere"])
    html = bureau_staff.get("/admin/accounts/grant/").content.decode()
    assert "outsider" not in html
    assert "park_manager" in html or "park or zone manager" in html


def test_the_statistics_in_the_admin_follow_the_same_rules(bureau_staff, django_user_model):
    import datetime as dt

    from kechuang.statistics.services import record_observation

    for key in ("firm", "elsewhere"):
        record_observation(Organisation.objects.get(key=key), "employees", "2023-06", 10, today=dt.date(2024, 1, 1))
    html = bureau_staff.get("/admin/statistics/observation/").content.decode()
    assert "Matrix firm works" in html and "Matrix elsewhere works" not in html
    assert bureau_staff.get("/admin/statistics/metric/").status_code == 200
    assert bureau_staff.get("/admin/statistics/importjob/").status_code == 403
    admin_user = django_user_model.objects.create_superuser("root", password="pw-root-123")
    root = Client()
    root.force_login(admin_user)
    for page in ("observation", "metric", "datalock", "importjob"):
        assert root.get(f"/admin/statistics/{page}/").status_code == 200, page
