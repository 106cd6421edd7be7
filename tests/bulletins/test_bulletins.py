"""The half-year bulletin from the demo states every figure and fact of the seed article, in
English and Chinese; templates render in a sandbox; publishing freezes what it published."""

import copy
import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from kechuang.accounts.models import Role
from kechuang.accounts.scoping import visible_to
from kechuang.accounts.services import grant_role
from kechuang.bulletins import services, templating
from kechuang.bulletins.document import Document, FigureRef
from kechuang.bulletins.models import Bulletin, BulletinFile
from kechuang.indicators.models import Indicator
from kechuang.registry.models import Region
from kechuang.statistics.periods import Period
from kechuang.statistics.services import record_observation

H1 = Period.parse("2023H1")

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def documents(demo, django_db_blocker):
    with django_db_blocker.unblock():
        return services.preview(services.find_template("half-year"), tongzhou(), H1)


def tongzhou() -> Region:
    return Region.objects.get(code="320612")


def spec_with(**changes) -> dict:
    spec = copy.deepcopy(services.find_template("half-year").spec)
    spec.update(changes)
    return spec


# --- the seed article, from data --------------------------------------------------------------

SEED_EN = [
    "In the first half of the year, Tongzhou approved 74 new scientific and technological innovation projects",
    "introduced 59 collaborative projects between academia and industry",
    'welcomed six new national-level "little giant" enterprises',
    "the high-tech sector accounted for 56 percent of Tongzhou's total industrial output",
    "Zhongkeyi (Nantong) Semiconductor Equipment Co Ltd in the Nantong National High-tech Industrial Development Zone",
    "a wholly owned subsidiary of Sky Technology Development Co Ltd",
    "established a presence in the zone in 2020",
    "first trial production was rolled out in November 2022",
    "annual production capacity currently stands at 13,000 units",
    "Hengli (Nantong) Industrial Park, which has reached its third phase of development",
    "will start operating its fourth phase at the end of this year",
    "Last year, the park generated 13.5 billion yuan ($1.86 billion) in output",
]

SEED_ZH = [
    "上半年，通州新批科技创新项目74个",
    "新引进产学研合作项目59项",
    "新增国家级专精特新“小巨人”企业6家",
    "比重达56.0%",
    "位于南通国家高新技术产业开发区的中科仪(南通)半导体设备有限责任公司",
    "是中国科学院沈阳科学仪器股份有限公司的全资子公司",
    "于2020年落户园区",
    "2022年11月首次试生产",
    "年产能达1.3万台",
    "恒力(南通)产业园已建成第三期项目，第四期项目将于年底投运",
    "2022年，该园区实现产值135亿元（约合18.6亿美元）",
]


@pytest.mark.parametrize("wording", SEED_EN)
def test_the_english_bulletin_states_the_seed_in_its_wording(documents, wording):
    assert wording in " ".join(documents["en"].text.split())


@pytest.mark.parametrize("wording", SEED_ZH)
def test_the_chinese_bulletin_states_the_same(documents, wording):
    assert wording in documents["zh"].text


def test_the_title_and_breadcrumb_are_the_seeds(documents):
    english = documents["en"]
    assert english.title == "Tongzhou makes great strides in innovation"
    assert [crumb.label for crumb in english.breadcrumb][:2] == ["Home", "Regions"]
    assert "Tongzhou District" in [crumb.label for crumb in english.breadcrumb]
    assert [crumb.label for crumb in documents["zh"].breadcrumb][-2] == "通州区"


def test_every_figure_in_the_text_is_in_the_annex_with_its_provenance(documents):
    for document in documents.values():
        referenced = {run.figure for section in document.sections for block in section.blocks
                      for run in getattr(block, "runs", ()) if isinstance(run, FigureRef)}
        assert referenced == {figure.number for figure in document.figures}
        for figure in document.figures:
            assert figure.link and figure.as_of and figure.text
            assert figure.basis in ("official", "computed", "registry")
    by_name = {figure.name: figure for figure in documents["en"].figures}
    assert by_name["projects"].indicator == "projects_approved" and by_name["projects"].value == "74"
    assert by_name["projects"].link == "/indicators/projects_approved/contributors/?region=320612&period=2023H1"
    assert by_name["hengli_output"].period == "2022" and by_name["hengli_output"].basis == "official"
    assert "tongzhou-innovation-2023-09-04" in {source.key for source in by_name["hengli_output"].sources}
    assert by_name["zhongkeyi.parent"].basis == "registry" and by_name["zhongkeyi.parent"].value == "sky-technology"
    assert by_name["little_giants"].contributors == 6


def test_a_document_survives_its_snapshot(documents):
    english = documents["en"]
    assert Document.from_dict(json.loads(json.dumps(english.as_dict()))) == english


def test_the_chart_shows_the_recent_half_years(documents):
    chart = documents["en"].sections[0].blocks[-1]
    assert chart.categories[-1] == "the first half of 2023" and len(chart.categories) == 6
    assert chart.series[0][1][-1] == "74"
    assert chart.svg.startswith("<svg")


# --- what a template may and may not do -------------------------------------------------------


def test_a_sentence_without_its_figure_is_left_out(demo):
    # No figures are reported for 2031: counts are zero, the high-tech share and the park's
    # output of 2030 are nothing, and their sentences are left out rather than printed with a gap.
    (document,) = services.preview(services.find_template("half-year"), tongzhou(), Period.parse("2031H1"),
                                    languages=("en",)).values()
    assert "approved zero new scientific" in document.text
    assert "high-tech sector" not in document.text and "the park generated" not in document.text
    assert [reason.split(":")[0] for reason in document.left_out] == [
        "sections[0].paragraphs[1].en", "sections[2].paragraphs[1].en"]
    assert "high_tech_share" not in {figure.name for figure in document.figures}


def test_a_suppressed_figure_is_printed_as_withheld_with_its_reason(demo):
    spec = {"title": {"en": "Town", "zh": "镇"},
            "values": {"output": {"indicator": "industrial_output", "area": "320612002", "period": "previous_year",
                                  "kind": "money"}},
            "sections": [{"paragraphs": [{"en": "The town produced {{ output }}.", "zh": "该镇产值{{ output }}。"}]}]}
    documents = services.preview(templating.check(spec), tongzhou(), H1)
    english, chinese = documents["en"], documents["zh"]
    assert english.text.endswith("The town produced [withheld].")
    (figure,) = english.figures
    assert figure.value == "" and figure.suppressed == "fewer than 3 enterprises contribute"
    assert chinese.figures[0].suppressed == "参与汇总的企业少于3家" and "[不予公布]" in chinese.text



@pytest.mark.parametrize("reason", [
    "a minimum or maximum is one enterprise's figure",
    "suppressed so that its difference from a related measure cannot reveal an enterprise's figure",
    "the two largest contributions exceed 85% of it",
])
def test_every_reason_for_a_withheld_figure_is_printed_in_chinese(reason):
    """A bulletin's Chinese text never carries the reason in English (the pages' words)."""
    from kechuang.indicators import disclosure

    chinese = templating._reason(reason, "zh")
    assert chinese == disclosure.reason_zh(reason) and chinese and not chinese.isascii()
    assert templating._reason(reason, "en") == reason

SANDBOX_ESCAPES = [
    "{{ projects.__class__.__mro__ }}",
    "{{ projects._renderer.inputs }}",
    "{{ region.__class__.__base__.__subclasses__() }}",
    "{{ (projects.value).__class__ }}",
    "{% for x in projects.value.as_tuple() %}{{ x.__init__.__globals__ }}{% endfor %}",
    "{{ 'x' * 1000000000 }}",  # the server's memory
    "{{ 9 ** 9 ** 9 }}",  # its time
    "{{ [year] * 100000 }}",
]


@pytest.mark.parametrize("text", SANDBOX_ESCAPES)
def test_a_template_that_reaches_outside_its_sandbox_fails_with_a_clear_error(demo, text):
    spec = spec_with(sections=[{"paragraphs": [{"en": text, "zh": "x"}]}])
    templating.check(spec)  # names are declared; the sandbox refuses the attributes when it renders
    with pytest.raises(services.BulletinError) as refused:
        services.preview(spec, tongzhou(), H1, languages=("en",))
    message = str(refused.value)
    assert "sections[0].paragraphs[0].en" in message
    assert "sandbox" in message or "read only what it declares" in message


@pytest.mark.parametrize(("text", "named"), [
    ("{{ settings.SECRET_KEY }}", "settings"),
    ("{{ request.user }}", "request"),
    ("{{ range(10**9)|list }}", "range"),
    ("{{ cycler.__init__.__globals__ }}", "cycler"),
])
def test_a_template_reads_only_the_names_it_declares(demo, text, named):
    spec = spec_with(sections=[{"paragraphs": [{"en": text, "zh": "x"}]}])
    with pytest.raises(templating.TemplateError) as refused:
        templating.check(spec)
    assert refused.value.where == "sections[0].paragraphs[0].en" and named in refused.value.reason


@pytest.mark.parametrize(("change", "where", "says"), [
    ({"values": {"x": {"indicator": "no_such_indicator"}}}, "values.x.indicator", "not an indicator"),
    ({"values": {"x": {"indicator": "projects_approved", "kind": "apples"}}}, "values.x.kind", "apples"),
    ({"values": {"x": {"indicator": "projects_approved", "dollars": True}}}, "values.x.dollars", "money"),
    ({"values": {"region": {"indicator": "projects_approved"}}}, "values", "used twice"),
    ({"sections": [{"paragraphs": [{"en": "{{ projects", "zh": "x"}]}]}, "sections[0].paragraphs[0].en",
     "line 1"),
    ({"sections": [{"paragraphs": [{"en": "x"}]}]}, "sections[0].paragraphs[0]", "'zh' is a required property"),
    ({"sections": [{"paragraphs": [{"en": "{{ zhongkeyi.revenue }}", "zh": "x"}]}]},
     "sections[0].paragraphs[0].en", "zhongkeyi.revenue: not a fact"),
    ({"sections": [{"paragraphs": [{"en": "{{ zhongkeyi._renderer }}", "zh": "x"}]}]},
     "sections[0].paragraphs[0].en", "zhongkeyi._renderer: not a fact"),
])
def test_a_broken_template_is_refused_naming_the_place(demo, change, where, says):
    with pytest.raises(templating.TemplateError) as refused:
        templating.check(spec_with(**change))
    assert refused.value.where == where and says in refused.value.reason


def test_the_editors_yaml_is_refused_naming_the_line(demo):
    with pytest.raises(services.BulletinError) as refused:
        services.save_template("mine", "title: {en: x, zh: y}\nsections: [\n  - x: : y\n", name_en="M", name_zh="我")
    assert "line 3" in str(refused.value)


def test_a_bureau_admin_keeps_templates_an_analyst_does_not(demo):
    source = services.find_template("half-year").source_text.replace("makes great strides", "keeps innovating")
    analyst = get_user_model().objects.get(username="analyst")
    with pytest.raises(services.NotAllowed):
        services.save_template("half-year", source, by=analyst)
    bureau = get_user_model().objects.get(username="bureau")
    saved = services.save_template("half-year-keeps", source, name_en="Copy", name_zh="副本", by=bureau)
    (document,) = services.preview(saved, tongzhou(), H1, languages=("en",)).values()
    assert document.title == "Tongzhou keeps innovating in innovation"


# --- publication ------------------------------------------------------------------------------


@pytest.fixture
def published(demo):
    bureau = get_user_model().objects.get(username="bureau")
    bulletin = services.bulletin_for(services.find_template("half-year"), tongzhou(), H1, by=bureau)
    return services.publish(bulletin, by=bureau)


def test_publishing_freezes_the_figures_and_every_file_with_its_checksum(published):
    formats = {(f.language, f.format) for f in published.files.all()}
    assert formats == {(lang, fmt) for lang in ("en", "zh") for fmt in ("html", "pdf", "docx", "md")} | {
        ("", "csv"), ("", "json")}
    for row in published.files.all():
        assert row.sha256 == BulletinFile.digest(bytes(row.content)) and row.size == len(bytes(row.content))
    assert published.figures["projects"]["value"] == "74"
    assert published.bulletin.is_published and published.number == 1
    data = json.loads(bytes(services.file_of(published, "", "json").content))
    assert data["figures"]["little_giants"]["value"] == "6" and data["version"] == 1
    csv_text = bytes(services.file_of(published, "", "csv").content).decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("name,indicator,area,period,value")
    assert "hengli_output,industrial_output,hengli-nantong-industrial-park,2022,13500000000" in csv_text


def test_a_correction_after_publication_changes_nothing_published_and_shows_as_would_change(published):
    before = {(f.language, f.format): (f.sha256, bytes(f.content)) for f in published.files.all()}
    share = Indicator.objects.get(code="high_tech_share").official_metric
    record_observation(tongzhou(), share, "2023H1", Decimal(57), status="published")
    published.refresh_from_db()
    after = {(f.language, f.format): (f.sha256, bytes(f.content)) for f in published.files.all()}
    assert after == before
    (change,) = services.would_change(published)
    assert (change.name, Decimal(change.published), Decimal(change.now)) == ("high_tech_share", 56, 57)
    with pytest.raises(services.BulletinError) as refused:
        services.publish(published.bulletin)
    assert refused.value.field == "note"
    second = services.publish(published.bulletin, note="The high-tech share corrected to 57 percent.")
    assert second.number == 2 and second.figures["high_tech_share"]["value"].startswith("57")
    assert "57 percent" in bytes(services.file_of(second, "en", "md").content).decode()
    assert services.would_change(second) == []
    assert services.file_of(published, "en", "md").sha256 == before[("en", "md")][0]


def test_a_republication_repeating_the_latest_note_is_refused_only_while_nothing_changed(published):
    """Found by the retried-requests drill: a republication sent twice made two identical versions."""
    share = Indicator.objects.get(code="high_tech_share").official_metric
    record_observation(tongzhou(), share, "2023H1", Decimal(57), status="published")
    note = "The high-tech share corrected."
    assert services.publish(published.bulletin, note=note).number == 2
    with pytest.raises(services.BulletinError) as refused:
        services.publish(published.bulletin, note=note)
    assert refused.value.field == "note"
    assert "version 2 was published at" in refused.value.reason and "nothing has changed" in refused.value.reason
    record_observation(tongzhou(), share, "2023H1", Decimal(58), status="published")
    assert services.publish(published.bulletin, note=note).number == 3  # the same note, but a figure changed
    assert services.publish(published.bulletin, note="Republished to say so.").number == 4  # a new note
    assert list(published.bulletin.versions.values_list("number", flat=True).order_by("number")) == [1, 2, 3, 4]


def test_a_published_version_is_never_changed(published):
    published.note = "rewritten"
    with pytest.raises(ValueError):
        published.save()
    with pytest.raises(ValueError):
        published.files.first().delete()


def test_only_a_bureau_admin_of_the_region_publishes(demo):
    analyst = get_user_model().objects.get(username="analyst")
    bulletin = services.bulletin_for(services.find_template("half-year"), tongzhou(), H1)
    with pytest.raises(services.NotAllowed):
        services.publish(bulletin, by=analyst)
    assert not bulletin.versions.exists()


def test_the_public_sees_published_bulletins_only(demo):
    from django.contrib.auth.models import AnonymousUser

    template = services.find_template("half-year")
    draft = services.bulletin_for(template, tongzhou(), Period.parse("2023H2"))
    shown = services.bulletin_for(template, tongzhou(), Period.parse("2022H2"))
    services.publish(shown)
    public = visible_to(Bulletin.objects.all(), AnonymousUser())
    assert shown in public and draft not in public
    analyst = get_user_model().objects.get(username="analyst")
    assert draft in visible_to(Bulletin.objects.all(), analyst)
    enterprise = get_user_model().objects.get(username="zhongkeyi")
    assert draft not in visible_to(Bulletin.objects.all(), enterprise)
    outsider = get_user_model().objects.create_user("elsewhere", password="x" * 12)
    grant_role(outsider, Role.ANALYST, by=None,
               region=Region.objects.filter(parent__code="320600").exclude(code="320612").first())
    assert draft not in visible_to(Bulletin.objects.all(), outsider)


def test_links_lead_back_to_the_site_from_a_downloaded_file_when_it_has_an_address(demo, settings):
    settings.SITE_URL = "https://kechuang.example.gov.cn"
    (document,) = services.preview(services.find_template("half-year"), tongzhou(), H1, languages=("en",)).values()
    assert all(figure.link.startswith("https://kechuang.example.gov.cn/") for figure in document.figures)
    assert document.breadcrumb[0].url == "https://kechuang.example.gov.cn/"


def test_a_year_to_date_bulletin_charts_the_same_months_of_earlier_years(demo):
    (document,) = services.preview(services.find_template("half-year"), tongzhou(), Period.parse("2023-01..2023-05"),
                                   languages=("zh",)).values()
    chart = document.sections[0].blocks[-1]
    assert chart.categories == ("2018年1-5月", "2019年1-5月", "2020年1-5月", "2021年1-5月", "2022年1-5月",
                                "2023年1-5月")
    assert document.text.startswith("通州科技创新取得新进展\n\n1-5月，通州新批科技创新项目")


def test_a_figure_recorded_as_published_was_reviewed_when_recorded(demo):
    share = Indicator.objects.get(code="high_tech_share").official_metric
    row = record_observation(tongzhou(), share, "2023H1", Decimal(56), status="published")
    assert row.reviewed_at is not None and row.reviewed_at >= row.created_at
