"""Definitions are data, checked before they are written; the shipped catalogue loads and
every indicator in it can be evaluated; the command line."""

import json

import pytest
from django.core.management import CommandError, call_command

from kechuang.indicators import engine
from kechuang.indicators.models import Indicator, Measure
from kechuang.indicators.services import IndicatorError, define_indicator, define_measure, load_catalogue
from kechuang.statistics.periods import Period

pytestmark = pytest.mark.django_db


def test_every_shipped_indicator_evaluates(world):
    assert load_catalogue() == (Measure.objects.count(), Indicator.objects.count())
    codes = list(Indicator.objects.values_list("code", flat=True))
    table = engine.evaluate(codes, engine.areas_for("320600", by="children"), [Period.parse("2023H1")],
                            public=True)
    assert len(list(table)) == len(codes) * 3


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"formula": "share(industrial_output"}, "formula", "expected"),
    ({"formula": "no_such_measure * 2"}, "formula", "no_such_measure: no measure or indicator"),
    ({"formula": "x_self + 1", "code": "x_self"}, "formula", "itself"),
    ({"code": "High-Tech"}, "code", "lower case"),
    ({"unit_kind": "furlongs"}, "unit_kind", "not one of"),
    ({"official_metric": "gdp"}, "official_metric", "not a metric"),
    ({"tolerance": "-1"}, "tolerance", "negative"),
])
def test_a_bad_indicator_is_refused_and_nothing_is_written(world, fields, field, message):
    entry = {"code": "new_one", "name_zh": "新", "name_en": "new", "formula": "industrial_output",
             "unit_kind": "money", "unit": "yuan", **fields}
    with pytest.raises(IndicatorError, match=message) as refused:
        define_indicator(**entry)
    assert refused.value.field == field
    assert not Indicator.objects.filter(code=entry["code"]).exists()


@pytest.mark.parametrize(("fields", "field"), [
    ({"kind": "observations"}, "metric"),
    ({"kind": "observations", "metric": "industrial-output", "subjects": {"colour": "red"}}, "subjects"),
    ({"kind": "events", "source": "rumours"}, "source"),
    ({"kind": "events", "source": "projects-approved", "parameters": {"colour": "red"}}, "parameters"),
    ({"kind": "stock", "source": "projects-approved"}, "source"),
    ({"kind": "events", "source": "projects-approved", "aggregate": "sum"}, "aggregate"),
    ({"kind": "events", "source": "projects-approved", "metric": "industrial-output"}, "metric"),
])
def test_a_bad_measure_is_refused(world, fields, field):
    with pytest.raises(IndicatorError) as refused:
        define_measure("new_measure", name_zh="新", name_en="new", **fields)
    assert refused.value.field == field
    assert not Measure.objects.filter(code="new_measure").exists()


def test_the_command_prints_json_per_value(world, figure, capsys):
    figure(world["plain"], "industrial-output", "2023H1", 300)
    call_command("indicator", "industrial_output", "--region", "320600", "--by", "children", "--period", "2023H1",
                 "--format", "json")
    rows = json.loads(capsys.readouterr().out)
    assert [row["region"] for row in rows] == ["320602", "320612", "320600"]
    tongzhou = rows[1]
    assert {key: tongzhou[key] for key in ("indicator", "period", "value", "unit", "official", "contributors",
                                           "suppressed")} == {
        "indicator": "industrial_output", "period": "2023H1", "value": "300.00", "unit": "yuan", "official": None,
        "contributors": 1, "suppressed": False}
    assert "as_of" in tongzhou


def test_the_command_lists_the_catalogue_and_refuses_bad_input(world, capsys):
    call_command("indicator", "--list")
    assert "high_tech_share\t高新技术产业产值占规上工业总产值比重" in capsys.readouterr().out
    with pytest.raises(CommandError, match="not a division code"):
        call_command("indicator", "enterprises", "--region", "999999", "--period", "2023H1")
    with pytest.raises(CommandError, match="is not a period"):
        call_command("indicator", "enterprises", "--region", "320612", "--period", "someday")


def test_the_command_reads_a_series_and_writes_csv(world, capsys):
    call_command("indicator", "enterprises", "--region", "320612", "--period", "2022H1..2023H1", "--format", "csv")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("indicator,region,name,period,value")
    assert [line.split(",")[3] for line in lines[1:]] == ["2022H1", "2022H2", "2023H1"]


def test_the_admin_refuses_a_formula_that_does_not_parse(world, operator_client):
    fields = {"code": "admin_made", "name_zh": "新", "name_en": "new", "formula": "share(industrial_output",
              "unit_kind": "percent", "unit": "%", "precision": "1", "tolerance": "0"}
    answer = operator_client.post("/admin/indicators/indicator/add/", fields)
    assert answer.status_code == 200 and "the formula ends too early" in answer.content.decode()
    assert not Indicator.objects.filter(code="admin_made").exists()
    answer = operator_client.post("/admin/indicators/indicator/add/", {**fields, "formula": "industrial_output * 2"})
    assert answer.status_code == 302
    assert Indicator.objects.get(code="admin_made").formula == "industrial_output * 2"


def test_indicators_that_would_refer_to_each_other_are_refused(world):
    define_indicator("ring_a", name_zh="a", name_en="a", formula="industrial_output", unit_kind="money", unit="yuan")
    define_indicator("ring_b", name_zh="b", name_en="b", formula="ring_a * 2", unit_kind="money", unit="yuan")
    with pytest.raises(IndicatorError, match="refers to itself: ring_a → ring_b → ring_a"):
        define_indicator("ring_a", name_zh="a", name_en="a", formula="ring_b + 1", unit_kind="money", unit="yuan")
    assert Indicator.objects.get(code="ring_a").formula == "industrial_output"
