"""The bulletins' web pages through Django's test client, on the demo: the public reads a
published bulletin (the seed's breadcrumb, its figures linked to the annex, its files with
their checksums, its versions, what would change), a draft is seen only by the bureau and
analysts of its region, the bureau publishes and republishes from the page, the Atom feed
lists what is published, and the template editor previews and saves for the bureau only.
Bad input is named on the page, never a server error; queries do not grow with the rows."""

import hashlib
import re
import xml.etree.ElementTree as ElementTree
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kechuang.bulletins import services
from kechuang.bulletins.models import Bulletin, BulletinFile, BulletinVersion
from kechuang.indicators.models import Indicator
from kechuang.registry.models import Region
from kechuang.statistics.periods import Period
from kechuang.statistics.services import record_observation

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
ATOM = "{http://www.w3.org/2005/Atom}"
TITLE_EN = "Tongzhou makes great strides in innovation"


def user(name: str):
    return get_user_model().objects.get(username=name)


def tongzhou() -> Region:
    return Region.objects.get(code="320612")


@pytest.fixture(scope="module")
def published(demo, django_db_blocker) -> BulletinVersion:
    """The seed's bulletin (Tongzhou, 2023H1), published once for the module by the bureau
    (rendering its PDFs takes seconds); each test's own changes are rolled back."""
    with django_db_blocker.unblock():
        bulletin = services.bulletin_for(services.find_template("half-year"), tongzhou(), Period.parse("2023H1"),
                                         by=user("bureau"))
        return services.publish(bulletin, by=user("bureau"))


@pytest.fixture
def draft(demo) -> Bulletin:
    return services.bulletin_for(services.find_template("half-year"), tongzhou(), Period.parse("2023H2"))


def page(client, url: str, **headers) -> str:
    answer = client.get(url, **headers)
    assert answer.status_code == 200, (url, answer.status_code)
    return answer.content.decode()


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def breadcrumb(html: str) -> str:
    found = re.search(r'<nav class="breadcrumb"[^>]*>(.*?)</nav>', html, re.S)
    return text_of(found.group(1))


def messages_of(html: str) -> list[str]:
    found = re.search(r'<ul class="messages">(.*?)</ul>', html, re.S)
    return [text_of(item) for item in re.findall(r"<li[^>]*>(.*?)</li>", found.group(1), re.S)] if found else []


# --- a published bulletin -----------------------------------------------------------------------


def test_the_public_reads_a_published_bulletin_with_the_seeds_breadcrumb(client, published):
    html = page(client, f"/bulletins/{published.bulletin_id}/", **EN)
    assert breadcrumb(html) == f"Home › Regions › Jiangsu › Nantong › Tongzhou District › {TITLE_EN}"
    assert f'<span aria-current="page">{TITLE_EN}</span>' in html
    assert 'href="/regions/320612/"' in html
    text = text_of(html)
    assert "approved 74 new scientific and technological innovation projects" in text
    assert "13.5 billion yuan ($1.86 billion)" in text
    assert re.search(r'<a class="figure" href="#figure-\d+" id="ref-\d+-1">74</a>', html)
    assert "Figures that would change if republished" in html and "None: republishing now" in html
    # The public reads; it neither publishes nor republishes.
    assert "Republish" not in html and "/publish/" not in html


def test_the_page_speaks_chinese_by_default_from_the_chinese_document(client, published):
    html = page(client, f"/bulletins/{published.bulletin_id}/", **ZH)
    assert breadcrumb(html).startswith("首页 › 地区 › 江苏省 › 南通市 › 通州区 › ")
    text = text_of(html)
    assert "135亿元" in text and "74个" in text
    assert "下载" in text and "13.5 billion" not in text


def test_every_figure_in_the_text_links_to_its_row_in_the_annex(client, published):
    for headers in (EN, ZH):
        html = page(client, f"/bulletins/{published.bulletin_id}/", **headers)
        linked = set(re.findall(r'href="#figure-(\d+)"', html))
        rows = set(re.findall(r'<tr id="figure-(\d+)"', html))
        assert linked and linked <= rows
        assert len(rows) == len(published.documents["en"]["figures"])


def test_the_downloads_are_the_stored_files_with_their_checksums(client, published):
    html = page(client, f"/bulletins/{published.bulletin_id}/", **EN)
    box = re.search(r'<section class="downloads".*?</section>', html, re.S).group(0)
    links = re.findall(r'<a href="(/bulletins/\d+/v1/[^"]+)" download="([^"]+)">', box)
    assert len(links) == 10  # PDF, Word, HTML, Markdown in both languages; CSV and JSON
    for url, filename in links:
        answer = client.get(url)
        assert answer.status_code == 200, url
        lang, fmt = re.search(r"/v1/(\w+)\.(\w+)$", url).groups()
        stored = BulletinFile.objects.get(version=published, language="" if lang == "data" else lang, format=fmt)
        assert answer.content == bytes(stored.content)
        digest = hashlib.sha256(answer.content).hexdigest()
        assert digest == stored.sha256 and f"<code>{digest}</code>" in box
        assert answer["ETag"] == f'"{digest}"' and answer["X-Content-Type-Options"] == "nosniff"
        assert answer["Content-Disposition"] == f'attachment; filename="{filename}"'
    pdf = client.get(f"/bulletins/{published.bulletin_id}/v1/en.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert "tongzhou-2023H1-half-year-v1-en.pdf" in pdf["Content-Disposition"]
    data = client.get(f"/bulletins/{published.bulletin_id}/v1/data.csv")
    assert data["Content-Type"].startswith("text/csv") and "tongzhou-2023H1-half-year-v1-data.csv" in \
        data["Content-Disposition"]
    again = client.get(f"/bulletins/{published.bulletin_id}/v1/en.pdf", HTTP_IF_NONE_MATCH=pdf["ETag"])
    assert again.status_code == 304


@pytest.mark.parametrize("tail", ["v1/fr.pdf", "v1/en.exe", "v1/data.pdf", "v1/en.csv", "v2/en.pdf", "v2/",
                                  "v0/", "v1/en.pdf.pdf"])
def test_a_file_or_version_that_does_not_exist_is_a_404(client, published, tail):
    assert client.get(f"/bulletins/{published.bulletin_id}/{tail}").status_code == 404


def test_a_missing_bulletin_is_a_404(client, demo):
    assert client.get("/bulletins/999999/").status_code == 404
    assert client.get("/bulletins/999999/v1/en.pdf").status_code == 404


def test_the_page_lists_a_version_and_each_version_has_its_page(client, published):
    html = page(client, f"/bulletins/{published.bulletin_id}/", **EN)
    assert f'href="/bulletins/{published.bulletin_id}/v1/"' in html and "Version 1" in html
    version = page(client, f"/bulletins/{published.bulletin_id}/v1/", **EN)
    assert "13.5 billion yuan ($1.86 billion)" in text_of(version)


# --- drafts ---------------------------------------------------------------------------------------


def test_a_draft_is_a_404_to_the_public_and_to_an_enterprise(client, draft):
    url = f"/bulletins/{draft.pk}/"
    assert client.get(url).status_code == 404
    client.force_login(user("zhongkeyi"))
    assert client.get(url).status_code == 404
    assert client.post(f"{url}publish/").status_code == 404


def test_an_analyst_reads_a_draft_as_it_would_be_published_but_does_not_publish_it(client, draft):
    client.force_login(user("analyst"))
    html = page(client, f"/bulletins/{draft.pk}/", **EN)
    assert "Draft: not published" in html and "second half of 2023" in html
    assert 'class="bulletin-frame preview"' in html
    assert "/publish/" not in html
    assert client.post(f"/bulletins/{draft.pk}/publish/").status_code == 403
    assert not draft.versions.exists()


def test_a_draft_lists_the_sentences_left_out_for_want_of_their_figures(client, demo):
    empty = services.bulletin_for(services.find_template("half-year"), tongzhou(), Period.parse("2031H1"))
    client.force_login(user("bureau"))
    html = page(client, f"/bulletins/{empty.pk}/", **EN)
    assert "sentences are left out" in html
    assert "sections[0].paragraphs[1].en" in html and "sections[2].paragraphs[1].en" in html


def test_a_year_to_date_draft_is_a_page_not_a_server_error(client, demo):
    draft = services.bulletin_for(services.find_template("half-year"), tongzhou(), Period.parse("2023-01..2023-05"))
    client.force_login(user("bureau"))
    html = page(client, f"/bulletins/{draft.pk}/", **ZH)
    assert "草稿：尚未发布" in html and "1-5月" in text_of(html)


def test_the_bureau_publishes_a_draft_from_its_page(client, draft):
    client.force_login(user("bureau"))
    html = page(client, f"/bulletins/{draft.pk}/", **EN)
    assert f'action="/bulletins/{draft.pk}/publish/"' in html
    answer = client.post(f"/bulletins/{draft.pk}/publish/", follow=True, **EN)
    assert answer.redirect_chain[-1][0] == f"/bulletins/{draft.pk}/"
    (version,) = draft.versions.all()
    assert version.number == 1 and version.published_by == user("bureau")
    html = answer.content.decode()
    assert "Version 1 is published." in messages_of(html)
    assert "Draft: not published" not in html and "Downloads" in html
    # Published now: the public reads it.
    client.logout()
    assert client.get(f"/bulletins/{draft.pk}/").status_code == 200


def test_publishing_is_a_post_by_a_signed_in_user(client, draft):
    answer = client.post(f"/bulletins/{draft.pk}/publish/")
    assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")
    client.force_login(user("bureau"))
    assert client.get(f"/bulletins/{draft.pk}/publish/").status_code == 405
    assert not draft.versions.exists()


def test_publishing_needs_the_forms_csrf_token(draft):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user("bureau"))
    assert browser.post(f"/bulletins/{draft.pk}/publish/").status_code == 403
    assert not draft.versions.exists()


def test_republishing_needs_a_note_and_makes_version_two(client, published):
    client.force_login(user("bureau"))
    url = f"/bulletins/{published.bulletin_id}/"
    html = page(client, url, **EN)
    assert "Republish" in html and "Publish version 2" in html
    answer = client.post(f"{url}publish/", {"note": "  "}, follow=True, **EN)
    assert messages_of(answer.content.decode()) == [
        "Revision note: a republished bulletin needs a revision note saying what changed"]
    assert published.bulletin.versions.count() == 1
    answer = client.post(f"{url}publish/", {"note": "The high-tech share is now official."}, follow=True, **EN)
    assert "Version 2 is published." in messages_of(answer.content.decode())
    assert [v.number for v in published.bulletin.versions.all()] == [1, 2]
    html = page(client, url, **EN)
    assert "The high-tech share is now official." in html and f'href="{url}v2/en.pdf"' in html
    older = page(client, f"{url}v1/", **EN)
    assert "You are reading version 1" in older and "Republish" not in older


def test_a_correction_after_publication_shows_under_would_change(client, published):
    share = Indicator.objects.get(code="high_tech_share").official_metric
    record_observation(tongzhou(), share, "2023H1", Decimal(57), status="published")
    html = page(client, f"/bulletins/{published.bulletin_id}/", **EN)
    section = re.search(r'<section class="would-change".*?</section>', html, re.S).group(0)
    row = text_of(re.search(r'<tr id="change-high_tech_share">(.*?)</tr>', section, re.S).group(1))
    assert row == "high-tech industry share of above-designated-size industrial output high_tech_share " \
                  "Tongzhou District 2023 H1 56.0% 57.0%"
    assert "None: republishing" not in section
    # The published article is unchanged: it still says 56.
    assert "accounted for 56 percent" in text_of(html)


# --- the list and the feed -----------------------------------------------------------------------


def test_the_list_shows_the_published_to_everyone_and_drafts_to_the_bureau(client, published, draft):
    html = page(client, "/bulletins/", **EN)
    assert f'href="/bulletins/{published.bulletin_id}/"' in html and TITLE_EN in html
    assert f'href="/bulletins/{draft.pk}/"' not in html
    assert '<link rel="alternate" type="application/atom+xml" href="/bulletins/feed.atom?lang=en"' in html
    assert "New bulletin" not in html
    client.force_login(user("bureau"))
    html = page(client, "/bulletins/", **EN)
    assert f'href="/bulletins/{draft.pk}/"' in html and 'class="tag draft"' in html
    assert "New bulletin" in html and 'action="/bulletins/new/"' in html


def test_the_list_filters_by_region_and_period_and_names_a_bad_filter(client, published, draft):
    client.force_login(user("analyst"))

    def shown(**query):
        return re.findall(r'<td><a href="/bulletins/(\d+)/">', page(client, "/bulletins/?" + "&".join(
            f"{key}={value}" for key, value in query.items()), **EN))

    assert set(shown()) == {str(published.bulletin_id), str(draft.pk)}
    assert shown(period="2023H1") == [str(published.bulletin_id)]
    assert set(shown(region="320600")) == {str(published.bulletin_id), str(draft.pk)}
    assert shown(region="320613") == []
    html = page(client, "/bulletins/?period=2023H9&region=99", **EN)
    assert "Some filters were not applied" in html and "2023H9 is not a period code" in html
    assert "No region has the code 99" in html
    assert len(re.findall(r'<td><a href="/bulletins/(\d+)/">', html)) == 2


def test_the_bureau_opens_a_new_draft_from_the_list(client, demo):
    client.force_login(user("bureau"))
    answer = client.post("/bulletins/new/", {"template": "half-year", "region": "320612", "period": "2022H2"})
    bulletin = Bulletin.objects.get(region__code="320612", period="2022H2")
    assert answer.status_code == 302 and answer["Location"] == f"/bulletins/{bulletin.pk}/"
    answer = client.post("/bulletins/new/", {"template": "half-year", "region": "320612", "period": "soon"},
                         follow=True, **EN)
    assert answer.status_code == 200 and any("soon is not a period code" in m for m in
                                             messages_of(answer.content.decode()))
    # A region outside the bureau's district is not offered, and not taken.
    answer = client.post("/bulletins/new/", {"template": "half-year", "region": "320613", "period": "2022H2"},
                         follow=True, **EN)
    assert not Bulletin.objects.filter(region__code="320613").exists()
    client.force_login(user("analyst"))
    assert client.post("/bulletins/new/", {"template": "half-year", "region": "320612",
                                           "period": "2022H1"}).status_code == 403


def test_the_feed_is_atom_listing_the_published_and_not_the_draft(client, published, draft):
    answer = client.get("/bulletins/feed.atom")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(answer.content)
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert feed.find(f"{ATOM}{required}") is not None
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 1
    entry = entries[0]
    assert entry.find(f"{ATOM}title").text == published.documents["zh"]["title"]
    assert entry.find(f"{ATOM}link").get("href").endswith(f"/bulletins/{published.bulletin_id}/v1/")
    assert "74个" in entry.find(f"{ATOM}summary").text
    assert entry.find(f"{ATOM}author/{ATOM}name").text == "通州区"
    for required in ("id", "updated"):
        assert entry.find(f"{ATOM}{required}").text
    english = ElementTree.fromstring(client.get("/bulletins/feed.atom?lang=en").content)
    entry = english.find(f"{ATOM}entry")
    assert entry.find(f"{ATOM}title").text == TITLE_EN
    assert "approved 74 new" in entry.find(f"{ATOM}summary").text
    assert f"/bulletins/{draft.pk}/" not in answer.content.decode()


def test_the_top_bar_links_the_bulletins_for_everyone(client, demo):
    assert 'href="/bulletins/"' in page(client, "/regions/", **EN)


def test_the_list_runs_the_same_queries_for_one_bulletin_or_seven(client, published):
    template = services.find_template("half-year")
    client.force_login(user("bureau"))
    counts = []
    for drafts in (0, 6):
        for number in range(drafts):
            services.bulletin_for(template, tongzhou(), Period.parse(f"{2010 + number}H1"))
        with CaptureQueriesContext(connection) as queries:
            html = page(client, "/bulletins/", **EN)
        assert len(re.findall(r'<td><a href="/bulletins/(\d+)/">', html)) == drafts + 1
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 10


def test_the_bulletin_pages_run_the_same_queries_for_one_version_or_two(client, published,
                                                                         django_assert_max_num_queries):
    client.force_login(user("bureau"))
    version = f"/bulletins/{published.bulletin_id}/v1/"  # a version's page does not recompute what would change
    with django_assert_max_num_queries(8) as first:
        page(client, version)
    with CaptureQueriesContext(connection) as main:  # what would change runs the indicators engine
        page(client, f"/bulletins/{published.bulletin_id}/")
    services.publish(published.bulletin, note="again")
    with django_assert_max_num_queries(len(first)):
        page(client, version)
    with django_assert_max_num_queries(len(main)):
        page(client, f"/bulletins/{published.bulletin_id}/")


# --- templates -----------------------------------------------------------------------------------


def test_the_templates_are_for_the_bureau_and_analysts(client, demo):
    answer = client.get("/bulletins/templates/")
    assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")
    client.force_login(user("zhongkeyi"))
    assert client.get("/bulletins/templates/").status_code == 403
    assert client.get("/bulletins/templates/half-year/").status_code == 403
    client.force_login(user("analyst"))
    html = page(client, "/bulletins/templates/", **EN)
    assert 'href="/bulletins/templates/half-year/"' in html and "New template" not in html
    assert client.get("/bulletins/templates/no-such-template/").status_code == 404


def test_an_analyst_reads_a_template_and_may_not_save_it(client, demo):
    client.force_login(user("analyst"))
    html = page(client, "/bulletins/templates/half-year/", **EN)
    assert "{{ region_short }} makes great strides in innovation" in html
    assert "<textarea" not in html and 'value="save"' not in html
    source = services.find_template("half-year").source_text
    answer = client.post("/bulletins/templates/half-year/", {"action": "save", "source": source.replace(
        "great strides", "small steps")})
    assert answer.status_code == 403
    assert "great strides" in services.find_template("half-year").source_text
    assert client.get("/bulletins/templates/new/").status_code == 403


def test_a_preview_with_an_undeclared_name_names_where(client, demo):
    client.force_login(user("bureau"))
    source = services.find_template("half-year").source_text.replace(
        "Additionally, the high-tech sector", "Additionally, {{ secret_number }} the high-tech sector")
    answer = client.post("/bulletins/templates/half-year/", {
        "action": "preview", "source": source, "region": "320612", "period": "2023H1"},
        HTTP_HX_REQUEST="true", **EN)
    html = answer.content.decode()
    assert answer.status_code == 200 and "<html" not in html and "HX-Request" in answer["Vary"]
    assert "sections[0].paragraphs[1].en: secret_number: not declared" in text_of(html)
    # Nothing was saved.
    assert "secret_number" not in services.find_template("half-year").source_text


def test_a_preview_renders_both_languages_without_saving(client, demo):
    client.force_login(user("bureau"))
    source = services.find_template("half-year").source_text.replace("makes great strides", "keeps innovating")
    answer = client.post("/bulletins/templates/half-year/", {
        "action": "preview", "source": source, "region": "320612", "period": "2023H1"}, **EN)
    html = answer.content.decode()
    assert answer.status_code == 200 and "<html" in html
    assert "Tongzhou keeps innovating in innovation" in html and "135亿元" in text_of(html)
    assert "keeps innovating" not in services.find_template("half-year").source_text
    bad = client.post("/bulletins/templates/half-year/", {"action": "preview", "source": "title: [", "period": "x"},
                      HTTP_HX_REQUEST="true", **EN).content.decode()
    assert "Preview for period: x is not a period code" in text_of(bad)
    bad = client.post("/bulletins/templates/half-year/", {"action": "preview", "source": "title: [\n  x: : y"},
                      HTTP_HX_REQUEST="true", **EN).content.decode()
    assert "Template (YAML): line 2" in text_of(bad)


def test_the_bureau_saves_a_template_and_makes_a_new_one(client, demo):
    client.force_login(user("bureau"))
    source = services.find_template("half-year").source_text.replace("makes great strides", "keeps innovating")
    answer = client.post("/bulletins/templates/half-year/", {"action": "save", "source": source,
                                                             "name_en": "Half-year bulletin", "name_zh": "半年简报"},
                         follow=True, **EN)
    assert answer.redirect_chain[-1][0] == "/bulletins/templates/half-year/"
    assert "The template half-year is saved." in messages_of(answer.content.decode())
    saved = services.find_template("half-year")
    assert "keeps innovating" in saved.source_text and saved.name_zh == "半年简报"
    assert saved.updated_by == user("bureau")
    broken = client.post("/bulletins/templates/half-year/", {"action": "save", "source": source.replace(
        "{{ projects }}", "{{ projects.__class__ }}", 1) + "\nvalues: 3\n"}, **EN)
    assert broken.status_code == 400 and "Template (YAML): values" in text_of(broken.content.decode())

    html = page(client, "/bulletins/templates/new/", **EN)
    assert "<textarea" in html and "keeps innovating" in html  # a new one starts from the shipped one
    answer = client.post("/bulletins/templates/new/", {"action": "save", "code": "quarter", "source": source,
                                                       "name_en": "Quarterly", "name_zh": "季度简报"})
    assert answer.status_code == 302 and answer["Location"] == "/bulletins/templates/quarter/"
    taken = client.post("/bulletins/templates/new/", {"action": "save", "code": "quarter", "source": source,
                                                      "name_en": "Again", "name_zh": "再"}, **EN)
    assert taken.status_code == 400 and "A template with the code quarter exists" in taken.content.decode()
