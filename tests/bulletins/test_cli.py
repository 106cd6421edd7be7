"""`kechuang bulletin` on the command line (files in each format and language, --as-of, bad
options, written whole or not at all, --list, --publish) and the bulletins in the admin."""

import io
import os
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from kechuang.bulletins import services
from kechuang.bulletins.models import Bulletin, BulletinFile, BulletinTemplate, BulletinVersion
from kechuang.indicators.models import Indicator
from kechuang.registry.models import Region
from kechuang.statistics.periods import Period
from kechuang.statistics.services import record_observation

pytestmark = pytest.mark.django_db

TONGZHOU_H1 = ["--region", "320612", "--period", "2023H1"]


def bulletin(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("bulletin", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def tongzhou() -> Region:
    return Region.objects.get(code="320612")


# --- rendering to a file -----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
@pytest.mark.parametrize("fmt", ["md", "html", "pdf", "docx"])
def test_the_seed_bulletin_is_written_in_each_format_and_language(demo, tmp_path, lang, fmt):
    path = tmp_path / f"tongzhou.{fmt}"
    _, err = bulletin(*TONGZHOU_H1, "--lang", lang, "--format", fmt, "-o", str(path))
    content = path.read_bytes()
    assert f"written to {path}" in err and "figures, as of" in err and "0 sentences left out" in err
    if fmt == "pdf":
        assert content.startswith(b"%PDF")
    elif fmt == "docx":
        assert content.startswith(b"PK")  # a Word document is a zip
    else:
        text = content.decode("utf-8")
        if fmt == "md":
            text = re.sub(r"\\(.)", r"\1", text)  # Markdown escapes "$" (some renderers read it as mathematics)
        assert ("13.5 billion yuan ($1.86 billion)" if lang == "en" else "135亿元") in text
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # nothing left beside it


def test_the_format_follows_the_extension_and_text_goes_to_standard_output(demo, tmp_path):
    path = tmp_path / "tongzhou.md"
    bulletin(*TONGZHOU_H1, "--lang", "zh", "-o", str(path))
    assert "135亿元" in path.read_text(encoding="utf-8")
    out, err = bulletin(*TONGZHOU_H1, "--lang", "en", "--format", "md", "-o", "-")
    assert out.startswith("# Tongzhou makes great strides in innovation") and "written" not in err
    assert "figures, as of" in err


def test_a_sentence_left_out_is_reported(demo):
    _, err = bulletin("--region", "320612", "--period", "2031H1", "--lang", "en", "--format", "md", "-o", "-")
    assert "2 sentences left out" in err and "left out: sections[0].paragraphs[1].en: high_tech_share" in err


def test_as_of_before_a_correction_the_bulletin_states_the_old_figure(demo, tmp_path):
    before = timezone.localtime().isoformat()
    share = Indicator.objects.get(code="high_tech_share").official_metric
    record_observation(tongzhou(), share, "2023H1", Decimal(57), status="published")
    now, _ = bulletin(*TONGZHOU_H1, "--lang", "en", "--format", "md", "-o", "-")
    then, _ = bulletin(*TONGZHOU_H1, "--lang", "en", "--format", "md", "-o", "-", "--as-of", before)
    assert "accounted for 57 percent" in now
    assert "accounted for 56 percent" in then and "57 percent" not in then


# --- bad options --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "says"), [
    (["--region", "999999", "--period", "2023H1"], "--region: '999999' is not a division code"),
    (["--region", "320612", "--period", "2023H3"], "--period: '2023H3'"),
    (["--period", "2023H1"], "--region is required"),
    (["--region", "320612"], "--period is required"),
    ([*TONGZHOU_H1, "--template", "nope"], "--template: 'nope' is not a bulletin template (half-year)"),
    ([*TONGZHOU_H1, "--as-of", "yesterday"], "--as-of 'yesterday' is not an ISO date-time or date"),
    ([*TONGZHOU_H1, "--as-of", "2023-02-30T10:00"], "--as-of '2023-02-30T10:00'"),
])
def test_a_bad_option_is_an_error_naming_it(demo, tmp_path, args, says):
    path = tmp_path / "out.md"
    with pytest.raises(CommandError) as refused:
        bulletin(*args, "--lang", "en", "--format", "md", "-o", str(path))
    assert says in str(refused.value)
    assert not path.exists()


@pytest.mark.parametrize(("args", "says"), [
    (["--lang", "en", "--format", "xls", "-o", "x.xls"], "argument --format: invalid choice: 'xls'"),
    (["--lang", "fr", "--format", "md", "-o", "x.md"], "argument --lang: invalid choice: 'fr'"),
    (["--format", "md", "-o", "x.md"], "--lang is required"),
    (["--lang", "en", "--format", "md"], "-o FILE is required"),
    (["--lang", "en", "-o", "out.txt"], "--format is required"),
    (["--lang", "en", "--format", "pdf", "-o", "-"], "--format pdf is binary"),
    (["--lang", "en", "--format", "md", "-o", "/no/such/directory/out.md"], "-o /no/such/directory/out.md: No such"),
])
def test_a_bad_output_option_is_an_error_naming_it(demo, args, says):
    with pytest.raises(CommandError) as refused:
        bulletin(*TONGZHOU_H1, *args)
    assert says in str(refused.value)


def test_a_failed_write_leaves_the_old_file_and_no_half_written_one(demo, tmp_path, monkeypatch):
    path = tmp_path / "tongzhou.md"
    path.write_text("the old bulletin", encoding="utf-8")

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(CommandError, match="No space left on device"):
        bulletin(*TONGZHOU_H1, "--lang", "en", "-o", str(path))
    assert path.read_text(encoding="utf-8") == "the old bulletin"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    with pytest.raises(CommandError):
        bulletin(*TONGZHOU_H1, "--lang", "en", "--template", "nope", "-o", str(path))
    assert path.read_text(encoding="utf-8") == "the old bulletin"


# --- the list and publishing ---------------------------------------------------------------------------


def test_publishing_on_the_command_line_prints_the_version_and_its_checksums(demo, tmp_path):
    path = tmp_path / "published.pdf"
    out, _ = bulletin("--publish", *TONGZHOU_H1, "--lang", "zh-hans", "-o", str(path))
    version = BulletinVersion.objects.get(bulletin__period="2023H1", number=1)
    assert "half-year 320612 2023H1 published as version 1" in out and "10 files" in out
    for row in BulletinFile.objects.filter(version=version):
        assert f"sha256 {row.sha256}" in out and f"{row.size:,} bytes" in out
    assert path.read_bytes() == bytes(services.file_of(version, "zh", "pdf").content)
    with pytest.raises(CommandError, match="--note: a republished bulletin needs a revision note"):
        bulletin("--publish", *TONGZHOU_H1)
    again, _ = bulletin("--publish", *TONGZHOU_H1, "--note", "Checked again.")
    assert "published as version 2" in again
    assert BulletinVersion.objects.get(bulletin__period="2023H1", number=2).note == "Checked again."


def test_a_bad_option_publishes_nothing(demo):
    with pytest.raises(CommandError, match="--lang is required"):
        bulletin("--publish", *TONGZHOU_H1, "-o", "out.pdf")
    with pytest.raises(CommandError, match="--region"):
        bulletin("--publish", "--region", "999999", "--period", "2023H1")
    assert not BulletinVersion.objects.exists()


def test_the_list_shows_the_templates_and_the_bulletins(demo):
    template = services.find_template("half-year")
    services.publish(services.bulletin_for(template, tongzhou(), Period.parse("2023H1")))
    services.bulletin_for(template, tongzhou(), Period.parse("2023H2"))
    out, _ = bulletin("--list")
    assert "half-year" in out and "(shipped)" in out
    published = Bulletin.objects.get(period="2023H1")
    assert "published bulletins: 1" in out and f"{published.pk:>5}  half-year" in out
    assert "320612 通州区  2023H1     version 1" in out
    assert "drafts: 1" in out and "2023H2" in out


# --- the admin -------------------------------------------------------------------------------------------


@pytest.fixture
def one_published(demo):
    template = services.find_template("half-year")
    return services.publish(services.bulletin_for(template, tongzhou(), Period.parse("2023H1")))


@pytest.mark.parametrize("table", ["bulletintemplate", "bulletin", "bulletinversion", "bulletinfile"])
def test_the_admin_lists_and_shows_every_bulletin_table(one_published, admin_client, table):
    assert admin_client.get(f"/admin/bulletins/{table}/").status_code == 200
    row = {"bulletintemplate": BulletinTemplate.objects.first(), "bulletin": one_published.bulletin,
           "bulletinversion": one_published, "bulletinfile": one_published.files.first()}[table]
    assert admin_client.get(f"/admin/bulletins/{table}/{row.pk}/change/").status_code == 200


def test_what_publishing_froze_is_read_only_in_the_admin(one_published, admin_client):
    for table in ("bulletin", "bulletinversion", "bulletinfile"):
        assert admin_client.get(f"/admin/bulletins/{table}/add/").status_code == 403
    page = admin_client.get(f"/admin/bulletins/bulletinversion/{one_published.pk}/change/").content.decode()
    assert one_published.files.get(language="en", format="pdf").sha256 in page
    assert admin_client.post(f"/admin/bulletins/bulletinversion/{one_published.pk}/delete/",
                             {"post": "yes"}).status_code == 403


def test_a_template_is_kept_in_the_admin_through_the_same_checks(demo, admin_client):
    template = BulletinTemplate.objects.get(code="half-year")
    page = f"/admin/bulletins/bulletintemplate/{template.pk}/change/"
    broken = admin_client.post(page, {"name_zh": template.name_zh, "name_en": template.name_en,
                                      "source_text": "title: {en: x, zh: y}\nsections: [\n  - x: : y\n"})
    assert broken.status_code == 200 and "line 3" in broken.content.decode()
    source = template.source_text.replace("makes great strides", "keeps innovating")
    saved = admin_client.post(page, {"name_zh": template.name_zh, "name_en": template.name_en,
                                     "source_text": source})
    assert saved.status_code == 302
    template.refresh_from_db()
    assert "keeps innovating" in template.spec["title"]["en"] and template.updated_by.is_superuser
    added = admin_client.post("/admin/bulletins/bulletintemplate/add/", {
        "code": "copy", "name_zh": "副本", "name_en": "Copy", "source_text": source})
    assert added.status_code == 302 and BulletinTemplate.objects.get(code="copy").spec == template.spec


def test_only_a_bureau_admin_changes_templates_in_the_admin(demo):
    bureau = get_user_model().objects.get(username="bureau")  # staff, as the demo makes them
    client = Client()
    client.force_login(bureau)
    template = BulletinTemplate.objects.get(code="half-year")
    assert client.get(f"/admin/bulletins/bulletintemplate/{template.pk}/change/").status_code == 200
    assert client.get("/admin/bulletins/bulletintemplate/add/").status_code == 200
    analyst = get_user_model().objects.get(username="analyst")
    analyst.is_staff = True
    analyst.save()
    client.force_login(analyst)
    assert client.get("/admin/bulletins/bulletintemplate/").status_code == 200
    assert client.get("/admin/bulletins/bulletintemplate/add/").status_code == 403
    page = client.get(f"/admin/bulletins/bulletintemplate/{template.pk}/change/").content.decode()
    assert 'name="source_text"' not in page  # shown, not editable
