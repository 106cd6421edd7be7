"""Importing a published list: matched by USCC, then by exact name or alias in the region,
never by a guess — every other row waits in the review queue with the similar names found;
a file with a bad row writes nothing and says which row, which column and why."""

import datetime as dt

import openpyxl
import pytest

from kechuang.designations import importer, services
from kechuang.designations.models import (
    CandidateStatus,
    Designation,
    DesignationImport,
    ImportCandidate,
)
from kechuang.registry.models import Location, Organisation, Source
from tests.conftest import REAL_DATA

from .conftest import TODAY, code, grant

pytestmark = pytest.mark.django_db
D = dt.date
REAL_LIST = REAL_DATA / "little-giants" / "nantong_national_little_giants_batch1_2.csv"
HEADER = "企业名称,统一社会信用代码,批次,认定日期\n"


def write(tmp_path, text: str, name="list.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run(path, **options):
    options.setdefault("designation_type", "little-giant")
    options.setdefault("region", "320612")
    options.setdefault("today", TODAY)
    return importer.import_list(str(path), **options)


def outcomes(outcome) -> dict[str, str]:
    return {row.name: row.outcome for row in outcome.rows}


# --- matching ------------------------------------------------------------------------------------


def test_a_row_is_matched_by_its_uscc_first_wherever_the_name_differs(place, tmp_path):
    path = write(tmp_path, HEADER + f"星河精密(旧称),{code(1)},5,2023-06-28\n")
    outcome = run(path)
    assert outcomes(outcome) == {"星河精密(旧称)": "granted"}
    assert "matched by its USCC" in outcome.rows[0].reason
    designation = Designation.objects.get()
    assert (designation.organisation, designation.batch, designation.granted_on) == (place["firm"], "5",
                                                                                    D(2023, 6, 28))
    assert designation.name_on_list == "星河精密(旧称)"


def test_a_row_is_matched_by_its_exact_name_or_alias_in_the_region(place, tmp_path):
    path = write(tmp_path, HEADER + "南通星河精密仪器有限公司,,5,2023-06-28\n"
                                    "南通海纳材料厂,,5,2023-06-28\n")  # maker's former name (曾用名)
    outcome = run(path)
    assert outcomes(outcome) == {"南通星河精密仪器有限公司": "granted", "南通海纳材料厂": "granted"}
    assert set(Designation.objects.values_list("organisation__key", flat=True)) == {"firm", "maker"}
    record = outcome.record
    assert (record.status, record.granted, record.queued, record.rows_read) == ("done", 2, 0, 2)


def test_brackets_and_blanks_do_not_stop_an_exact_match(place, tmp_path):
    registry_name = "中科仪（南通）半导体设备有限责任公司"
    from kechuang.registry import services as registry

    firm = registry.save_organisation("zky", kind="enterprise", name_zh=registry_name)[0]
    registry.move_organisation(firm, place["tongzhou"], since=D(2020, 1, 1))
    outcome = run(write(tmp_path, HEADER + "中科仪(南通)半导体设备有限责任公司,,5,2023-06-28\n"))
    assert outcomes(outcome) == {"中科仪(南通)半导体设备有限责任公司": "granted"}


def test_a_similar_name_is_never_matched_silently_it_waits_with_its_similarity(place, tmp_path):
    outcome = run(write(tmp_path, HEADER + "南通星河精密仪器股份有限公司,,5,2023-06-28\n"))
    assert outcomes(outcome) == {"南通星河精密仪器股份有限公司": "queued"}
    assert not Designation.objects.exists()
    candidate = ImportCandidate.objects.get()
    assert (candidate.reason, candidate.status, candidate.row) == ("similar", "pending", 2)
    assert candidate.candidates[0]["organisation"] == "firm" and candidate.candidates[0]["similarity"] == 1.0
    assert candidate.granted_on == D(2023, 6, 28) and candidate.batch == "5"


def test_names_are_looked_up_in_the_region_only(place, tmp_path):
    outcome = run(write(tmp_path, HEADER + "南通瑞丰智能装备有限公司,,5,2023-06-28\n"))  # the rival, in Chongchuan
    assert outcomes(outcome) == {"南通瑞丰智能装备有限公司": "queued"}
    assert ImportCandidate.objects.get().reason == "unmatched"


def test_two_enterprises_of_one_name_wait_for_the_bureau(place, tmp_path):
    from kechuang.registry import services as registry

    twin = registry.save_organisation("twin", kind="enterprise", name_zh="南通星河精密仪器有限公司")[0]
    registry.move_organisation(twin, place["tongzhou"], since=D(2015, 1, 1))
    run(write(tmp_path, HEADER + "南通星河精密仪器有限公司,,5,2023-06-28\n"))
    candidate = ImportCandidate.objects.get()
    assert candidate.reason == "ambiguous"
    assert [entry["organisation"] for entry in candidate.candidates] == ["firm", "twin"]


def test_a_name_that_matches_an_enterprise_of_another_uscc_waits(place, tmp_path):
    run(write(tmp_path, HEADER + f"南通星河精密仪器有限公司,{code(77)},5,2023-06-28\n"))
    assert ImportCandidate.objects.get().reason == "conflict"
    assert not Designation.objects.exists()


def test_the_real_nantong_list_matches_no_enterprise_of_the_test_registry_every_row_waits(place):
    outcome = importer.import_list(REAL_LIST, designation_type="little-giant", level="national", region="320600",
                                   today=TODAY)
    assert not outcome.problems
    assert outcome.record.rows_read == 13 and outcome.count("queued") == 13
    queue = ImportCandidate.objects.order_by("row")
    assert [row.name for row in queue][:3] == ["南通星球石墨设备有限公司", "江苏万达特种轴承有限公司", "江苏明德玩具股份有限公司"]
    assert {row.reason for row in queue} == {"unmatched"}
    assert [row.stage for row in queue].count("final") == 3 and [row.stage for row in queue].count("publicity") == 10
    assert {row.batch for row in queue} == {"1", "2"}
    assert {row.region.code for row in queue} == {"320600"}
    notice = Source.objects.get(url="http://www.ntfabu.com/detailArticle/14493234_10325_ntfb.html")
    assert {row.source for row in queue} == {notice}
    assert outcome.ignored_columns == []  # city, province, batch_year: read by people, known
    assert not Designation.objects.exists()


def test_a_row_of_the_queue_is_confirmed_by_registering_the_enterprise(place):
    outcome = importer.import_list(REAL_LIST, designation_type="little-giant", region="320600", today=TODAY)
    first = ImportCandidate.objects.get(designation_import=outcome.record, row=2)
    with pytest.raises(services.DesignationError) as refused:
        importer.create_from_candidate(first, today=TODAY)  # batch 1 names no date
    assert refused.value.field == "granted_on"
    done = importer.create_from_candidate(first, granted_on=D(2019, 6, 1), today=TODAY)
    assert done.status == CandidateStatus.CREATED and done.organisation.name_zh == "南通星球石墨设备有限公司"
    assert done.organisation.key == "nan-tong-xing-qiu-shi-mo-she-bei"
    location = Location.objects.get(organisation=done.organisation)
    assert (location.region.code, location.valid_from) == ("320600", D(2019, 6, 1))
    designation = done.designation
    assert (designation.stage, designation.batch, designation.granted_on, designation.rule_version) == (
        "final", "1", D(2019, 6, 1), "MIIT-PRE-2022")
    publicity = ImportCandidate.objects.get(designation_import=outcome.record, row=5)
    listed = importer.create_from_candidate(publicity, publicised_on=D(2020, 11, 10), today=TODAY).designation
    assert (listed.stage, listed.publicised_on) == ("publicity", D(2020, 11, 10))
    with pytest.raises(services.DesignationError) as refused:
        importer.dismiss_candidate(first, comment="again")
    assert refused.value.field == "status"


def test_a_row_of_the_queue_is_linked_to_an_existing_enterprise_or_dismissed(place, tmp_path):
    run(write(tmp_path, HEADER + "南通星河精密仪器股份有限公司,,5,2023-06-28\n南通某某科技有限公司,,5,2023-06-28\n"))
    similar, unknown = ImportCandidate.objects.order_by("row")
    with pytest.raises(services.NotAllowed):
        importer.link_candidate(similar, place["firm"], by=place["other_bureau"], today=TODAY)
    linked = importer.link_candidate(similar, place["firm"], by=place["bureau"], comment="股份制改造前的名称",
                                     today=TODAY)
    assert linked.status == "linked" and linked.designation.organisation == place["firm"]
    with pytest.raises(services.DesignationError) as refused:
        importer.dismiss_candidate(unknown, comment="", by=place["bureau"])
    assert refused.value.field == "comment"
    dismissed = importer.dismiss_candidate(unknown, comment="not in Tongzhou", by=place["bureau"])
    assert dismissed.status == "dismissed" and dismissed.designation is None


def test_linking_refuses_an_enterprise_whose_uscc_is_not_the_lists(place, tmp_path):
    run(write(tmp_path, HEADER + f"南通星河精密仪器有限公司,{code(77)},5,2023-06-28\n"))
    with pytest.raises(services.DesignationError) as refused:
        importer.link_candidate(ImportCandidate.objects.get(), place["firm"], today=TODAY)
    assert refused.value.field == "organisation" and code(77) in refused.value.reason


# --- all or nothing ----------------------------------------------------------------------------------


def test_a_bad_row_refuses_the_whole_file_naming_row_column_and_reason(place, tmp_path):
    path = write(tmp_path, "企业名称,统一社会信用代码,阶段,认定日期\n"
                           "南通星河精密仪器有限公司,,公告,2023-06-28\n"
                           f"江苏海纳新材料股份有限公司,{code(2)[:-1]}X,公告,2023-06-28\n"
                           ",,公告,2023-06-28\n"
                           "某某公司,,待定,2023-06-31\n"
                           "南通星河精密仪器有限公司,,公告,2023-06-28\n")
    outcome = run(path)
    assert outcome.refused and outcome.record.status == "refused"
    found = {(problem.row, problem.column) for problem in outcome.problems}
    assert found == {(3, "统一社会信用代码"), (4, "企业名称"), (5, "阶段"), (5, "认定日期"), (6, "企业名称")}
    by_row = {problem.row: problem for problem in outcome.problems}
    assert "check character" in by_row[3].reason and by_row[3].value.endswith("X")
    assert "the same enterprise as row 2" in by_row[6].reason
    assert any(str(p).startswith("row 5, column 认定日期 [2023-06-31]: not a date") for p in outcome.problems)
    assert not Designation.objects.exists() and not ImportCandidate.objects.exists()
    assert outcome.record.report["problems"] and outcome.rows == []


def test_a_matched_row_without_a_date_refuses_the_file_and_nothing_is_written(place, tmp_path):
    path = write(tmp_path, "企业名称,认定日期\n南通某某科技有限公司,2023-06-28\n南通星河精密仪器有限公司,\n")
    outcome = run(path)
    assert [(p.row, p.column) for p in outcome.problems] == [(3, "认定日期")]
    assert "--date" in outcome.problems[0].reason
    assert not Designation.objects.exists() and not ImportCandidate.objects.exists()
    assert not Source.objects.filter(key__startswith="notice-").exists()
    assert run(path, date=D(2023, 6, 28)).count("granted") == 1


def test_a_file_without_a_name_column_or_that_is_no_table_is_refused(place, tmp_path):
    outcome = run(write(tmp_path, "代码,日期\n1,2\n"))
    assert outcome.refused and "企业名称" in outcome.problems[0].reason
    outcome = run(write(tmp_path, "PK\x03\x04garbage", name="list.xlsx"))
    assert outcome.refused and "cannot be read" in outcome.message


def test_a_dry_run_matches_everything_and_writes_nothing(place, tmp_path):
    outcome = run(write(tmp_path, HEADER + "南通星河精密仪器有限公司,,5,2023-06-28\n某某公司,,5,2023-06-28\n"),
                  dry_run=True)
    assert outcome.record.status == "checked"
    assert outcomes(outcome) == {"南通星河精密仪器有限公司": "granted", "某某公司": "queued"}
    assert not Designation.objects.exists() and not ImportCandidate.objects.exists()


def test_importing_again_changes_nothing_and_the_final_list_finalises_the_publicity_list(place, tmp_path):
    listed = write(tmp_path, "企业名称,批次,公示日期\n南通星河精密仪器有限公司,5,2023-05-22\n", name="publicity.csv")
    first = run(listed, stage="publicity")
    assert outcomes(first) == {"南通星河精密仪器有限公司": "listed"}
    assert outcomes(run(listed, stage="publicity")) == {"南通星河精密仪器有限公司": "already"}
    final = write(tmp_path, "企业名称,批次\n南通星河精密仪器有限公司,5\n", name="final.csv")
    assert outcomes(run(final, date=D(2023, 6, 28))) == {"南通星河精密仪器有限公司": "finalised"}
    designation = Designation.objects.get()
    assert (designation.stage, designation.publicised_on, designation.granted_on) == ("final", D(2023, 5, 22),
                                                                                      D(2023, 6, 28))
    assert outcomes(run(final, date=D(2023, 6, 28))) == {"南通星河精密仪器有限公司": "already"}


def test_a_district_bureau_imports_a_city_list_and_records_only_its_own(place, tmp_path):
    path = write(tmp_path, "企业名称,统一社会信用代码,区县代码,认定日期\n"
                           f"南通星河精密仪器有限公司,{code(1)},320612,2023-06-28\n"
                           f"南通瑞丰智能装备有限公司,{code(3, '320602')},320602,2023-06-28\n"
                           f"南通瑞丰智能装备有限公司,{code(3, '320602')},,2023-06-28\n")
    outcome = run(path, by=place["bureau"])
    assert [str(problem) for problem in outcome.problems] == ["row 4, column 统一社会信用代码 [" + code(3, "320602")
                                                              + "]: the same USCC as row 3"]
    outcome = run(write(tmp_path, path.read_text().rsplit("\n", 2)[0] + "\n", name="two.csv"), by=place["bureau"])
    assert [(row.name, row.outcome) for row in outcome.rows] == [("南通星河精密仪器有限公司", "granted"),
                                                                 ("南通瑞丰智能装备有限公司", "skipped")]
    assert "崇川区" in outcome.rows[1].reason
    assert Designation.objects.get().organisation == place["firm"]


def test_only_the_bureau_imports_lists_for_its_region(place, tmp_path):
    path = write(tmp_path, HEADER + "南通星河精密仪器有限公司,,5,2023-06-28\n")
    with pytest.raises(services.NotAllowed):
        run(path, by=place["other_bureau"])
    with pytest.raises(services.DesignationError) as refused:
        run(path, by=place["bureau"], region=None)
    assert refused.value.field == "region"
    with pytest.raises(services.DesignationError) as refused:
        run(path, level="provincial")
    assert refused.value.field == "level"
    assert not DesignationImport.objects.exists()


def test_gbk_csv_and_xlsx_lists_are_read_alike(place, tmp_path):
    gbk = run(write(tmp_path, HEADER + "南通星河精密仪器有限公司,,5,2023年6月28日\n", encoding="gbk"))
    assert outcomes(gbk) == {"南通星河精密仪器有限公司": "granted"}
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["2023年第五批专精特新“小巨人”企业名单"])
    sheet.append(["序号", "企业名称", "批次", "认定日期"])
    sheet.append([1, "江苏海纳新材料股份有限公司", "5", dt.datetime(2023, 6, 28)])
    path = tmp_path / "list.xlsx"
    workbook.save(path)
    outcome = run(path)
    assert outcomes(outcome) == {"江苏海纳新材料股份有限公司": "granted"} and outcome.record.format == "xlsx"


def test_an_existing_grant_of_the_list_is_already_recorded(place, tmp_path):
    grant(place, batch="5")
    outcome = run(write(tmp_path, HEADER + "南通星河精密仪器有限公司,,5,2023-06-28\n"))
    assert outcomes(outcome) == {"南通星河精密仪器有限公司": "already"}
    assert Designation.objects.count() == 1


def test_the_similarity_of_names_leaves_out_the_company_form():
    assert importer.similarity("南通星球石墨设备有限公司", "南通星球石墨设备股份有限公司") == 1.0
    assert importer.similarity("南通星球石墨设备有限公司", "南通金沙华创新材料有限公司(demo)") < 0.3
    assert importer.name_core("中科仪（南通）半导体设备有限责任公司") == "中科仪南通半导体设备"
    assert Organisation.objects.count() == 0
