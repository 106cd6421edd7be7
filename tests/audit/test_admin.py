"""The audit trail in the admin: each object's History page, read-only historical
tables, and no way to revert, add, change or delete history, superusers included."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse
from simple_history.utils import get_history_model_for_model

from kechuang import audit
from kechuang.audit.admin import row_version
from kechuang.registry import services
from kechuang.registry.models import Organisation, Sector
from kechuang.world.loader import load_world

from .conftest import AUDITED, latest, records

pytestmark = pytest.mark.django_db


@pytest.fixture
def sector(db):
    with audit.interface("cli"):
        return services.save_sector("pumps", name_zh="泵", name_en="Pumps")[0]


def change_in_admin(admin_client, sector, name_en):
    response = admin_client.post(reverse("admin:registry_sector_change", args=[sector.pk]),
                                 {"code": sector.code, "name_zh": sector.name_zh, "name_en": name_en,
                                  "row_version": row_version(Sector.objects.get(pk=sector.pk))})
    assert response.status_code == 302, response.content


def test_a_change_in_the_admin_is_recorded_with_its_user(admin_client, admin_user, sector):
    change_in_admin(admin_client, sector, "Vacuum pumps")
    created, changed = records(sector)
    assert (changed.history_type, changed.history_interface, changed.history_user) == ("~", "admin", admin_user)
    assert (created.name_en, changed.name_en) == ("Pumps", "Vacuum pumps")


def test_an_organisation_saved_in_the_admin_is_recorded_as_admin(admin_client, admin_user):
    response = admin_client.post(reverse("admin:registry_organisation_add"), {
        "key": "zhongkeyi", "kind": "enterprise", "name_en": "Zhongkeyi", "name_zh_verified": "on",
        **{f"{prefix}-{field}": value for prefix in ("aliases", "locations", "owners", "phases", "milestones",
                                                      "capacities", "contacts")
           for field, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))},
    })
    assert response.status_code == 302, response.content
    record = latest(Organisation.objects.get(key="zhongkeyi"))
    assert (record.history_type, record.history_interface, record.history_user) == ("+", "admin", admin_user)


def test_a_delete_in_the_admin_is_recorded(admin_client, admin_user, sector):
    response = admin_client.post(reverse("admin:registry_sector_delete", args=[sector.pk]), {"post": "yes"})
    assert response.status_code == 302
    deleted = get_history_model_for_model(Sector).objects.get(id=sector.pk, history_type="-")
    assert (deleted.history_interface, deleted.history_user, deleted.name_en) == ("admin", admin_user, "Pumps")


def test_the_history_page_shows_each_change_with_its_interface(admin_client, sector):
    change_in_admin(admin_client, sector, "Vacuum pumps")
    response = admin_client.get(reverse("admin:registry_sector_history", args=[sector.pk]))
    assert response.status_code == 200
    assert response.context["revert_disabled"] is True
    page = " ".join(response.content.decode().split())
    for shown in ("Pumps &nbsp;&rarr;&nbsp;&nbsp;Vacuum pumps", "<td>admin</td>", "<td>cli</td>", "(OS user",
                  '<a href="/admin/auth/user/'):
        assert shown in page, shown


def test_a_past_version_can_be_viewed_but_not_reverted(admin_client, sector):
    change_in_admin(admin_client, sector, "Vacuum pumps")
    first = records(sector)[0]
    url = reverse("admin:registry_sector_simple_history", args=[sector.pk, first.history_id])
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"code": "pumps", "name_zh": "泵", "name_en": "Pumps"})
    assert response.status_code == 403
    sector.refresh_from_db()
    assert sector.name_en == "Vacuum pumps"
    assert len(records(sector)) == 2


def test_every_audited_model_has_a_history_page(admin_client, sector):
    for model in AUDITED:
        registered = admin.site._registry.get(model)
        if registered is not None:  # RegionLink is shown inside its region
            assert hasattr(registered, "history_view"), model


def test_the_historical_tables_are_listed_read_only(admin_client, sector):
    url = reverse("admin:registry_historicalsector_changelist")
    response = admin_client.get(url)
    assert response.status_code == 200 and "pumps" in response.content.decode()
    response = admin_client.get(url, {"history_interface": "cli"})
    assert response.status_code == 200 and "pumps" in response.content.decode()


def test_no_one_may_add_change_or_delete_history_in_the_admin(admin_client, admin_user, sector):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    assert admin_user.is_superuser
    for model in AUDITED:
        history = get_history_model_for_model(model)
        model_admin = admin.site._registry[history]
        assert not model_admin.has_add_permission(request), model
        assert not model_admin.has_change_permission(request), model
        assert not model_admin.has_delete_permission(request), model
        assert model_admin.has_view_permission(request), model
    record = latest(sector)
    change = reverse("admin:registry_historicalsector_change", args=[record.history_id])
    assert admin_client.get(reverse("admin:registry_historicalsector_add")).status_code == 403
    assert admin_client.post(change, {"name_en": "Forged", "history_type": "-"}).status_code == 403
    assert admin_client.post(reverse("admin:registry_historicalsector_delete", args=[record.history_id]),
                             {"post": "yes"}).status_code == 403
    changelist = reverse("admin:registry_historicalsector_changelist")
    response = admin_client.post(changelist, {"action": "delete_selected", "_selected_action": [record.history_id],
                                              "post": "yes"})
    assert response.status_code in (200, 302)
    record.refresh_from_db()
    assert (record.name_en, record.history_type) == ("Pumps", "+")
    assert get_history_model_for_model(Sector).objects.count() == 1


def test_every_history_page_and_historical_table_renders(admin_client, tongzhou):
    load_world(tongzhou)
    services.save_organisation("zhongkeyi-nantong", sectors=[], name_en="Zhongkeyi")
    for model in AUDITED:
        history = get_history_model_for_model(model)
        info = history._meta.app_label, history._meta.model_name
        response = admin_client.get(reverse("admin:{}_{}_changelist".format(*info)))
        assert response.status_code == 200, model
        record = history.objects.first()
        assert admin_client.get(reverse("admin:{}_{}_change".format(*info), args=[record.history_id])
                                ).status_code == 200, model
        if model in admin.site._registry:
            row = model.objects.first()
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_history", args=[row.pk])
            assert admin_client.get(url).status_code == 200, model
    org = Organisation.objects.get(key="zhongkeyi-nantong")
    page = admin_client.get(reverse("admin:registry_organisation_history", args=[org.pk])).content.decode()
    assert "Zhongkeyi" in page and "Sectors" in page
