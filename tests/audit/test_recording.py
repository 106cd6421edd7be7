"""What the audit trail records: every create, change and delete of registry data,
with who, when, the values, and the interface it came through, bulk writes included."""

import datetime as dt
import importlib
import io
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.test import RequestFactory
from simple_history.utils import get_history_model_for_model

from kechuang import audit
from kechuang.audit.middleware import AuditMiddleware, interface_for_path
from kechuang.registry import services
from kechuang.registry.divisions import load_divisions
from kechuang.registry.models import Alias, Location, Milestone, Organisation, Region, RegionLink, Source
from kechuang.world.loader import load_world

from .conftest import TONGZHOU_FILE, assert_history_matches_the_tables, history_count, latest, records

pytestmark = pytest.mark.django_db


def region(code, level, name_zh, parent=None, **fields):
    return services.save_region(code, level=level, name_zh=name_zh, name_en=name_zh, parent=parent, **fields)[0]


def organisation(key, **fields):
    fields = {"kind": "enterprise", "name_en": key.title(), **fields}
    return services.save_organisation(key, **fields)[0]


# --- the interface --------------------------------------------------------------------


@pytest.mark.parametrize("path, expected", [
    ("/api/v1/organisations/", "api"),
    ("/api/", "api"),
    ("/admin/registry/region/1/change/", "admin"),
    ("/", "web"),
    ("/organisations/zhongkeyi-nantong/", "web"),
    ("/apiary/", "web"),
    ("/administration/", "web"),
])
def test_the_interface_of_a_request_follows_its_path(path, expected):
    assert interface_for_path(path) == expected


def test_a_change_made_while_answering_a_request_records_its_user_and_interface(operator):
    for path, expected in (("/organisations/", "web"), ("/api/v1/sectors/", "api"), ("/admin/x/", "admin")):
        code = f"sector-{expected}"

        def view(request, code=code):
            return services.save_sector(code, name_zh="泵", name_en="Pumps")[0]

        request = RequestFactory().post(path)
        request.user = operator
        (record,) = records(AuditMiddleware(view)(request))
        assert (record.history_type, record.history_interface, record.history_user) == ("+", expected, operator)
        assert record.history_change_reason is None
    # Outside the request, the request's interface and user are gone.
    assert (audit.current().interface, audit.current().user) == ("cli", None)


def test_an_anonymous_request_records_no_user():
    request = RequestFactory().post("/api/v1/sectors/")
    request.user = AnonymousUser()
    sector = AuditMiddleware(lambda request: services.save_sector("pumps", name_zh="泵", name_en="Pumps")[0])(request)
    assert (latest(sector).history_interface, latest(sector).history_user) == ("api", None)


def test_a_service_called_inside_the_cli_context_records_cli_with_the_os_context():
    with audit.interface("cli"):
        sector, _ = services.save_sector("pumps", name_zh="泵", name_en="Pumps")
    record = latest(sector)
    assert (record.history_type, record.history_interface, record.history_user) == ("+", "cli", None)
    assert "OS user" in record.history_change_reason


def test_the_cli_context_can_name_the_user_it_acts_for(operator):
    with audit.interface("cli", user=operator, reason="fixing a typo, ticket 12"):
        sector, _ = services.save_sector("pumps", name_zh="泵", name_en="Pumps")
    record = latest(sector)
    assert (record.history_user, record.history_change_reason) == (operator, "fixing a typo, ticket 12")


def test_an_unknown_interface_is_refused():
    with pytest.raises(ValueError, match="not an interface"):
        with audit.interface("email"):
            pass


def test_an_import_inside_a_request_keeps_the_request_interface(operator):
    def view(request):
        with audit.importing("world file upload.yaml"):
            return services.save_sector("pumps", name_zh="泵", name_en="Pumps")[0]

    request = RequestFactory().post("/api/v1/imports/")
    request.user = operator
    record = latest(AuditMiddleware(view)(request))
    assert (record.history_interface, record.history_user, record.history_change_reason) == (
        "api", operator, "world file upload.yaml")


def test_an_import_run_from_the_command_line_counts_as_import():
    with audit.interface("cli"), audit.importing("world file a.yaml"):
        assert audit.current().interface == "import"
        assert audit.current().reason.startswith("world file a.yaml; ")
    assert audit.current().interface == "cli"


# --- create, change, delete -----------------------------------------------------------


def test_create_change_and_delete_are_recorded_with_the_values_before_and_after():
    with audit.interface("cli"):
        source, _ = services.save_source("article", title="Tongzhou strides")
        services.save_source("article", title="Tongzhou makes great strides")
        services.save_source("article", title="Tongzhou makes great strides")  # unchanged: no record
        source_id = source.pk
        Source.objects.get(pk=source_id).delete()
    history = get_history_model_for_model(Source).objects.filter(id=source_id).order_by("history_date", "history_id")
    assert [record.history_type for record in history] == ["+", "~", "-"]
    created, changed, deleted = history
    delta = changed.diff_against(created)
    assert [(c.field, c.old, c.new) for c in delta.changes] == [
        ("title", "Tongzhou strides", "Tongzhou makes great strides")]
    assert deleted.title == "Tongzhou makes great strides"
    assert {record.history_interface for record in history} == {"cli"}


def test_an_organisation_and_its_sectors_are_one_record_per_save(sector):
    org = organisation("zhongkeyi", sectors=["new-materials"])
    (created,) = records(org)
    assert created.history_type == "+"
    assert list(created.sectors.values_list("sector_id", flat=True)) == [sector.pk]
    services.save_sector("pumps", name_zh="泵", name_en="Pumps")
    organisation("zhongkeyi", sectors=["pumps"], name_zh="中科仪")
    created, changed = records(org)
    assert changed.history_type == "~"
    assert changed.name_zh == "中科仪"
    assert [row.sector.code for row in changed.sectors.all()] == ["pumps"]
    changes = {change.field: (change.old, change.new) for change in changed.diff_against(created).changes}
    assert changes["name_zh"] == ("", "中科仪")
    assert "sectors" in changes


def test_search_text_is_not_recorded_but_names_and_aliases_are():
    org = organisation("zhongkeyi", aliases=[{"name": "中科仪"}])
    history = get_history_model_for_model(Organisation)
    assert "search_text" not in {field.name for field in history._meta.fields}
    alias = Alias.objects.get(organisation=org)
    assert [record.history_type for record in records(alias)] == ["+"]
    organisation("zhongkeyi", aliases=[])
    deleted = get_history_model_for_model(Alias).objects.get(id=alias.pk, history_type="-")
    assert deleted.name == "中科仪"
    # Only the alias changed: the organisation's own row has no second record.
    assert [record.history_type for record in records(org)] == ["+"]


def test_deleting_an_organisation_records_the_deletion_of_its_rows():
    tongzhou = region("320612", "district", "通州区")
    org = organisation("zhongkeyi")
    location = services.move_organisation(org, tongzhou, since=dt.date(2020, 1, 1))
    org_id = org.pk
    org.delete()
    assert get_history_model_for_model(Organisation).objects.filter(id=org_id, history_type="-").exists()
    assert get_history_model_for_model(Location).objects.filter(id=location.pk, history_type="-").exists()


def test_a_move_ends_the_old_location_with_a_recorded_change():
    tongzhou = region("320612", "district", "通州区")
    org = organisation("zhongkeyi")
    first = services.move_organisation(org, tongzhou, since=dt.date(2020, 1, 1))
    services.move_organisation(org, tongzhou, since=dt.date(2022, 1, 1), address="1 Road")
    created, ended = records(first)
    assert (ended.history_type, created.valid_to, ended.valid_to) == ("~", None, dt.date(2022, 1, 1))


# --- bulk writes --------------------------------------------------------------------


def test_moving_a_region_records_the_new_path_of_every_region_below_it():
    with audit.interface("cli"):
        jiangsu = region("320000", "province", "江苏省")
        beijing = region("110000", "province", "北京市")
        nantong = region("320600", "city", "南通市", jiangsu)
        tongzhou = region("320612", "district", "通州区", nantong)
        town = region("320612001", "town", "金沙街道", tongzhou)
        services.save_region("320600", level="city", name_zh="南通市", name_en="南通市", parent=beijing,
                             moved_on=dt.date(2024, 1, 1))
    for row, path in ((tongzhou, "110000/320600/320612/"), (town, "110000/320600/320612/320612001/")):
        before, after = records(row)[-2:]
        assert (after.history_type, after.path, before.path) == ("~", path, path.replace("110000", "320000"))
        assert after.history_interface == "cli"
    old_links = RegionLink.objects.filter(region__in=[nantong, tongzhou, town], valid_to=dt.date(2024, 1, 1))
    assert old_links.count() == 3
    for link in old_links:
        assert [(r.history_type, r.valid_to) for r in records(link)] == [("+", None), ("~", dt.date(2024, 1, 1))]
    for link in RegionLink.objects.filter(region__in=[nantong, tongzhou, town], valid_to__isnull=True):
        assert [r.history_type for r in records(link)] == ["+"]
    assert_history_matches_the_tables()


def test_a_new_source_of_a_region_is_recorded_on_its_open_link():
    source, _ = services.save_source("gov", title="Government page")
    jiangsu = region("320000", "province", "江苏省")
    region("320000", "province", "江苏省", source=source)
    link = RegionLink.objects.get(region=jiangsu)
    assert [(r.history_type, r.source_id) for r in records(link)] == [("+", None), ("~", source.pk)]


def test_the_division_import_records_every_region_and_link_as_an_import():
    out = io.StringIO()
    call_command("load-divisions", "--province", "32", "--towns", "320612", stdout=out)
    regions = Region.objects.count()
    assert regions > 100
    history = get_history_model_for_model(Region).objects.all()
    assert history.count() == regions + 1  # and the successor set on 320683 (通州市) once its successor exists
    assert set(history.values_list("history_interface", flat=True)) == {"import"}
    assert set(history.values_list("history_user", flat=True)) == {None}
    reason = history.first().history_change_reason
    assert reason.startswith("division list ") and "OS user" in reason
    links = get_history_model_for_model(RegionLink).objects.all()
    assert links.count() == RegionLink.objects.count()
    assert set(links.values_list("history_type", flat=True)) == {"+"}
    abolished = Region.objects.get(code="320683")
    assert [(r.history_type, r.successor_id) for r in records(abolished)] == [
        ("+", None), ("~", Region.objects.get(code="320612").pk)]
    assert_history_matches_the_tables()

    before = history_count()
    load_divisions(provinces=["32"], towns=["320612"])
    assert history_count() == before, "a second load writes nothing, so records nothing"


def test_an_amended_division_is_recorded_as_a_change(divisions):
    Region.objects.filter(code="320612").update(name_zh="通州")  # as if the list had said so before
    load_divisions(towns=["3206"], provinces=["32", "11"])
    tongzhou = Region.objects.get(code="320612")
    last = latest(tongzhou)
    assert (last.history_type, last.history_interface, last.name_zh) == ("~", "import", "通州区")


def test_a_world_file_load_records_every_row_including_the_bulk_inserted_ones():
    out = io.StringIO()
    call_command("load", str(TONGZHOU_FILE), stdout=out)
    assert Location.objects.exists()
    for model in (Organisation, Location, Region, Source):
        history = get_history_model_for_model(model).objects.all()
        assert history.count() == model.objects.count() > 0, model
        assert set(history.values_list("history_interface", flat=True)) == {"import"}, model
        assert all(reason.startswith(f"world file {TONGZHOU_FILE}") for reason in
                   history.values_list("history_change_reason", flat=True)), model
    assert_history_matches_the_tables()

    before = history_count()
    call_command("load", str(TONGZHOU_FILE), stdout=out)
    assert history_count() == before, "an unchanged reload records nothing"


def test_a_world_file_load_from_code_counts_as_import(tongzhou):
    load_world(tongzhou)
    record = latest(Organisation.objects.get(key="zhongkeyi-nantong"))
    assert (record.history_interface, record.history_change_reason.split(";")[0]) == ("import", "world file")


def test_a_world_file_that_changes_child_lists_records_the_changes(tongzhou):
    load_world(tongzhou)
    firm = next(e for e in tongzhou["organisations"] if e["key"] == "zhongkeyi-nantong")
    firm["capacities"][0]["quantity"] = 14000
    firm["milestones"] = []
    load_world(tongzhou)
    assert_history_matches_the_tables()
    org = Organisation.objects.get(key="zhongkeyi-nantong")
    capacity = org.capacities.get()
    assert [(r.history_type, str(r.quantity)) for r in records(capacity)][-1] == ("~", "14000.0000")
    deleted = get_history_model_for_model(Milestone).objects.filter(organisation_id=org.pk, history_type="-")
    assert deleted.exists() and set(deleted.values_list("history_interface", flat=True)) == {"import"}


def test_the_demo_command_records_its_rows_as_imports():
    call_command("demo", stdout=io.StringIO())
    assert Region.objects.count() == 3485
    for model in (Region, RegionLink, Organisation, Location, Alias):
        history = get_history_model_for_model(model).objects.all()
        assert set(history.values_list("history_interface", flat=True)) == {"import"}, model
        assert history.filter(history_type="+").count() == model.objects.count(), model
    assert_history_matches_the_tables()


def test_populate_history_gives_rows_from_before_the_audit_trail_a_starting_point():
    source, _ = services.save_source("article", title="Tongzhou strides")
    source.history.all().delete()  # as if written before the history was installed
    call_command("populate_history", auto=True, stdout=io.StringIO(), stderr=io.StringIO())
    (record,) = records(source)
    assert (record.history_type, record.history_interface, record.title) == ("+", "cli", "Tongzhou strides")


def test_the_process_description_names_the_command_and_the_os_user():
    description = audit.context.process_description()
    assert description.startswith(Path(sys.argv[0]).name)
    assert "(OS user " in description and description.endswith(")")


def test_historical_models_can_be_imported_from_where_they_say_they_are():
    """`kechuang shell` imports every model by its module and name."""
    historical = [model for model in apps.get_app_config("registry").get_models() if model.__name__.startswith("Historical")]
    assert len(historical) == 13  # twelve tables and the organisations' sectors
    for model in historical:
        assert getattr(importlib.import_module(model.__module__), model.__name__) is model
