"""Files attached to a project (附件): application documents, contracts, certificates,
acceptance reports (docs/programs.md).

Before anything is stored, a file is checked:
- its size, against `settings.PROGRAMME_ATTACHMENT_MAX_BYTES` (20 MB by default): the
  size the upload declares first, then the bytes themselves, read in chunks and never
  past the limit, so an oversized file is refused without being read into memory;
- its type, from its first bytes (magic numbers), never from its name or the
  Content-Type the client sent: a program renamed to .pdf is refused. Word and Excel
  files are ZIP packages; the package's [Content_Types].xml says which (a macro-enabled
  .docm or .xlsm is neither). `settings.PROGRAMME_ATTACHMENT_TYPES` narrows the types.

Who may attach (scoping): the bureau of the applicant's district at any stage (review
opinions, contracts, acceptance reports); the applicant's people while the project is a
draft (the application's documents) and again once it is approved and running (evidence:
certificates, invoices), but not while it is submitted or under review — the reviewers
read what was submitted — nor once it is rejected, completed or terminated.

Attachments are not removed: they are part of the project's record.
"""

import hashlib
import zipfile
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files import File
from django.db import transaction

from kechuang.accounts.scoping import can_change, can_review

from .models import Attachment, Project, ProjectState
from .services import NotAllowed, ProgrammeError

P = ProjectState
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PNG = "image/png"
JPEG = "image/jpeg"

#: The types kechuang recognises: MIME type → (what a person calls it, the extensions it goes by).
TYPES = {
    PDF: ("PDF", (".pdf",)),
    DOCX: ("Word (.docx)", (".docx",)),
    XLSX: ("Excel (.xlsx)", (".xlsx",)),
    PNG: ("PNG image", (".png",)),
    JPEG: ("JPEG image", (".jpg", ".jpeg")),
}
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_TYPES = tuple(TYPES)

#: States in which the applicant's own people may attach files (see the module's docstring).
APPLICANT_ATTACHES = (P.DRAFT, P.APPROVED, P.IN_PROGRESS)

#: What a refused file most likely is, by its first bytes: for a message the user understands.
LOOKS_LIKE = [
    (b"MZ", "a Windows program (.exe, .dll)"),
    (b"\x7fELF", "a Linux program"),
    (b"#!", "a script"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office document (.doc, .xls); save it as .docx or .xlsx"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"GIF8", "a GIF image"),
    (b"{\\rtf", "an RTF document"),
    (b"<", "a web page or XML"),
]
CHUNK = 64 * 1024
#: How much of [Content_Types].xml is read: a real one is a few kilobytes.
CONTENT_TYPES_LIMIT = 1024 * 1024


def max_bytes() -> int:
    """The largest file accepted, in bytes (read at each call: the settings may change in tests)."""
    return int(getattr(settings, "PROGRAMME_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def allowed_types() -> tuple[str, ...]:
    return tuple(getattr(settings, "PROGRAMME_ATTACHMENT_TYPES", DEFAULT_TYPES))


def readable_size(size: int) -> str:
    """20.0 MB, 64 KB, 1000 bytes."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{size // 1024} KB" if size >= 1024 and size % 1024 == 0 else f"{size} bytes"


def _allowed_labels() -> str:
    return ", ".join(TYPES[t][0] for t in allowed_types() if t in TYPES)


def detect(file) -> str:
    """The file's MIME type from its contents; `ProgrammeError("file", …)` when it is none
    of the recognised types."""
    file.seek(0)
    head = file.read(16)
    file.seek(0)
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"PK\x03\x04"):
        return _office_type(file)
    what = next((label for magic, label in LOOKS_LIKE if head.startswith(magic)), "of a type kechuang does not accept")
    raise ProgrammeError("file", f"by its contents this file is {what}, whatever its name; accepted: "
                                 f"{_allowed_labels()}")


def _office_type(file) -> str:
    try:
        with zipfile.ZipFile(file) as package:
            try:
                with package.open("[Content_Types].xml") as member:
                    declared = member.read(CONTENT_TYPES_LIMIT)
            except KeyError:
                declared = b""
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError):
        raise ProgrammeError("file", "it begins like a ZIP package (.docx, .xlsx) but cannot be read as one; "
                                     "is it damaged?") from None
    finally:
        file.seek(0)
    if b"wordprocessingml.document.main+xml" in declared:
        return DOCX
    if b"spreadsheetml.sheet.main+xml" in declared:
        return XLSX
    raise ProgrammeError("file", "by its contents this file is a ZIP archive, not a Word (.docx) or Excel (.xlsx) "
                                 f"document (macro-enabled ones are refused); accepted: {_allowed_labels()}")


def measure(file, limit: int) -> tuple[int, str]:
    """(size, SHA-256) of the file, read in chunks; refused as soon as it passes `limit`."""
    file.seek(0)
    digest, size = hashlib.sha256(), 0
    while chunk := file.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise ProgrammeError("file", f"the file is larger than the limit of {readable_size(limit)}")
        digest.update(chunk)
    file.seek(0)
    return size, digest.hexdigest()


def clean_name(name: str) -> str:
    """The client's file name without any folder, control characters or what the
    database cannot store; at most 255 characters, keeping the extension."""
    base = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and not "\ud800" <= ch <= "\udfff").strip()
    if base in ("", ".", ".."):
        return "attachment"
    if len(base) > 255:
        suffix = PurePosixPath(base).suffix[:20]
        base = base[:255 - len(suffix)] + suffix
    return base


def download_name(attachment: Attachment) -> str:
    """The name a download is saved under: the original one, with the extension of the
    type it really is added when it has another (so "notes.html" that is a PDF opens as one)."""
    _, extensions = TYPES.get(attachment.content_type, ("", ()))
    name = attachment.original_name
    if extensions and PurePosixPath(name).suffix.lower() not in extensions:
        name = f"{name}{extensions[0]}"
    return name


def check_may_attach(project: Project, by) -> None:
    """Whether `by` may attach a file to `project` now (see the module's docstring)."""
    if by is None or can_review(by, project.applicant):
        return
    if not can_change(by, project):
        raise NotAllowed("project", f"only the applicant's own users or the bureau attach files to {project}")
    if project.state not in APPLICANT_ATTACHES:
        raise ProgrammeError("state", f"the project is {project.state}: the applicant attaches files to a draft "
                                      "application or to an approved project in progress, not while it is "
                                      "under review or closed; the bureau may attach them")


def attach(project: Project, uploaded, *, by=None) -> Attachment:
    """Store an uploaded file (a Django `File`) as an attachment of `project`, checked as
    the module's docstring says. A refused file leaves nothing behind: no row, no file."""
    check_may_attach(project, by)
    if not isinstance(uploaded, File):
        uploaded = File(uploaded)  # an open file, from the command line
    limit = max_bytes()
    declared = getattr(uploaded, "size", None)
    if declared is not None and declared > limit:  # refused before a byte is read
        raise ProgrammeError("file", f"the file is larger than the limit of {readable_size(limit)}")
    size, sha256 = measure(uploaded, limit)
    if size == 0:
        raise ProgrammeError("file", "the file is empty")
    content_type = detect(uploaded)
    if content_type not in allowed_types():
        raise ProgrammeError("file", f"by its contents this file is {TYPES[content_type][0]}; accepted: "
                                     f"{_allowed_labels()}")
    name = clean_name(getattr(uploaded, "name", ""))
    stored_name = None
    try:
        with transaction.atomic():
            locked = Project.objects.select_for_update(of=("self",)).select_related("applicant").get(pk=project.pk)
            check_may_attach(locked, by)  # the state may have changed while the file was read
            twin = locked.attachments.filter(sha256=sha256).first()
            if twin is not None:
                raise ProgrammeError("file", f"this file is already attached as {twin.original_name}")
            row = Attachment(project=locked, original_name=name, content_type=content_type, size=size,
                             sha256=sha256, uploaded_by=by)
            row.file.save(f"attachment{TYPES[content_type][1][0]}", uploaded, save=False)
            stored_name = row.file.name
            if by is not None:
                row._history_user = by
            row.save()
    except BaseException:
        if stored_name is not None:
            row.file.storage.delete(stored_name)
        raise
    return row
