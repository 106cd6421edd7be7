"""The seed article's "six new national-level 'little giant' enterprises", computed by the
indicators engine from the demo, and the invented designations around them that the count
must leave out."""

import datetime as dt

import pytest
from django.db import transaction

from kechuang.demo.builder import build_demo
from kechuang.demo.designations import DEMO_SOURCE, demo_designations
from kechuang.designations import importer, services
from kechuang.designations.models import Designation, DesignationStep
from kechuang.indicators import engine
from kechuang.registry.models import Organisation
from kechuang.statistics.periods import Period
from tests.conftest import REAL_DATA

H1, H2 = Period.parse("2023H1"), Period.parse("2023H2")
ARTICLE_DAY = dt.date(2023, 9, 4)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        with transaction.atomic():
            log = list(build_demo())
            yield log
            transaction.set_rollback(True)


pytestmark = pytest.mark.django_db


def value(code, region="320612", period=H1):
    table = engine.evaluate([code], engine.areas_for(region), [period], public=True)
    return table.get(code, region, period).shown


def test_tongzhou_welcomed_six_new_national_little_giants_in_2023_h1(demo):
    table = engine.evaluate(["little_giants_new"], engine.areas_for("320612"), [Period.parse("2023H1")], public=True)
    assert table.get("little_giants_new", "320612", Period.parse("2023H1")).shown == 6


def test_the_six_are_listed_as_the_figures_contributors(demo):
    from rest_framework.test import APIClient

    answer = APIClient().get("/api/v1/indicators/little_giants_new/contributors/",
                             {"region": "320612", "period": "2023H1"})
    (part,) = answer.json()["measures"]
    assert part["count"] == 6 and part["listed"] == 6  # final grants are public record
    assert {record["type"] for record in part["records"]} == {"designation"}
    assert {record["designation_type"] for record in part["records"]} == {"little-giant"}


def test_the_count_is_not_every_row(demo):
    assert value("little_giants_new", period=H2) == 1  # finalised on 1 July
    assert value("little_giants_new", region="320600") == 8  # two more in other districts of Nantong
    assert value("little_giants_new", period=Period.parse("2022")) == 2
    little_giants = Designation.objects.filter(type__code="little-giant")
    assert little_giants.count() > 8
    assert {"final", "revoked"} <= set(little_giants.values_list("stage", flat=True))
    assert Designation.objects.filter(type__code="srdi-sme", stage="publicity").exists()  # open at the article
    # The stock on 30 June: the earlier batches (one revoked in March) and the six.
    assert value("little_giants") == 12
    assert value("hnte_count") > 0 and value("srdi_smes") > 0
    assert value("hnte_count", period=Period.parse("2023")) < value("hnte_count")  # the 2020 certificates ran out


def test_the_six_are_final_notices_dated_in_the_half_one_on_30_june(demo):
    steps = DesignationStep.objects.filter(
        to_stage="final", designation__type__code="little-giant", on__range=(H1.start, H1.end),
        designation__organisation__in=Organisation.objects.in_region("320612"))
    assert steps.count() == 6
    assert max(steps.values_list("on", flat=True)) == dt.date(2023, 6, 30)
    assert {step.designation.batch for step in steps} == {"5"}


def test_every_demo_designation_is_synthetic_marked_and_nothing_is_dated_after_the_article(demo):
    rows = Designation.objects.all()
    assert rows.exists() and not rows.exclude(synthetic=True).exists()
    assert not rows.exclude(source__key=DEMO_SOURCE).exists()
    assert not rows.exclude(organisation__synthetic=True).exists()
    assert not rows.filter(organisation__key="zhongkeyi-nantong").exists()
    assert all(number.startswith("DEMO") for number in rows.exclude(certificate_number="")
               .values_list("certificate_number", flat=True))
    assert not DesignationStep.objects.filter(on__gt=ARTICLE_DAY).exists()


def test_some_run_out_within_90_days_of_the_article(demo):
    soon = services.expiring(90, today=ARTICLE_DAY, region="320612")
    assert {"little-giant", "hnte", "srdi-sme"} <= set(soon.values_list("type__code", flat=True))


def test_the_real_nantong_list_is_not_in_the_demo_every_row_is_offered_for_registration(demo):
    path = REAL_DATA / "little-giants" / "nantong_national_little_giants_batch1_2.csv"
    outcome = importer.import_list(path, designation_type="little-giant", level="national", region="320600",
                                   dry_run=True)
    assert not outcome.problems and outcome.record.rows_read == 13
    assert [row.outcome for row in outcome.rows] == ["queued"] * 13
    assert all(row.reason.startswith("no enterprise has this name") for row in outcome.rows)


def test_building_the_designations_again_adds_nothing(demo):
    before = Designation.objects.count()
    assert "already" in next(demo_designations("320612"))
    assert Designation.objects.count() == before
