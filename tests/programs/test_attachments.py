"""Attachments (attachments.py and the API): the type from the file's first bytes, the
size limit without reading past it, who may attach when, nothing left behind on a
refusal, and downloads only for whoever sees the project."""

import hashlib
import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.base import ContentFile, File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from django.test import Client

from kechuang.programs import attachments, services
from kechuang.programs.models import Attachment

from .conftest import draft, walk

pytestmark = pytest.mark.django_db

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(40)
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(40)
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200)
OLE_BYTES = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200)


def package(main_type: str, members: dict[str, bytes]) -> bytes:
    """A ZIP package with a [Content_Types].xml declaring `main_type` (as Office writes them)."""
    declared = (f'<?xml version="1.0"?><Types><Override PartName="/main.xml" ContentType="{main_type}"/></Types>'
                if main_type else "")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        if main_type:
            archive.writestr("[Content_Types].xml", declared)
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def xlsx_bytes() -> bytes:
    out = io.BytesIO()
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "经费预算"
    workbook.save(out)
    return out.getvalue()


DOCX_BYTES = package("application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
                     {"word/document.xml": b"<w:document/>"})
DOCM_BYTES = package("application/vnd.ms-word.document.macroEnabled.main+xml", {"word/document.xml": b"<x/>"})
ZIP_BYTES = package("", {"readme.txt": b"hello"})


def upload(name: str, data: bytes, content_type: str = "application/pdf") -> SimpleUploadedFile:
    # The client's Content-Type says PDF whatever the file is: the service must not believe it.
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture
def media(settings, tmp_path):
    """Files are stored under a temporary MEDIA_ROOT; returns it, to look for what was left."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media) -> list:
    return sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []


# --- the type, from the contents -----------------------------------------------------------


@pytest.mark.parametrize("name, data, content_type", [
    ("申报书.pdf", PDF_BYTES, attachments.PDF),
    ("预算.xlsx", None, attachments.XLSX),
    ("说明.docx", DOCX_BYTES, attachments.DOCX),
    ("照片.png", PNG_BYTES, attachments.PNG),
    ("证书.jpg", JPEG_BYTES, attachments.JPEG),
    ("misnamed.txt", PDF_BYTES, attachments.PDF),  # the contents decide, not the name
])
def test_the_accepted_types_are_stored_with_their_detected_type(place, media, name, data, content_type):
    data = data if data is not None else xlsx_bytes()
    project = draft(place)
    row = attachments.attach(project, upload(name, data), by=place["owner"])
    assert (row.original_name, row.content_type, row.size) == (name, content_type, len(data))
    assert row.sha256 == hashlib.sha256(data).hexdigest()
    assert row.file.name.startswith(f"projects/{project.key}/") and row.file.name.endswith(
        attachments.TYPES[content_type][1][0])
    assert (media / row.file.name).read_bytes() == data
    assert row.uploaded_by == place["owner"] and row.history.get().history_user == place["owner"]


@pytest.mark.parametrize("name, data, words", [
    ("report.pdf", EXE_BYTES, "a Windows program"),
    ("budget.xls", OLE_BYTES, "an old Office document (.doc, .xls); save it as .docx or .xlsx"),
    ("page.pdf", b"<html><script>alert(1)</script></html>", "a web page"),
    ("notes.pdf", b"just some text", "of a type kechuang does not accept"),
    ("archive.docx", ZIP_BYTES, "a ZIP archive, not a Word (.docx) or Excel (.xlsx)"),
    ("macro.docx", DOCM_BYTES, "macro-enabled ones are refused"),
    ("broken.docx", b"PK\x03\x04" + bytes(100), "cannot be read as one"),
    ("empty.pdf", b"", "the file is empty"),
])
def test_files_of_other_types_are_refused_by_their_contents(place, media, name, data, words):
    with pytest.raises(services.ProgrammeError) as refused:
        attachments.attach(draft(place), upload(name, data), by=place["owner"])
    assert refused.value.field == "file" and words in refused.value.reason
    assert not Attachment.objects.exists() and stored_files(media) == []


def test_the_settings_narrow_the_accepted_types(place, media, settings):
    settings.PROGRAMME_ATTACHMENT_TYPES = [attachments.PDF]
    with pytest.raises(services.ProgrammeError, match=r"this file is PNG image; accepted: PDF'\]"):
        attachments.attach(draft(place), upload("照片.png", PNG_BYTES))


# --- the size ------------------------------------------------------------------------------


class Unreadable(File):
    """An upload that declares its size and must not be read."""

    def __init__(self, size):
        super().__init__(io.BytesIO(), name="huge.pdf")
        self.size = size

    def read(self, *args):
        raise AssertionError("an oversized file was read")


def test_a_file_over_the_limit_is_refused_without_reading_it(place, media):
    with pytest.raises(services.ProgrammeError, match="larger than the limit of 20.0 MB") as refused:
        attachments.attach(draft(place), Unreadable(20 * 1024 * 1024 + 1))
    assert refused.value.field == "file"


def test_the_limit_comes_from_the_settings_and_the_bytes_are_counted_too(place, media, settings):
    settings.PROGRAMME_ATTACHMENT_MAX_BYTES = 1000
    project = draft(place)
    assert attachments.attach(project, upload("small.pdf", PDF_BYTES.ljust(1000, b" "))).size == 1000
    with pytest.raises(services.ProgrammeError, match="larger than the limit"):
        attachments.attach(project, upload("big.pdf", PDF_BYTES.ljust(1001, b" ")))
    # A file that does not say its size (or lies about it) is read only up to the limit.
    lying = ContentFile(PDF_BYTES.ljust(5000, b" "), name="lying.pdf")
    lying.size = 10
    with pytest.raises(services.ProgrammeError, match="larger than the limit of 1000 bytes"):
        attachments.attach(project, lying)
    assert len(stored_files(media)) == 1


# --- who, when -----------------------------------------------------------------------------


def test_the_applicant_attaches_to_a_draft_and_a_running_project_but_not_under_review(place, media):
    project = draft(place)
    attachments.attach(project, upload("申报书.pdf", PDF_BYTES), by=place["owner"])
    walk(project, "submit")
    with pytest.raises(services.ProgrammeError, match="the project is submitted: the applicant attaches") as refused:
        attachments.attach(project, upload("补充.png", PNG_BYTES), by=place["owner"])
    assert refused.value.field == "state"
    # The bureau attaches at any stage: its opinion during the review.
    attachments.attach(project, upload("初审意见.png", PNG_BYTES), by=place["bureau"])
    walk(project, "start_review", "approve", "start")
    attachments.attach(project, upload("专利证书.jpg", JPEG_BYTES), by=place["owner"])
    services.take(project, "complete")
    with pytest.raises(services.ProgrammeError, match="the project is completed"):
        attachments.attach(project, upload("late.pdf", PDF_BYTES + b"late"), by=place["owner"])
    assert project.attachments.count() == 3 and len(stored_files(media)) == 3


@pytest.mark.parametrize("who", ["rival_owner", "analyst", "other_bureau", "expert"])
def test_outsiders_do_not_attach(place, media, who):
    with pytest.raises(services.NotAllowed, match="only the applicant's own users or the bureau"):
        attachments.attach(draft(place), upload("x.pdf", PDF_BYTES), by=place[who])
    assert stored_files(media) == []


def test_the_same_file_is_attached_once(place, media):
    project = draft(place)
    attachments.attach(project, upload("申报书.pdf", PDF_BYTES))
    with pytest.raises(services.ProgrammeError, match="already attached as 申报书.pdf"):
        attachments.attach(project, upload("copy.pdf", PDF_BYTES))
    assert len(stored_files(media)) == 1


def test_a_failure_after_the_file_was_stored_removes_it(place, media, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise IntegrityError("the database said no")

    monkeypatch.setattr(Attachment, "save", refuse)
    with pytest.raises(IntegrityError):
        attachments.attach(draft(place), upload("申报书.pdf", PDF_BYTES))
    assert stored_files(media) == []


def test_the_clients_name_is_cleaned_and_the_download_name_fits_the_type(place, media):
    row = attachments.attach(draft(place), upload("..\\..\\etc/passwd\x07.pdf", PDF_BYTES))
    assert row.original_name == "passwd.pdf"
    assert attachments.clean_name("") == "attachment"
    assert attachments.clean_name("a" * 300 + ".docx") == "a" * 250 + ".docx"
    row.original_name = "page.html"
    assert attachments.download_name(row) == "page.html.pdf"
    row.original_name, row.content_type = "证书.JPEG", attachments.JPEG
    assert attachments.download_name(row) == "证书.JPEG"


def test_an_open_file_from_the_command_line_is_attached(place, media, tmp_path):
    path = tmp_path / "plan.pdf"
    path.write_bytes(PDF_BYTES)
    with path.open("rb") as handle:
        row = attachments.attach(draft(place), handle)
    assert row.original_name == "plan.pdf" and row.size == len(PDF_BYTES)


# --- the API -------------------------------------------------------------------------------


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_applicant_uploads_and_both_the_applicant_and_the_bureau_download(place, media):
    project = draft(place, requested_funding=Decimal("500000"))
    url = f"/api/v1/projects/{project.key}/attachments/"
    response = client_for(place["owner"]).post(url, {"file": upload("申报书.pdf", PDF_BYTES, "application/x-foo")})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["original_name"], body["content_type"], body["size"], body["uploaded_by"]) == (
        "申报书.pdf", "application/pdf", len(PDF_BYTES), "owner")
    download = body["download_url"]
    assert download.endswith(f"/api/v1/projects/{project.key}/attachments/{body['id']}/download/")
    for who in ("owner", "bureau", "analyst"):
        got = client_for(place[who]).get(download)
        assert got.status_code == 200, who
        assert b"".join(got.streaming_content) == PDF_BYTES
        assert got["Content-Type"] == "application/pdf"
        assert got["Content-Disposition"].startswith("attachment;") and "%E7%94%B3%E6%8A%A5%E4%B9%A6.pdf" in \
            got["Content-Disposition"]
        assert got["X-Content-Type-Options"] == "nosniff"
    listed = client_for(place["bureau"]).get(url).json()
    assert [a["id"] for a in listed] == [body["id"]]
    detail = client_for(place["owner"]).get(f"/api/v1/projects/{project.key}/").json()
    assert detail["delivery"]["attachments"] == 1


def test_attachments_are_404_for_whoever_does_not_see_the_project(place, media):
    project = draft(place)
    row = attachments.attach(project, upload("申报书.pdf", PDF_BYTES))
    base = f"/api/v1/projects/{project.key}/attachments/"
    for who in ("rival_owner", "other_bureau", "expert"):
        client = client_for(place[who])
        assert client.get(base).status_code == 404, who
        assert client.get(f"{base}{row.pk}/download/").status_code == 404, who
        # A reviewer changes nothing anywhere: any write is a 403 (tests/accounts/test_matrix.py).
        expected = 403 if who == "expert" else 404
        assert client.post(base, {"file": upload("x.pdf", PDF_BYTES + b"x")}).status_code == expected, who
    assert Client().get(f"{base}{row.pk}/download/").status_code in (401, 403, 404)
    # An attachment of another project is not reached through this one.
    other = draft(place, title_zh="另一个项目")
    assert client_for(place["owner"]).get(f"/api/v1/projects/{other.key}/attachments/{row.pk}/download/"
                                          ).status_code == 404


def test_an_assigned_reviewer_reads_the_application_documents(place, media):
    project = walk(draft(place), "submit", "start_review")
    row = attachments.attach(project, upload("申报书.pdf", PDF_BYTES))
    services.assign_reviewer(project, place["expert"])
    got = client_for(place["expert"]).get(f"/api/v1/projects/{project.key}/attachments/{row.pk}/download/")
    assert got.status_code == 200
    refused = client_for(place["expert"]).post(f"/api/v1/projects/{project.key}/attachments/",
                                               {"file": upload("x.pdf", PDF_BYTES + b"x")})
    assert refused.status_code == 403


def test_refused_uploads_through_the_api_name_the_file_and_leave_nothing(place, media, settings):
    project = draft(place)
    url = f"/api/v1/projects/{project.key}/attachments/"
    owner = client_for(place["owner"])
    renamed = owner.post(url, {"file": upload("report.pdf", EXE_BYTES)})
    assert renamed.status_code == 400
    assert renamed.json()["file"] == ["by its contents this file is a Windows program (.exe, .dll), whatever its "
                                      "name; accepted: PDF, Word (.docx), Excel (.xlsx), PNG image, JPEG image"]
    assert owner.post(url, {"other": "x"}).status_code == 400
    assert owner.post(url, {"file": "not a file"}).json()["file"]
    assert owner.post(url, "{}", content_type="application/json").status_code == 415
    assert client_for(place["analyst"]).post(url, {"file": upload("x.pdf", PDF_BYTES)}).status_code == 403
    submitted = walk(draft(place, title_zh="已申报"), "submit")
    late = owner.post(f"/api/v1/projects/{submitted.key}/attachments/", {"file": upload("x.pdf", PDF_BYTES)})
    assert late.status_code == 400 and "state" in late.json()
    settings.PROGRAMME_ATTACHMENT_MAX_BYTES = 1000
    big = owner.post(url, {"file": upload("big.pdf", PDF_BYTES.ljust(2000, b" "))})
    assert big.status_code == 400 and "larger than the limit" in big.json()["file"][0]
    assert not Attachment.objects.exists() and stored_files(media) == []


def test_a_request_longer_than_the_limit_is_refused_before_its_body_is_read(place, media, settings):
    settings.PROGRAMME_ATTACHMENT_MAX_BYTES = 1000
    project = draft(place)
    response = client_for(place["owner"]).generic(
        "POST", f"/api/v1/projects/{project.key}/attachments/", b"x" * 10,
        content_type="multipart/form-data; boundary=xyz", CONTENT_LENGTH=str(1000 + 65 * 1024))
    assert response.status_code == 400 and "larger than the limit of 1000 bytes" in response.json()["file"][0]


def test_a_file_missing_from_storage_is_a_404(place, media):
    project = draft(place)
    row = attachments.attach(project, upload("申报书.pdf", PDF_BYTES))
    (media / row.file.name).unlink()
    got = client_for(place["owner"]).get(f"/api/v1/projects/{project.key}/attachments/{row.pk}/download/")
    assert got.status_code == 404
