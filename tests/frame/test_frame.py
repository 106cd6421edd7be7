"""The frame every page shares: the language (browser, switch, cookie), the formatting of
names, money and periods per language, and the lists' sorting, pages and export."""

import io
from decimal import Decimal

import openpyxl
import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import translation

from kechuang.registry.models import Region
from kechuang.web import lists
from tests.indicators.conftest import world  # noqa: F401  (the fixture)


@pytest.fixture
def region(db):
    return Region.objects.get_or_create(code="320612", defaults={"level": "district", "name_zh": "通州区",
                                                                  "name_en": "Tongzhou District"})[0]


def test_a_page_is_in_chinese_unless_the_browser_asks_for_english(client, db):
    chinese = client.get("/indicators/").content.decode()
    assert '<html lang="zh-hans">' in chinese and "指标查询" in chinese and "Indicator explorer" not in chinese
    english = client.get("/indicators/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9").content.decode()
    assert '<html lang="en">' in english and "Indicator explorer" in english and "指标查询" not in english


def test_the_language_switch_keeps_the_choice_and_returns_to_the_page(client, db):
    page = client.get("/indicators/?codes=projects_approved").content.decode()
    assert 'name="language" value="en"' in page  # the switch offers the other language
    answer = client.post("/i18n/setlang/", {"language": "en", "next": "/indicators/?codes=projects_approved"})
    assert answer.status_code == 302 and answer["Location"] == "/indicators/?codes=projects_approved"
    # The choice outlives the request and beats the browser's own.
    english = client.get("/indicators/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "Indicator explorer" in english and 'name="language" value="zh-hans"' in english


def test_the_language_switch_refuses_a_language_it_does_not_have_and_a_foreign_next(client, db):
    answer = client.post("/i18n/setlang/", {"language": "xx", "next": "https://evil.example/"})
    assert answer.status_code == 302 and answer["Location"] == "/"
    assert "指标查询" in client.get("/indicators/").content.decode()


def render(source: str, language: str, **context) -> str:
    request = RequestFactory().get("/")
    with translation.override(language):
        return Template("{% load web %}" + source).render(Context({"request": request, **context}))


@pytest.mark.parametrize(("language", "expected"), [("zh-hans", "135亿元 · 2023年上半年 · 通州区"),
                                                     ("en", "13.5 billion yuan · 2023 H1 · Tongzhou District")])
def test_money_periods_and_names_follow_the_language(region, language, expected):
    text = render("{{ amount|money }} · {{ '2023H1'|period }} · {{ region|name }}", language,
                  amount=Decimal("13500000000"), region=region)
    assert text == expected


def test_a_name_missing_in_one_language_falls_back_to_the_other(region):
    region.name_en = ""
    assert render("{{ region|name }}|{{ region|other_name }}", "en", region=region) == "通州区|"
    assert render("{{ ''|money }}|{{ 'not a period'|period }}", "en") == "|not a period"


def request_for(query: str):
    return RequestFactory().get("/list/" + query)


def test_a_list_sorts_by_a_known_column_either_way_and_ignores_an_unknown_one(db):
    for code, name in (("320611", "港闸区"), ("320612", "通州区"), ("320613", "海门区")):
        Region.objects.get_or_create(code=code, defaults={"level": "district", "name_zh": name})
    queryset = Region.objects.filter(code__startswith="3206")
    columns = {"code": "code", "name": ["name_zh"]}
    assert [r.code for r in lists.ordered(request_for("?sort=-code"), queryset, columns, "code")][:2] == \
        ["320613", "320612"]
    ascending = [r.code for r in lists.ordered(request_for("?sort=code"), queryset, columns, "-code")]
    assert ascending == sorted(ascending)
    junk = [r.code for r in lists.ordered(request_for("?sort=password;drop"), queryset, columns, "-code")]
    assert junk == sorted(junk, reverse=True)


@pytest.mark.parametrize(("asked", "number"), [("?page=2", 2), ("?page=999", 3), ("?page=abc", 1), ("", 1)])
def test_a_page_number_past_the_end_or_not_a_number_still_gives_a_page(asked, number):
    assert lists.page(request_for(asked), list(range(120))).number == number


def test_the_sort_link_and_the_pager_keep_the_filters(rf):
    request = rf.get("/list/?kind=park&sort=name&page=3")
    html = Template("{% load web %}{% sort_link 'name' 'Name' %}|{% aria_sort 'name' %}|{% export_link 'csv' %}").render(
        Context({"request": request}))
    link, aria, export = html.split("|")
    assert 'href="?kind=park&amp;sort=-name"' in link and "▲" in link and aria == "ascending"
    assert export == "?kind=park&amp;sort=name&amp;format=csv"


def test_an_export_writes_every_row_with_its_columns_and_neutralises_formulas():
    rows = [{"name": "=HYPERLINK(\"x\")", "amount": Decimal("1.50")}, {"name": "中科仪", "amount": Decimal("2")}]
    answer = lists.download(rows, [("名称 Name", lambda row: row["name"]), ("金额", lambda row: row["amount"])],
                            "rows", "xlsx")
    assert answer["Content-Disposition"] == 'attachment; filename="rows.xlsx"'
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    assert [[cell.value for cell in row] for row in sheet.iter_rows()] == [
        ["名称 Name", "金额"], ["'=HYPERLINK(\"x\")", 1.5], ["中科仪", 2]]
    assert lists.export_format(request_for("?format=exe")) is None


@pytest.mark.parametrize(("text", "zh", "en"), [
    ("approved 已立项", "已立项", "approved"),
    ("academia–industry collaboration 产学研合作项目", "产学研合作项目", "academia–industry collaboration"),
    ("returned for correction 退回", "退回", "returned for correction"),
    ("GR202332001234", "GR202332001234", "GR202332001234"),
    ("通州区", "通州区", "通州区"),
])
def test_a_bilingual_choice_label_is_shown_in_the_page_language(text, zh, en):
    assert render("{{ text|label }}", "zh-hans", text=text) == zh
    assert render("{{ text|label }}", "en", text=text) == en


@pytest.mark.parametrize(("user", "shown", "hidden"), [
    (None, ["/regions/", "/designations/"], ["/programmes/calls/", "/statistics/review/", "/statistics/report/"]),
    ("bureau", ["/programmes/calls/", "/programmes/board/", "/statistics/review/", "/designations/screening/"],
     ["/programmes/reviews/", "/programmes/applications/"]),
    ("analyst", ["/programmes/calls/", "/designations/screening/"],
     ["/statistics/review/", "/statistics/report/", "/programmes/board/"]),
    ("owner", ["/programmes/calls/", "/programmes/applications/", "/statistics/report/"],
     ["/statistics/review/", "/programmes/board/", "/designations/screening/"]),
])
def test_the_top_bar_offers_each_role_its_workspaces_only(client, world, user, shown, hidden):  # noqa: F811
    if user:
        client.force_login(world[user])
    nav = client.get("/indicators/").content.decode().split('<nav aria-label="主导航">')[1].split("</nav>")[0]
    for link in shown:
        assert f'href="{link}"' in nav
    for link in hidden:
        assert f'href="{link}"' not in nav
