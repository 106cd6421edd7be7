"""The screening pages through Django's test client: a region's enterprises against a rule set
(eligible, near, not yet), filtered, sorted, paged and exported, and one enterprise's
explanation, criterion by criterion, with its figures and where they came from."""

import datetime as dt
import io
import re

import openpyxl
import pytest

from kechuang.designations import services

from .rules.conftest import HNTE_GOOD, TODAY, report, world  # noqa: F401  (the screening's small world)

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
#: The last day of the 2022 gradient measures: innovative SMEs are screened by INNOVATIVE-SME-2022.
BEFORE = "2026-03-31"
POOL = {"ruleset": "INNOVATIVE-SME-2022", "region": "320612", "date": BEFORE}


def rows_of(html: str) -> list[str]:
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    if not body:
        return []
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S)]


@pytest.fixture
def screened(world):  # noqa: F811
    """alpha holds a high-tech enterprise certificate (eligible as an innovative SME through it);
    beta reported the HNTE figures; gamma nothing."""
    services.grant(world["alpha"], "hnte", granted_on=dt.date(2024, 1, 10), today=TODAY)
    report(world["beta"], HNTE_GOOD)
    return world


def test_screening_is_the_bureaus_and_the_analysts(client, screened):
    answer = client.get("/designations/screening/", POOL)
    assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")
    client.force_login(screened["owner"])
    assert client.get("/designations/screening/", POOL).status_code == 403
    for name in ("bureau", "analyst"):
        client.force_login(screened[name])
        assert client.get("/designations/screening/", POOL).status_code == 200


def test_without_a_rule_set_the_page_lists_the_rule_sets_in_force(client, screened):
    client.force_login(screened["bureau"])
    html = client.get("/designations/screening/", {"date": BEFORE}, **EN).content.decode()
    assert "INNOVATIVE-SME-2022" in html and "TECH-INNOVATIVE-SME-2026" in html
    assert "?ruleset=INNOVATIVE-SME-2022&amp;region=320612&amp;date=2026-03-31" in html
    assert "?ruleset=TECH-INNOVATIVE-SME-2026&amp;" not in html  # not in force on the date
    assert 'value="320612"' in html  # the bureau's own district by default


def test_the_pool_lists_the_enterprises_by_standing_with_counts(client, screened):
    client.force_login(screened["bureau"])
    html = client.get("/designations/screening/", POOL, **EN).content.decode()
    rows = rows_of(html)
    assert [row.split()[0] for row in rows] == ["1", "2", "3"]
    assert "alpha Co" in rows[0] and "eligible" in rows[0]
    assert not any("rival" in row for row in rows)  # Chongchuan's enterprise is not in Tongzhou's pool
    counts = dict(re.findall(r'<li class="card (\w+)"><a [^>]*><span class="figure">(\d+)</span>', html))
    assert counts["eligible"] == "1" and sum(map(int, counts.values())) == 3
    assert f'href="/designations/screening/INNOVATIVE-SME-2022/alpha/?date={BEFORE}"' in html


def test_the_pool_filters_by_standing_and_name_and_sorts(client, screened):
    client.force_login(screened["bureau"])
    eligible = rows_of(client.get("/designations/screening/", {**POOL, "standing": "eligible"}, **EN).content.decode())
    assert len(eligible) == 1 and "alpha" in eligible[0]
    named = rows_of(client.get("/designations/screening/", {**POOL, "q": "gam"}, **EN).content.decode())
    assert len(named) == 1 and "gamma" in named[0]
    by_name = rows_of(client.get("/designations/screening/", {**POOL, "sort": "-name"}, **EN).content.decode())
    assert [row.split()[1] for row in by_name] == ["gamma", "beta", "alpha"]
    html = client.get("/designations/screening/", {**POOL, "standing": "eligible"}, HTTP_HX_REQUEST="true",
                      **EN).content.decode()
    assert "<html" not in html and len(rows_of(html)) == 1


def test_bad_questions_are_answered_with_a_message(client, screened):
    client.force_login(screened["bureau"])
    for query, words in (({**POOL, "ruleset": "NO-SUCH"}, "Rule set:"),
                         ({**POOL, "region": "999999"}, "No region has the code 999999"),
                         ({**POOL, "date": "2026-02-30"}, "Screening date:"),
                         ({**POOL, "ruleset": "TECH-INNOVATIVE-SME-2026"}, "in force"),
                         ({**POOL, "standing": "best"}, "Standing:"),
                         ({**POOL, "page": "many", "sort": "nonsense"}, "alpha")):
        answer = client.get("/designations/screening/", query, **EN)
        assert answer.status_code in (200, 400), query
        assert words in answer.content.decode(), query


def test_another_districts_pool_is_refused_with_a_message(client, screened):
    client.force_login(screened["bureau"])
    answer = client.get("/designations/screening/", {**POOL, "region": "320602"}, **EN)
    assert answer.status_code == 403 and "cultivation pool" in answer.content.decode()


def test_the_pool_exports(client, screened):
    client.force_login(screened["analyst"])
    answer = client.get("/designations/screening/", {**POOL, "format": "xlsx"}, **EN)
    assert answer.status_code == 200
    values = list(openpyxl.load_workbook(io.BytesIO(answer.content)).active.values)
    assert values[0][:4] == ("Rank", "Key", "Enterprise", "Standing")
    assert [row[1] for row in values[1:]] == ["alpha", "beta", "gamma"]
    assert values[1][3] == "eligible"


def test_the_pool_speaks_chinese_by_default(client, screened):
    client.force_login(screened["bureau"])
    html = client.get("/designations/screening/", POOL).content.decode()
    assert "符合条件" in html and "培育库" in html


@pytest.mark.parametrize("count", [1, 10])
def test_the_pool_runs_the_same_queries_for_one_enterprise_or_ten(client, world, count,  # noqa: F811
                                                                  django_assert_max_num_queries):
    from kechuang.registry.models import Organisation

    Organisation.objects.filter(key__in=["beta", "gamma"]).update(kind="university")
    for number in range(count - 1):
        report(world["organisation"](f"more-{number}"), HNTE_GOOD)
    client.force_login(world["bureau"])
    with django_assert_max_num_queries(9):
        answer = client.get("/designations/screening/", POOL)
    assert len(rows_of(answer.content.decode())) == count


# --- the explanation -----------------------------------------------------------------------------


def test_the_explanation_lists_every_criterion_with_its_status_and_sentence(client, screened):
    client.force_login(screened["bureau"])
    answer = client.get("/designations/screening/INNOVATIVE-SME-2022/alpha/", {"date": BEFORE}, **EN)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "alpha Co" in html and "eligible" in html
    statuses = re.findall(r'<li class="criterion (\w+)" id="criterion-([\w-]+)">', html)
    assert ("pass", "evaluation") in statuses
    assert "holds a valid high and new technology enterprise (HNTE) designation." in html


def test_the_explanation_shows_thresholds_values_and_the_figures_sources(client, screened):
    client.force_login(screened["bureau"])
    html = client.get("/designations/screening/HNTE-2016/beta/", {"date": "2026-04-01"}, **EN).content.decode()
    rd = re.search(r'id="criterion-rd-intensity">(.*?)</li>', html, re.S).group(1)
    assert "≥ 4%" in rd and "5%" in rd and 'class="status pass"' in rd
    assert "R&amp;D expenditure" in rd and "2024" in rd and "approved" in rd and re.search(r"#\d+", rd)
    assert "Figures used and where they came from" in rd
    gamma = client.get("/designations/screening/HNTE-2016/gamma/", {"date": "2026-04-01"}, **EN).content.decode()
    assert 'class="criterion missing"' in gamma and "not reported" in gamma


def test_the_explanation_is_for_whoever_may_see_the_enterprise(client, screened):
    url = "/designations/screening/HNTE-2016/alpha/"
    assert client.get(url).status_code == 302
    client.force_login(screened["owner"])  # alpha's own user
    assert client.get(url, {"date": "2026-04-01"}).status_code == 200
    assert client.get("/designations/screening/HNTE-2016/beta/").status_code == 404
    client.force_login(screened["chongchuan_bureau"])
    assert client.get(url).status_code == 404
    client.force_login(screened["bureau"])
    assert client.get("/designations/screening/HNTE-2016/nobody/").status_code == 404


def test_a_bad_rule_set_or_date_on_the_explanation_is_a_message(client, screened):
    client.force_login(screened["bureau"])
    answer = client.get("/designations/screening/NO-SUCH/alpha/", **EN)
    assert answer.status_code == 400 and 'role="alert"' in answer.content.decode()
    answer = client.get("/designations/screening/HNTE-2016/alpha/", {"date": "soon"}, **EN)
    assert answer.status_code == 200 and "is not a date" in answer.content.decode()
    answer = client.get("/designations/screening/HNTE-2016/park/", **EN)
    assert answer.status_code == 400 and "only enterprises are screened" in answer.content.decode()


def test_the_explanation_speaks_chinese_by_default(client, screened):
    client.force_login(screened["bureau"])
    html = client.get("/designations/screening/HNTE-2016/beta/", {"date": "2026-04-01"}).content.decode()
    assert "研发费用" in html and "标准" in html and "所用数据及来源" in html
