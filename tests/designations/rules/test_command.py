"""`kechuang screen`: the rule sets, the pool as a table, JSON and a workbook, one enterprise."""

import io
import json

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from .conftest import HNTE_GOOD, report


def run(*arguments) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("screen", *arguments, stdout=out, stderr=err)
    return out.getvalue()


@pytest.fixture
def pool_world(world):
    report(world["alpha"], HNTE_GOOD)
    report(world["beta"], {**HNTE_GOOD, "rd-expenditure": 3_800_000, "rd-expenditure-domestic": 3_000_000})
    return world


def test_list_marks_the_rule_sets_in_force_on_the_date(db):
    out = run("--list", "--date", "2026-04-01")
    lines = {line[2:].split()[0]: line for line in out.splitlines() if line[:2] in ("* ", "  ")}
    assert lines["LITTLE-GIANT-2026"].startswith("*") and lines["LITTLE-GIANT-2022"].startswith(" ")
    assert "[3 unverified parameters]" in lines["HNTE-2016"]


def test_the_pool_as_a_table(pool_world):
    out = run("hnte", "--region", "320612", "--date", "2026-04-01")
    lines = out.splitlines()
    assert lines[0].startswith("HNTE-2016") and "3 enterprises" in lines[0]
    assert lines[1].split()[:2] == ["1", "alpha"] and lines[2].split()[:2] == ["2", "beta"]
    assert "rd-intensity:fail" in lines[2]


def test_the_pool_as_json(pool_world, tmp_path):
    target = tmp_path / "pool.json"
    run("HNTE-2016", "--region", "320612", "--date", "2026-04-01", "--format", "json", "--output", str(target))
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["ruleset"]["code"] == "HNTE-2016" and document["count"] == 3 and document["year"] == 2025
    assert [row["organisation"]["key"] for row in document["results"]] == ["alpha", "beta", "gamma"]
    beta = document["results"][1]
    rd = next(c for c in beta["criteria"] if c["code"] == "rd-intensity")
    assert rd["status"] == "fail" and "about" in rd["text_en"]


def test_the_pool_as_a_workbook(pool_world, tmp_path):
    target = tmp_path / "pool.xlsx"
    run("hnte", "--region", "320612", "--date", "2026-04-01", "--format", "xlsx", "--output", str(target))
    rows = list(openpyxl.load_workbook(target).active.values)
    assert [row[1] for row in rows[1:]] == ["alpha", "beta", "gamma"]
    assert rows[2][3] == "暂不符合"


def test_one_enterprise_as_json_with_expert_inputs(pool_world, tmp_path):
    inputs = tmp_path / "experts.yaml"
    inputs.write_text("alpha:\n  core_technology_field: yes\n  no_major_incident: yes\n", encoding="utf-8")
    document = json.loads(run("hnte", "--organisation", "alpha", "--date", "2026-04-01", "--format", "json",
                              "--expert-inputs", str(inputs)))
    statuses = {c["code"]: c["status"] for c in document["criteria"]}
    assert statuses["technology-field"] == "pass" and statuses["no-major-incident"] == "pass"
    assert statuses["innovation-score"] == "awaiting"
    assert document["status"] == "awaiting"


def test_one_enterprise_as_a_table_in_both_languages(pool_world):
    out = run("hnte", "--organisation", "beta", "--date", "2026-04-01")
    assert "[not met] rd-intensity:" in out and "percentage points short" in out and "个百分点" in out


@pytest.mark.parametrize(("arguments", "message"), [
    (("hnte", "--region", "320612", "--format", "xlsx"), "give --output FILE.xlsx"),
    (("hnte",), "give --region CODE"),
    ((), "name a rule set"),
    (("gazelle", "--region", "320612"), "no rule set or family is named 'gazelle'"),
    (("hnte", "--region", "320612", "--date", "2026-02-30"), "not a date"),
    (("LITTLE-GIANT-2022", "--region", "320612", "--date", "2026-05-01"), "on 2026-05-01 the little-giant rules are"),
])
def test_mistakes_are_refused_with_a_message(pool_world, arguments, message):
    with pytest.raises(CommandError, match=message):
        run(*arguments)
