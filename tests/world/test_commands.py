"""The command line: kechuang load, kechuang dump, kechuang world-schema."""

import io
import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kechuang.registry.models import Organisation
from kechuang.world.formats import parse_json, parse_yaml, to_json, to_yaml
from kechuang.world.loader import load_world
from kechuang.world.sections import ordered_sections, schema_text, world_schema

from .conftest import TONGZHOU_FILE, entry, row_counts, wipe_registry

DOCS = Path(__file__).resolve().parents[2] / "docs"


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_load_prints_a_summary_per_section_and_is_idempotent():
    out, _ = run("load", str(TONGZHOU_FILE))
    assert out.splitlines() == ["sources: 2 created, 0 updated, 0 unchanged",
                                "sectors: 2 created, 0 updated, 0 unchanged",
                                "regions: 8 created, 0 updated, 0 unchanged",
                                "organisations: 4 created, 0 updated, 0 unchanged"]

    out, _ = run("load", str(TONGZHOU_FILE))
    assert "organisations: 0 created, 0 updated, 4 unchanged" in out


@pytest.mark.django_db
def test_load_reads_json(tmp_path, tongzhou):
    path = tmp_path / "tongzhou.json"
    path.write_text(to_json(tongzhou), encoding="utf-8")

    out, _ = run("load", str(path))

    assert "organisations: 4 created" in out
    assert Organisation.objects.count() == 4


@pytest.mark.django_db
def test_load_of_a_bad_file_fails_naming_the_file_and_entry(tmp_path, tongzhou):
    entry(tongzhou, "organisations", "zhongkeyi-nantong")["uscc"] = "91350203M0001QAY9I"
    path = tmp_path / "bad.yaml"
    path.write_text(to_yaml(tongzhou), encoding="utf-8")

    with pytest.raises(CommandError) as caught:
        run("load", str(path))

    assert f"{path}: organisations[0].uscc: '91350203M0001QAY9I' is not a valid" in str(caught.value)
    assert "nothing was written" in str(caught.value)
    assert not any(row_counts().values())


@pytest.mark.django_db
def test_several_files_load_in_one_transaction(tmp_path, tongzhou):
    first, second = tmp_path / "1.yaml", tmp_path / "2.yaml"
    first.write_text(to_yaml(tongzhou), encoding="utf-8")
    second.write_text(to_yaml({"kechuang": 1, "organisations": [
        {"key": "late", "kind": "enterprise", "name_en": "Late", "locations": [{"region": "320612"}]}]}),
        encoding="utf-8")

    out, _ = run("load", str(first), str(second))
    assert "organisations: 5 created" in out  # the second file refers to the first's region

    wipe_registry()
    second.write_text("kechuang: 1\norganisations: [{key: late, kind: enterprise}]\n", encoding="utf-8")
    with pytest.raises(CommandError, match=re.escape(f"{second}: organisations[0].name_zh: an organisation needs")):
        run("load", str(first), str(second))
    assert not any(row_counts().values())


@pytest.mark.django_db
def test_load_reports_a_yaml_syntax_error_and_a_missing_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("kechuang: 1\nsources: [\n", encoding="utf-8")

    with pytest.raises(CommandError, match="not valid YAML"):
        run("load", str(path))
    with pytest.raises(CommandError, match="cannot be read"):
        run("load", str(tmp_path / "missing.yaml"))


@pytest.mark.django_db
def test_load_warns_about_a_legacy_uscc_on_stderr(tmp_path, tongzhou):
    entry(tongzhou, "organisations", "zhongkeyi-nantong")["uscc"] = "91350203M0001QAY9B"
    path = tmp_path / "legacy.yaml"
    path.write_text(to_yaml(tongzhou), encoding="utf-8")

    _, err = run("load", str(path))

    assert f"warning: {path}: organisations[0].uscc: 91350203M0001QAY9B imported with a failing check" in err


@pytest.mark.django_db
def test_load_dry_run_writes_nothing():
    out, _ = run("load", "--dry-run", str(TONGZHOU_FILE))

    assert "organisations: 4 created" in out and "dry run" in out
    assert not any(row_counts().values())


@pytest.mark.django_db
def test_dump_writes_yaml_to_stdout_and_json_to_a_file(tmp_path):
    run("load", str(TONGZHOU_FILE))

    out, _ = run("dump")
    run("dump", "--output", str(tmp_path / "world.json"))

    from_yaml = parse_yaml(out)
    from_json = parse_json((tmp_path / "world.json").read_text(encoding="utf-8"))
    assert from_yaml == from_json
    assert [org["key"] for org in from_yaml["organisations"]][0] == "hengli-nantong-park"


@pytest.mark.django_db
def test_a_json_dump_of_a_region_loads_into_an_empty_database(tmp_path):
    run("load", str(TONGZHOU_FILE))
    path = tmp_path / "tongzhou-nantong.json"
    run("dump", "--region", "320612", "--format", "json", "--output", str(path))
    before = path.read_text(encoding="utf-8")

    wipe_registry()
    out, _ = run("load", str(path))
    run("dump", "--region", "320612", "--format", "json", "--output", str(path))

    assert "organisations: 4 created" in out
    assert path.read_text(encoding="utf-8") == before
    assert Organisation.objects.get(key="sky-technology").locations.get().region.code == "210100"


@pytest.mark.django_db
def test_dump_of_an_unknown_region_fails():
    with pytest.raises(CommandError, match="no region has the code 999999"):
        run("dump", "--region", "999999")


def test_world_schema_prints_the_assembled_schema():
    out, _ = run("world-schema")

    assert json.loads(out) == world_schema()
    assert list(json.loads(out)["properties"])[:6] == ["kechuang", "entries", "sources", "sectors", "regions",
                                                       "organisations"]
    assert list(json.loads(out)["properties"]) == ["kechuang", "entries",
                                                   *(section.name for section in ordered_sections())]
    assert list(json.loads(out)["properties"]["entries"]["properties"]) == [
        section.name for section in ordered_sections()]


def test_the_published_schema_is_current():
    published = (DOCS / "world.schema.json").read_text(encoding="utf-8")

    assert published == schema_text(), "run: kechuang world-schema > docs/world.schema.json"


@pytest.mark.django_db
def test_the_example_in_the_documentation_loads():
    text = (DOCS / "world-file.md").read_text(encoding="utf-8")
    example = re.search(r"```yaml\n(kechuang: 1\n.*?)```", text, re.DOTALL).group(1)

    report = load_world(parse_yaml(example))

    assert report["organisations"]["created"] >= 1 and not load_world(parse_yaml(example)).changed
