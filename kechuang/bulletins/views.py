"""The bulletins' web pages: the list, one bulletin (published: its frozen article, downloads,
versions and what would change; a draft: its live preview), a version and its files, and
the bureau's template editor with its preview.

The pages read bulletins through `visible_to` (a published bulletin is everyone's; a draft
the bureau's and analysts' of its region, and a 404 to anyone else, so that nobody learns it
exists) and change them only through the services (`bulletin_for`, `publish`,
`save_template`), whose errors (BulletinError, naming the field) are shown as messages. The
article of a published version is its frozen document written by `writers.html.article`,
in the page's language: never rendered again from the data.
"""

from decimal import Decimal, InvalidOperation
from functools import reduce
from operator import or_

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.fields.json import KT
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kechuang.accounts.scoping import can_review, scope_of, visible_to
from kechuang.indicators import display
from kechuang.indicators.models import Indicator
from kechuang.indicators.views import last_half_year
from kechuang.registry.models import Region
from kechuang.registry.views import HOME_REGION
from kechuang.statistics.periods import Period
from kechuang.web import htmx, language, lists

from . import services, templating, writers
from .document import Document
from .forms import BulletinFilter, NewBulletinForm, PublishForm, TemplateForm
from .models import Bulletin, BulletinFile, BulletinTemplate, BulletinVersion

#: What a service's error names, as a page names it.
FIELD_NAMES = {
    "bulletin": gettext_lazy("Bulletin"),
    "code": gettext_lazy("Code"),
    "format": gettext_lazy("Format"),
    "name_en": gettext_lazy("Name in English"),
    "name_zh": gettext_lazy("Name in Chinese"),
    "note": gettext_lazy("Revision note"),
    "period": gettext_lazy("Period"),
    "region": gettext_lazy("Region"),
    "source": gettext_lazy("Template (YAML)"),
    "template": gettext_lazy("Template"),
}
FORMAT_NAMES = {"pdf": "PDF", "docx": "Word", "html": "HTML", "md": "Markdown", "csv": "CSV", "json": "JSON"}
LANGUAGE_NAMES = {"zh": gettext_lazy("Chinese"), "en": gettext_lazy("English")}
BASIS_NAMES = {"official": gettext_lazy("official"), "computed": gettext_lazy("computed"),
               "registry": gettext_lazy("registry")}
#: The order of the downloads: the PDF to read and print, Word to edit, then the web page and Markdown.
DOWNLOAD_ORDER = ("pdf", "docx", "html", "md")
DATA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
#: The words an English region name ends with that a file name leaves out (Tongzhou District → tongzhou).


def _problem(error: services.BulletinError) -> str:
    """A service's refusal as "Field: reason"; a template's reason already names where (sections[0]…)."""
    return f"{FIELD_NAMES.get(error.field, error.field)}: {error.reason}"


def _problems(form) -> list[str]:
    return [f"{form.fields[name].label}: {' '.join(errors)}" for name, errors in form.errors.items()]


def _visible_bulletin(request, pk: int) -> Bulletin:
    """The bulletin, if the user may see it; a draft is a 404 to anyone else, as a missing one."""
    return get_object_or_404(visible_to(Bulletin.objects.select_related("template", "region"), request.user), pk=pk)


def _may_publish(user, bulletin: Bulletin) -> bool:
    return user.is_authenticated and can_review(user, bulletin.region)


def _publishable_regions(user) -> list[Region]:
    """The regions the user prepares bulletins for: the subtrees they are bureau admin of. The
    operator (a superuser) is offered the deployment's own district and its towns."""
    scope = scope_of(user)
    if scope.everything:
        paths = tuple(Region.objects.filter(code=HOME_REGION).values_list("path", flat=True))
    else:
        paths = scope.change_paths
    if not paths:
        return []
    within = reduce(or_, (Q(path__startswith=path) for path in paths))
    return list(Region.objects.valid_on(timezone.localdate()).filter(within).order_by("path"))


def _require_templates(user) -> None:
    """The template pages are for users with a read scope (the bureau and analysts)."""
    if not (scope_of(user).everything or scope_of(user).read_paths):
        raise PermissionDenied(_("The bulletin templates are for the bureau's staff and analysts."))


# --- the list ----------------------------------------------------------------------------------


def bulletins(request):
    """The published bulletins, and for the bureau and analysts their drafts, newest first."""
    form = BulletinFilter(request.GET)
    wanted = form.filters()
    lang = language.current()
    latest = BulletinVersion.objects.filter(bulletin=OuterRef("pk")).order_by("-number")
    rows = (visible_to(Bulletin.objects.all(), request.user).select_related("template", "region")
            .annotate(title=Subquery(latest.values(text=KT(f"documents__{lang}__title"))[:1]),
                      version=Subquery(latest.values("number")[:1])))
    if "region" in wanted:
        rows = rows.filter(region__path__startswith=wanted["region"].path)
    if "period" in wanted:
        rows = rows.filter(period=wanted["period"].code)
    rows = rows.order_by(F("published_at").desc(nulls_first=True), "-created_at", "-pk")
    regions = _publishable_regions(request.user) if request.user.is_authenticated else []
    new_form = NewBulletinForm(regions=regions, initial={"period": last_half_year().code}) if regions else None
    scope = scope_of(request.user)
    return render(request, "bulletins/list.html", {
        "form": form, "problems": _problems(form), "page": lists.page(request, rows), "filtered": bool(wanted),
        "new_form": new_form, "may_read_templates": scope.everything or bool(scope.read_paths),
        "feed_url": _feed_url(lang),
    })


def _feed_url(lang: str) -> str:
    return reverse("bulletins-feed") + ("?lang=en" if lang == "en" else "")


@login_required
@require_POST
def new_bulletin(request):
    """Open (or find) the draft of a template for a region and period, and go to it."""
    regions = _publishable_regions(request.user)
    if not regions:
        raise PermissionDenied(_("Only a bureau admin prepares bulletins."))
    form = NewBulletinForm(request.POST, regions=regions)
    if not form.is_valid():
        for problem in _problems(form):
            messages.error(request, problem)
        return redirect("bulletins")
    region = next(region for region in regions if region.code == form.cleaned_data["region"])
    try:
        template = services.find_template(form.cleaned_data["template"])
        bulletin = services.bulletin_for(template, region, form.cleaned_data["period"], by=request.user)
    except services.NotAllowed as error:
        raise PermissionDenied(error.reason) from None
    except services.BulletinError as error:
        messages.error(request, _problem(error))
        return redirect("bulletins")
    return redirect("bulletin", pk=bulletin.pk)


# --- one bulletin ------------------------------------------------------------------------------


def _versions(bulletin: Bulletin) -> list[BulletinVersion]:
    """Its versions, newest first, without their documents (the list shows who and when)."""
    return list(bulletin.versions.select_related("published_by").defer("figures", "documents", "spec")
                .order_by("-number"))


def bulletin(request, pk: int):
    """A published bulletin as its latest version stands; a draft as it would be published now."""
    found = _visible_bulletin(request, pk)
    versions = _versions(found)
    if not versions:
        return _draft(request, found)
    return _published(request, found, versions, versions[0], main=True)


def version(request, pk: int, number: int):
    """One version as it was published (its own address, which the feed links to)."""
    found = _visible_bulletin(request, pk)
    versions = _versions(found)
    chosen = next((row for row in versions if row.number == number), None)
    if chosen is None:
        raise Http404(_("This bulletin has no such version."))
    return _published(request, found, versions, chosen, main=False)


def _published(request, bulletin: Bulletin, versions: list[BulletinVersion], chosen: BulletinVersion, *,
               main: bool):
    """The article of `chosen` with its files and the versions; the bulletin's own page (`main`)
    also shows what would change and, to its bureau admins, the republish form."""
    lang = language.current()
    frozen = BulletinVersion.objects.get(pk=chosen.pk)
    document = Document.from_dict(frozen.documents[lang])
    latest = main and chosen.number == versions[0].number
    context = {
        "bulletin": bulletin, "document": document, "version": chosen, "versions": versions, "latest": latest,
        "main": main,
        "newest": versions[0],
        # The writer escapes every text it writes (kechuang.bulletins.writers.html).
        "article": mark_safe(writers.html.article(document)),
        "downloads": _downloads(bulletin, frozen, lang),
        "may_publish": latest and _may_publish(request.user, bulletin),
        "feed_url": _feed_url(lang),
    }
    if latest:
        try:
            context["changes"] = _changes(frozen, document)
        except services.BulletinError as error:
            context["changes_problem"] = _problem(error)
        context["publish_form"] = PublishForm()
    return render(request, "bulletins/bulletin.html", context)


def _draft(request, bulletin: Bulletin):
    lang = language.current()
    context = {"bulletin": bulletin, "draft": True, "may_publish": _may_publish(request.user, bulletin),
               "feed_url": _feed_url(lang)}
    try:
        (document,) = services.preview(bulletin.template, bulletin.region, Period.parse(bulletin.period),
                                       languages=(lang,)).values()
    except services.BulletinError as error:
        context["preview_problem"] = _problem(error)
    else:
        context.update(document=document, article=mark_safe(writers.html.article(document)))
    return render(request, "bulletins/bulletin.html", context)


def _downloads(bulletin: Bulletin, version: BulletinVersion, lang: str) -> dict:
    """The version's files by language (the page's first), then the open data, each with its
    size and SHA-256 (read without the files' content)."""
    files = {(row.language, row.format): row for row in version.files.defer("content")}
    order = (lang, *(other for other in services.LANGUAGES if other != lang))
    formats = (*DOWNLOAD_ORDER, *(fmt for fmt in services.DOCUMENT_FORMATS if fmt not in DOWNLOAD_ORDER))
    documents = []
    for code in order:
        found = [_download(bulletin, version, files[(code, fmt)])
                 for fmt in formats if (code, fmt) in files]
        if found:
            documents.append({"language": LANGUAGE_NAMES[code], "code": code, "files": found})
    data = [_download(bulletin, version, files[("", fmt)]) for fmt in services.DATA_FORMATS if ("", fmt) in files]
    return {"documents": documents, "data": data}


def _download(bulletin: Bulletin, version: BulletinVersion, row: BulletinFile) -> dict:
    if row.language:
        url = reverse("bulletin-file", kwargs={"pk": bulletin.pk, "number": version.number, "lang": row.language,
                                               "fmt": row.format})
    else:
        url = reverse("bulletin-data", kwargs={"pk": bulletin.pk, "number": version.number, "fmt": row.format})
    return {"format": FORMAT_NAMES.get(row.format, row.format), "url": url, "size": row.size, "sha256": row.sha256,
            "filename": services.file_name(bulletin, version.number, row.language, row.format)}


def _changes(version: BulletinVersion, document: Document) -> list[dict]:
    """services.would_change, each figure named as the article names it, its values as the page's
    language writes them."""
    found = services.would_change(version)
    if not found:
        return []
    figures = {figure.name: figure for figure in document.figures}
    indicators = {row.code: row for row in Indicator.objects.filter(code__in={change.indicator for change in found})}
    rows = []
    for change in found:
        figure, indicator = figures.get(change.name), indicators.get(change.indicator)
        label = figure.label if figure else (language.bilingual(indicator) if indicator else change.name)
        rows.append({
            "name": change.name, "label": label, "area": figure.area if figure else change.area,
            "period": change.period,
            "published": _value_text(indicator, change.published), "now": _value_text(indicator, change.now),
            "published_basis": BASIS_NAMES.get(change.published_basis, change.published_basis),
            "now_basis": BASIS_NAMES.get(change.now_basis, change.now_basis),
            "basis_changed": change.published_basis != change.now_basis,
        })
    return rows


def _value_text(indicator: Indicator | None, value: str | None) -> str:
    if value is None:
        return _("withheld")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return value
    return display.text(indicator, amount, language.current()) if indicator else value


@login_required
@require_POST
def publish(request, pk: int):
    """Publish the draft as version 1, or republish with a revision note as the next version."""
    found = _visible_bulletin(request, pk)
    form = PublishForm(request.POST)
    if not form.is_valid():
        for problem in _problems(form):
            messages.error(request, problem)
        return redirect("bulletin", pk=found.pk)
    try:
        published = services.publish(found, by=request.user, note=form.cleaned_data["note"])
    except services.NotAllowed as error:
        raise PermissionDenied(error.reason) from None
    except services.BulletinError as error:
        messages.error(request, _problem(error))
    else:
        messages.success(request, _("Version %(number)s is published.") % {"number": published.number})
    return redirect("bulletin", pk=found.pk)


# --- the files -----------------------------------------------------------------------------------


def download(request, pk: int, number: int, lang: str, fmt: str):
    """One frozen file of a published version, as it was published (its SHA-256 is its ETag)."""
    known = fmt in services.DATA_FORMATS if lang == "" else (
        lang in services.LANGUAGES and fmt in services.DOCUMENT_FORMATS)
    if not known:
        raise Http404(_("A bulletin has no such file."))
    versions = visible_to(BulletinVersion.objects.select_related("bulletin__region", "bulletin__template"),
                          request.user)
    found = get_object_or_404(versions, bulletin_id=pk, number=number)
    row = get_object_or_404(BulletinFile.objects.filter(version=found), language=lang, format=fmt)
    etag = f'"{row.sha256}"'
    unchanged = get_conditional_response(request, etag=etag)
    if unchanged is not None:
        return unchanged
    content_type = writers.FORMATS[fmt][0] if fmt in writers.FORMATS else DATA_TYPES[fmt]
    response = HttpResponse(bytes(row.content), content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=services.file_name(found.bulletin, found.number, lang, fmt))
    response["ETag"] = etag
    response["X-Content-Type-Options"] = "nosniff"
    # A published file never changes: a new version has its own address.
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


def stylesheet(request):
    """The article's stylesheet: the one its downloadable page and its PDF are made with."""
    response = HttpResponse(writers.html.stylesheet(), content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    return response


# --- templates -----------------------------------------------------------------------------------


@login_required
def templates(request):
    _require_templates(request.user)
    rows = visible_to(BulletinTemplate.objects.select_related("updated_by"), request.user).order_by("code")
    return render(request, "bulletins/templates.html", {
        "rows": rows, "may_keep": services.may_keep_templates(request.user)})


@login_required
def template_editor(request, code: str | None = None):
    """A template's YAML with a preview in both languages; the bureau saves it, an analyst reads it.

    Preview renders what the editor holds, unsaved (htmx asks for the preview part only);
    Save checks it renders and keeps it (services.save_template)."""
    _require_templates(request.user)
    template = None
    if code is not None:
        template = get_object_or_404(visible_to(BulletinTemplate.objects.select_related("updated_by"),
                                                request.user), code=code)
    may_keep = services.may_keep_templates(request.user)
    if template is None and not may_keep:
        raise PermissionDenied(_("Only a bureau admin keeps bulletin templates."))
    context = {"template": template, "may_keep": may_keep, "new": template is None}
    if request.method != "POST":
        context["form"] = TemplateForm(new=template is None, initial=_initial(template, request.user))
        return render(request, "bulletins/template.html", context)
    if not may_keep:
        raise PermissionDenied(_("Only a bureau admin keeps bulletin templates."))
    form = TemplateForm(request.POST, new=template is None)
    context["form"] = form
    if request.POST.get("action") == "save":
        return _save_template(request, form, template, context)
    context.update(_preview(form))
    return htmx.answer(request, "bulletins/template.html", "bulletins/_preview.html", context)


def _initial(template: BulletinTemplate | None, user) -> dict:
    """The editor's fields: the template's (a new one starts from the shipped half-year
    bulletin), previewed for the user's own region and the last half-year that ended."""
    scope = scope_of(user)
    region = Region.objects.filter(path=scope.read_paths[0]).first() if scope.read_paths else None
    initial = {"region": region.code if region else HOME_REGION, "period": last_half_year().code}
    if template is not None:
        last = template.bulletins.order_by("-created_at").values_list("period", flat=True).first()
        return {**initial, "name_zh": template.name_zh, "name_en": template.name_en,
                "source": template.source_text, "period": last or initial["period"]}
    shipped = BulletinTemplate.objects.filter(code="half-year").first()
    return {**initial, "source": shipped.source_text if shipped else ""}


def _preview(form: TemplateForm) -> dict:
    """The editor's YAML rendered in both languages for the chosen region and period, unsaved;
    or the problems, each naming where (line 3; sections[0].paragraphs[1].en)."""
    if not form.is_valid():
        problems = _problems(form)
        # The fields a preview does not need (the code, the names) do not stop it.
        if any(name in form.errors for name in ("source", "region", "period")):
            return {"preview_problems": problems}
    cleaned = getattr(form, "cleaned_data", {})
    region = cleaned.get("region") or Region.objects.filter(code=HOME_REGION).first()
    period = cleaned.get("period") or last_half_year()
    if region is None:
        return {"preview_problems": [_("Preview for region: give a division code such as 320612.")]}
    try:
        spec = templating.check(templating.parse(form.cleaned_data["source"]))
        documents = services.preview(spec, region, period)
    except templating.TemplateError as error:
        return {"preview_problems": [f"{FIELD_NAMES['source']}: {error}"]}
    except services.BulletinError as error:
        return {"preview_problems": [_problem(error)]}
    return {"previews": [{"language": LANGUAGE_NAMES[lang], "code": lang, "document": document,
                          "article": mark_safe(writers.html.article(document))}
                         for lang, document in documents.items()],
            "preview_region": region, "preview_period": period}


def _save_template(request, form: TemplateForm, template: BulletinTemplate | None, context: dict):
    if not form.is_valid():
        context["problems"] = _problems(form)
        return render(request, "bulletins/template.html", context, status=400)
    data = form.cleaned_data
    code = template.code if template else data["code"]
    try:
        saved = services.save_template(code, data["source"], name_en=data["name_en"] or None,
                                       name_zh=data["name_zh"] or None, by=request.user)
    except services.NotAllowed as error:
        raise PermissionDenied(error.reason) from None
    except services.BulletinError as error:
        context["problems"] = [_problem(error)]
        return render(request, "bulletins/template.html", context, status=400)
    messages.success(request, _("The template %(code)s is saved.") % {"code": saved.code})
    return redirect("bulletin-template", code=saved.code)
