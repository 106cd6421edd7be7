"""The Atom feed of published bulletins (简报订阅): one entry per published version, newest first.

Chinese by default, English with `?lang=en`: each entry's title and summary (the bulletin's
first paragraph) come from the frozen document in that language, so an entry never changes
after it is published; a republished bulletin is a new entry (its version's page).
"""

from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils import translation
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape
from django.utils.translation import gettext as _

from kechuang.accounts.scoping import visible_to

from .document import Paragraph
from .models import BulletinVersion

ENTRIES = 50
#: The feed's language parameter → Django's language code and the feed's xml:lang.
LANGUAGES = {"zh": ("zh-hans", "zh-Hans"), "en": ("en", "en")}


class BulletinFeed(Feed):
    feed_type = Atom1Feed

    def get_object(self, request, *args, **kwargs) -> str:
        return "en" if request.GET.get("lang") == "en" else "zh"

    def get_feed(self, obj, request):
        with translation.override(LANGUAGES[obj][0]):
            return super().get_feed(obj, request)

    def title(self, lang: str) -> str:
        return _("kechuang bulletins")

    def subtitle(self, lang: str) -> str:
        return _("The innovation bulletins published by the science and technology bureau, every figure traceable")

    def link(self, lang: str) -> str:
        return reverse("bulletins")

    def feed_url(self, lang: str) -> str:
        return reverse("bulletins-feed") + ("?lang=en" if lang == "en" else "")

    def language(self, lang: str) -> str:
        return LANGUAGES[lang][1]

    def items(self, lang: str):
        # Public only: a version exists once its bulletin is published (scoping.visible_to).
        published = visible_to(BulletinVersion.objects.select_related("bulletin__region"), None)
        return list(published.defer("figures", "spec").order_by("-published_at", "-pk")[:ENTRIES])

    def item_title(self, item: BulletinVersion) -> str:
        title = self._lang_document(item)["title"]
        if item.number == 1:
            return title
        return _("%(title)s (version %(number)s)") % {"title": title, "number": item.number}

    def item_link(self, item: BulletinVersion) -> str:
        return reverse("bulletin-version-page", args=[item.bulletin_id, item.number])

    def item_description(self, item: BulletinVersion) -> str:
        # Atom's summary is HTML (type="html"): the plain text is escaped once for it.
        return escape(first_paragraph(self._lang_document(item)))

    def item_pubdate(self, item: BulletinVersion):
        return item.published_at

    def item_updateddate(self, item: BulletinVersion):
        return item.published_at

    def item_author_name(self, item: BulletinVersion) -> str:
        region = item.bulletin.region
        return (region.name_en or region.name_zh) if translation.get_language() == "en" else region.name_zh

    def _lang_document(self, item: BulletinVersion) -> dict:
        lang = "en" if translation.get_language() == "en" else "zh"
        return item.documents.get(lang) or item.documents["zh"]


def first_paragraph(document: dict) -> str:
    """The text of the document's first paragraph (its figures as printed), read from the frozen dict."""
    for section in document.get("sections", ()):
        for block in section.get("blocks", ()):
            if "runs" in block:
                return Paragraph(tuple(run if isinstance(run, str) else run["text"] for run in block["runs"])).text
    return ""
