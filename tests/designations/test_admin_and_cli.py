"""The admin pages of the designations (scoped like everything else) and the command line:
`kechuang designations import | expiring | expire | queue | confirm`."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from kechuang.designations.models import Designation, DesignationImport, DesignationType, ImportCandidate
from tests.conftest import REAL_DATA

from .conftest import grant

pytestmark = pytest.mark.django_db
D = dt.date
REAL_LIST = REAL_DATA / "little-giants" / "nantong_national_little_giants_batch1_2.csv"


def command(*args) -> str:
    out = io.StringIO()
    call_command("designations", *args, stdout=out)
    return out.getvalue()


# --- admin -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", ["designationtype", "designation", "designationimport", "importcandidate",
                                   "historicaldesignation", "historicaldesignationtype"])
def test_the_admin_lists_every_designation_table(place, admin_client, table):
    grant(place)
    assert admin_client.get(f"/admin/designations/{table}/").status_code == 200


def test_the_admin_change_pages_load_and_a_designation_is_read_only(place, admin_client):
    designation = grant(place, publicised_on=D(2023, 5, 22))
    page = admin_client.get(f"/admin/designations/designation/{designation.pk}/change/").content.decode()
    assert "finalise" in page and "南通星河精密仪器有限公司" in page
    assert admin_client.get("/admin/designations/designation/add/").status_code == 403
    hnte = DesignationType.objects.get(code="hnte")
    assert admin_client.get(f"/admin/designations/designationtype/{hnte.pk}/change/").status_code == 200
    assert admin_client.get(f"/admin/designations/designation/{designation.pk}/history/").status_code == 200


def test_a_bureau_admin_defines_a_type_in_the_admin_through_the_same_checks(place, admin_client):
    page = "/admin/designations/designationtype/add/"
    form = {"code": "gazelle", "name_zh": "瞪羚企业", "name_en": "gazelle enterprise", "levels": '["city"]',
            "validity": "calendar_year", "validity_years": "3", "rule_versions": "[]"}
    refused = admin_client.post(page, form)
    assert refused.status_code == 200 and "only a validity of years" in refused.content.decode()
    assert admin_client.post(page, {**form, "validity_years": ""}).status_code == 302
    assert DesignationType.objects.get(code="gazelle").validity == "calendar_year"


def test_bureau_staff_see_the_designations_of_their_district_in_the_admin(place, django_user_model):
    grant(place, stage="publicity", publicised_on=D(2023, 5, 22))
    grant(place, firm="rival", stage="publicity", publicised_on=D(2023, 5, 22))
    place["bureau"].is_staff = True
    place["bureau"].save()
    client = Client()
    client.force_login(place["bureau"])
    page = client.get("/admin/designations/designation/").content.decode()
    assert "南通星河精密仪器有限公司" in page and "南通瑞丰智能装备有限公司" not in page


# --- the command line -----------------------------------------------------------------------------


def test_importing_the_real_list_as_a_dry_run_reports_every_row_unmatched(place):
    out = command("import", str(REAL_LIST), "--type", "little-giant", "--level", "national", "--region", "320600",
                  "--dry-run")
    assert out.count(": queued: no enterprise has this name") == 13
    assert "13 rows read: 0 would be granted or finalised, 0 already recorded, 13 would be queued" in out
    assert not ImportCandidate.objects.exists()
    assert DesignationImport.objects.get().status == "checked"


def test_importing_the_real_list_queues_it_for_review_and_a_row_is_confirmed_from_the_queue(place):
    out = command("import", str(REAL_LIST), "--type", "little-giant", "--region", "320600")
    assert "13 rows wait for review" in out
    queue = command("queue")
    assert "南通星球石墨设备有限公司" in queue and "13 rows wait for review" in queue
    first = ImportCandidate.objects.get(row=2)
    done = command("confirm", str(first.pk), "--create", "--date", "2019-06-01")
    assert "enterprise registered" in done and Designation.objects.get().batch == "1"
    last = ImportCandidate.objects.get(row=14)
    assert "dismissed" in command("confirm", str(last.pk), "--dismiss", "not checked yet")


def test_a_refused_import_exits_with_an_error_after_listing_the_rows(place, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("企业名称,统一社会信用代码\n南通某某公司,123\n", encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("designations", "import", str(path), "--type", "little-giant", "--region", "320612", stdout=out)
    assert "row 2, column 统一社会信用代码 [123]" in out.getvalue()
    with pytest.raises(CommandError, match="type: 'giant' is not a designation type"):
        call_command("designations", "import", str(path), "--type", "giant", stdout=io.StringIO())


def test_the_expiring_list_on_the_command_line(place):
    grant(place, type_code="hnte", granted_on=D(2020, 12, 2))
    grant(place, firm="rival", type_code="hnte", granted_on=D(2020, 11, 20))
    out = command("expiring", "--days", "90", "--today", "2023-09-04")
    assert "2023-12-01\t  88 days\thnte\tfirm\t南通星河精密仪器有限公司" in out
    assert "2 designations run out within 90 days of 2023-09-04" in out
    assert "1 designations in 320612" in command("expiring", "--today", "2023-09-04", "--region", "320612")
    assert "2 designations marked expired" in command("expire", "--today", "2023-12-10")
    with pytest.raises(CommandError):
        command("expiring", "--region", "999999")
