"""The registry REST API (/api/v1/).

Each resource gets the shared checks of `tests.api_base.ResourceAPITests` from its
data; the tests after them cover what is particular: region subtrees and the two
通州区, search, filters, the USCC rule, moves, shares, the schema and the docs pages.
"""

import datetime as dt
import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kechuang.registry import services, uscc
from kechuang.registry.models import Location, Organisation, RegionLink
from tests.api_base import ResourceAPITests, errors_of, send, serve_static_files_plainly

pytestmark = pytest.mark.django_db

SOURCE = "tongzhou-innovation-2023-09-04"


def valid_uscc(identifier: str) -> str:
    """A code that passes both check characters (invented; for synthetic rows only)."""
    return uscc.make("91320612", identifier)


def with_bad_check_character(code: str) -> str:
    return code[:17] + ("0" if code[17] != "0" else "1")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The default hasher is slow on purpose (half a second a user); these tests sign
    # in a staff user hundreds of times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db):
    """The seed article's places and organisations, built through the services."""
    source, _ = services.save_source(
        SOURCE,
        title="Tongzhou makes great strides in innovation",
        url="https://news.example.org/tongzhou-2023-09-04",
        published=dt.date(2023, 9, 4),
    )
    services.save_sector(
        "semiconductor-equipment", name_zh="半导体设备", name_en="Semiconductor equipment"
    )
    services.save_sector("new-materials", name_zh="新材料", name_en="New materials")

    def region(code, level, name_zh, name_en, parent=None):
        return services.save_region(
            code, level=level, name_zh=name_zh, name_en=name_en, parent=parent
        )[0]

    jiangsu = region("320000", "province", "江苏省", "Jiangsu")
    nantong = region("320600", "city", "南通市", "Nantong", jiangsu)
    tongzhou = region("320612", "district", "通州区", "Tongzhou", nantong)
    beijing = region("110000", "province", "北京市", "Beijing")
    beijing_districts = region("110100", "city", "市辖区", "Beijing districts", beijing)
    beijing_tongzhou = region("110112", "district", "通州区", "Tongzhou", beijing_districts)
    liaoning = region("210000", "province", "辽宁省", "Liaoning")
    shenyang = region("210100", "city", "沈阳市", "Shenyang", liaoning)

    def organisation(key, kind, name_zh, name_en, **fields):
        return services.save_organisation(
            key, kind=kind, name_zh=name_zh, name_en=name_en, source=source, **fields
        )[0]

    zone = organisation(
        "nantong-high-tech-zone",
        "zone",
        "南通国家高新技术产业开发区",
        "Nantong National High-tech Industrial Development Zone",
        aliases=[{"name": "南通高新区", "kind": "short"}],
    )
    services.move_organisation(zone, tongzhou, since=dt.date(2012, 1, 1), since_precision="year")
    zhongkeyi = organisation(
        "zhongkeyi-nantong",
        "enterprise",
        "中科仪(南通)半导体设备有限责任公司",
        "Zhongkeyi (Nantong) Semiconductor Equipment Co Ltd",
        sectors=["semiconductor-equipment"],
    )
    services.move_organisation(
        zhongkeyi, tongzhou, within=zone, since=dt.date(2020, 1, 1), since_precision="year"
    )
    sky = organisation(
        "sky-technology",
        "enterprise",
        "中国科学院沈阳科学仪器股份有限公司",
        "Sky Technology Development Co Ltd",
    )
    services.move_organisation(sky, shenyang, since=dt.date(2001, 1, 1), since_precision="year")
    # The article gives no Chinese name for the park: none is invented here.
    hengli = organisation("hengli-nantong", "park", "", "Hengli (Nantong) Industrial Park")
    services.move_organisation(hengli, tongzhou, since=dt.date(2010, 1, 1), since_precision="year")
    services.save_phase(None, park=hengli, number=3, status="operating")
    beijing_firm = organisation(
        "beijing-tongzhou-demo",
        "enterprise",
        "北京通州示例科技有限公司",
        "Beijing Tongzhou Demo Technology Co Ltd",
        synthetic=True,
        uscc=valid_uscc("MA000001"),
    )
    services.move_organisation(beijing_firm, beijing_tongzhou, since=dt.date(2021, 5, 1))
    return SimpleNamespace(**locals())


def synthetic_enterprise(world, n: int) -> Organisation:
    """The n-th invented enterprise in the high-tech zone, with an alias and a sector."""
    org, _ = services.save_organisation(
        f"demo-enterprise-{n}",
        kind="enterprise",
        name_zh=f"示例{n}号科技有限公司",
        synthetic=True,
        uscc=valid_uscc(f"MA{n + 100:06d}"),
        sectors=["new-materials"],
        source=world.source,
        aliases=[{"name": f"示例{n}号", "kind": "short"}],
    )
    services.move_organisation(org, world.tongzhou, within=world.zone, since=dt.date(2022, 1, 1))
    return org


def listed(client, basename: str, **params) -> list[dict]:
    response = client.get(reverse(f"{basename}-list"), params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def keys(rows: list[dict], field: str = "key") -> set[str]:
    return {row[field] for row in rows}


# --- every resource: the shared checks, fed with its data ------------------------------------


class TestRegions(ResourceAPITests):
    basename, lookup = "region", "code"
    public = True

    def make(self, world, n):
        return services.save_region(
            f"3206{50 + n}", level="district", name_zh=f"示例{n}区", parent=world.nantong
        )[0]

    def create_payload(self, world):
        return {
            "code": "320685",
            "level": "district",
            "name_zh": "海安市",
            "name_en": "Hai'an",
            "parent": "320600",
            "valid_from": None,
            "valid_to": None,
            "successor": None,
            "statistical_only": False,
            "source": SOURCE,
        }

    def update_payload(self, world):
        return {"name_en": "Example district", "statistical_only": True}

    def bad_payloads(self, world):
        return [
            ({"code": "32061X"}, "code"),
            ({"code": "3206"}, "code"),
            ({"code": "320612"}, "code"),
            ({"code": 10**30}, "code"),
            ({"parent": "999999"}, "parent"),
            ({"parent": ["320600"]}, "parent"),
            ({"successor": "no-such"}, "successor"),
            ({"level": "galaxy"}, "level"),
            ({"valid_from": "2023-13-45"}, "valid_from"),
            ({"valid_from": "2020-01-01", "valid_to": "2019-01-01"}, "valid_to"),
            ({"name_zh": "区" * 101}, "name_zh"),
            ({"name_zh": ""}, "name_zh"),
            ({"statistical_only": "maybe"}, "statistical_only"),
            ({"source": "no-such-source"}, "source"),
        ]


class TestOrganisations(ResourceAPITests):
    basename, lookup = "organisation", "key"

    def make(self, world, n):
        return synthetic_enterprise(world, n)

    def create_payload(self, world):
        return {
            "key": "nantong-university",
            "kind": "university",
            "name_zh": "南通大学",
            "name_en": "Nantong University",
            "name_zh_verified": True,
            "uscc": None,
            "above_designated_size": False,
            "sectors": ["new-materials"],
            "description_zh": "",
            "description_en": "",
            "website": "https://www.ntu.edu.cn/",
            "synthetic": False,
            "source": SOURCE,
            "aliases": [{"name": "南大", "kind": "short", "valid_to": None}],
        }

    def update_payload(self, world):
        return {
            "name_en": "Demo Technology Co Ltd",
            "sectors": ["new-materials", "semiconductor-equipment"],
            "aliases": [
                {"name": "Demo", "kind": "short", "valid_to": None},
                {"name": "Old Demo", "kind": "former", "valid_to": "2019-06-30"},
            ],
        }

    def bad_payloads(self, world):
        good = valid_uscc("MA999999")
        return [
            ({"uscc": with_bad_check_character(good)}, "uscc"),
            ({"uscc": "123"}, "uscc"),
            ({"uscc": "91320612MA00000IO0"}, "uscc"),
            ({"uscc": world.beijing_firm.uscc}, "uscc"),
            ({"key": "zhongkeyi-nantong"}, "key"),
            ({"key": "has spaces"}, "key"),
            ({"key": "k" * 101}, "key"),
            ({"kind": "galaxy"}, "kind"),
            ({"kind": None}, "kind"),
            ({"sectors": ["no-such-sector"]}, "sectors"),
            ({"sectors": "new-materials"}, "sectors"),
            ({"source": "no-such-source"}, "source"),
            ({"name_zh": "", "name_en": ""}, "name_zh"),
            ({"name_en": "n" * 301}, "name_en"),
            ({"aliases": [{"name": "南大"}, {"name": "南大"}]}, "aliases"),
            ({"aliases": [{"name": ""}]}, "aliases"),
            ({"aliases": [{"name": "x", "kind": "nickname"}]}, "aliases"),
            ({"aliases": "南大"}, "aliases"),
            ({"website": "not a url"}, "website"),
            ({"synthetic": "maybe"}, "synthetic"),
        ]


class TestLocations(ResourceAPITests):
    basename = "location"

    def make(self, world, n):
        org = services.save_organisation(f"located-{n}", kind="enterprise", name_en=f"Located {n}")[
            0
        ]
        return services.move_organisation(org, world.beijing_tongzhou, since=dt.date(2020, 1, n))

    def create_payload(self, world):
        return {
            "organisation": "zhongkeyi-nantong",
            "region": "320612",
            "within": None,
            "since": "2024-03",
            "valid_to": None,
            "address": "",
            "source": SOURCE,
        }

    def update_payload(self, world):
        return {"address": "Building 3", "since": "2019-06", "within": "hengli-nantong"}

    def bad_payloads(self, world):
        return [
            ({"organisation": "no-such-organisation"}, "organisation"),
            ({"region": "999999"}, "region"),
            ({"region": None}, "region"),
            ({"within": "sky-technology"}, "within"),
            ({"within": "zhongkeyi-nantong"}, "within"),
            ({"within": "no-such-park"}, "within"),
            ({"since": "2023-13-45"}, "since"),
            ({"since": "2023-02-30"}, "since"),
            ({"since": "yesterday"}, "since"),
            ({"since": "2019"}, "since"),
            ({"valid_to": "2025-01-01"}, "valid_to"),
            ({"address": "a" * 301}, "address"),
        ]


class TestPhases(ResourceAPITests):
    basename = "phase"

    def make(self, world, n):
        return services.save_phase(
            None,
            park=world.zone,
            number=n,
            status="operating",
            operation_start=dt.date(2010 + n, 1, 1),
            operation_start_precision="year",
        )[0]

    def create_payload(self, world):
        return {
            "park": "hengli-nantong",
            "number": 4,
            "name_zh": "",
            "name_en": "fourth phase",
            "status": "construction",
            "construction_start": "2022",
            "operation_start": "2023-12",
            "note": "to start operating at the end of 2023",
            "source": SOURCE,
        }

    def update_payload(self, world):
        return {"status": "closed", "construction_start": "2009-03-15", "name_en": "first phase"}

    def bad_payloads(self, world):
        return [
            ({"park": "zhongkeyi-nantong"}, "park"),
            ({"park": "no-such-park"}, "park"),
            ({"number": 0}, "number"),
            ({"number": -1}, "number"),
            ({"number": 10**9}, "number"),
            ({"number": "four"}, "number"),
            ({"number": 3}, "non_field_errors"),
            ({"status": "dreaming"}, "status"),
            ({"operation_start": "2023-13"}, "operation_start"),
            ({"construction_start": 20221}, "construction_start"),
            ({"construction_start": True}, "construction_start"),
        ]


class TestOwnerships(ResourceAPITests):
    basename = "ownership"
    normalised = ("share_percent",)

    def make(self, world, n):
        org = services.save_organisation(
            f"subsidiary-{n}", kind="enterprise", name_en=f"Subsidiary {n}"
        )[0]
        return services.save_ownership(
            None, organisation=org, owner=world.sky, share_percent=Decimal(60)
        )[0]

    def create_payload(self, world):
        return {
            "organisation": "zhongkeyi-nantong",
            "owner": "sky-technology",
            "share_percent": "100",
            "since": None,
            "until": None,
            "note": "wholly owned subsidiary",
            "source": SOURCE,
        }

    def update_payload(self, world):
        return {"share_percent": "75.5000", "since": "2019-01-01", "note": "increased"}

    def bad_payloads(self, world):
        return [
            ({"share_percent": "150"}, "share_percent"),
            ({"share_percent": 0}, "share_percent"),
            ({"share_percent": "-5"}, "share_percent"),
            ({"share_percent": "1e30"}, "share_percent"),
            ({"share_percent": "12.345678"}, "share_percent"),
            ({"share_percent": "NaN"}, "share_percent"),
            ({"share_percent": None}, "share_percent"),
            ({"owner": "zhongkeyi-nantong"}, "owner"),
            ({"owner": "no-such-owner"}, "owner"),
            ({"organisation": 42}, "organisation"),
            ({"since": "2023-01-01", "until": "2022-01-01"}, "until"),
        ]

    def test_open_shares_add_up_to_at_most_100_percent(self, world, operator_client):
        payload = {**self.create_payload(world), "share_percent": "60"}
        assert send(operator_client, "post", self.list_url(), payload).status_code == 201
        other = {**payload, "owner": "nantong-high-tech-zone", "share_percent": "50"}
        assert "share_percent" in errors_of(send(operator_client, "post", self.list_url(), other))
        assert (
            send(
                operator_client, "post", self.list_url(), {**other, "share_percent": "40"}
            ).status_code
            == 201
        )

    def test_one_open_share_per_owner(self, world, operator_client):
        assert (
            send(
                operator_client,
                "post",
                self.list_url(),
                {**self.create_payload(world), "share_percent": "10"},
            ).status_code
            == 201
        )
        again = send(
            operator_client,
            "post",
            self.list_url(),
            {**self.create_payload(world), "share_percent": "10"},
        )
        assert "owner" in errors_of(again)


class TestMilestones(ResourceAPITests):
    basename = "milestone"

    def make(self, world, n):
        return services.save_milestone(
            None,
            organisation=world.zhongkeyi,
            date=dt.date(2000 + n, 1, 1),
            date_precision="year",
            kind="other",
            text_en=f"event {n}",
        )[0]

    def create_payload(self, world):
        return {
            "organisation": "zhongkeyi-nantong",
            "date": "2022-11",
            "kind": "trial_production",
            "text_zh": "",
            "text_en": "first trial production",
            "source": SOURCE,
        }

    def update_payload(self, world):
        return {"date": "2020", "kind": "arrived", "text_en": "established a presence in the zone"}

    def bad_payloads(self, world):
        return [
            ({"date": None}, "date"),
            ({"date": "2022-13"}, "date"),
            ({"date": "22-11"}, "date"),
            ({"date": ["2022"]}, "date"),
            ({"kind": "party"}, "kind"),
            ({"organisation": None}, "organisation"),
        ]

    def test_same_kind_and_date_twice_is_400(self, world, operator_client):
        assert (
            send(operator_client, "post", self.list_url(), self.create_payload(world)).status_code
            == 201
        )
        assert errors_of(send(operator_client, "post", self.list_url(), self.create_payload(world)))


class TestCapacities(ResourceAPITests):
    basename = "capacity"

    def make(self, world, n):
        return services.save_capacity(
            None,
            organisation=world.zhongkeyi,
            product_en=f"product {n}",
            quantity=Decimal(n),
            unit="units",
            as_of=dt.date(2023, 1, 1),
        )[0]

    def create_payload(self, world):
        return {
            "organisation": "zhongkeyi-nantong",
            "product_zh": "",
            "product_en": "dry vacuum pumps",
            "quantity": "13000.0000",
            "unit": "units",
            "per": "year",
            "as_of": "2023-09-04",
            "source": SOURCE,
        }

    def update_payload(self, world):
        return {"quantity": "14500.5000", "per": "month"}

    def bad_payloads(self, world):
        return [
            ({"quantity": "-1"}, "quantity"),
            ({"quantity": -13000}, "quantity"),
            ({"quantity": "1e30"}, "quantity"),
            ({"quantity": "Infinity"}, "quantity"),
            ({"quantity": "many"}, "quantity"),
            ({"per": "week"}, "per"),
            ({"as_of": "2023-13-45"}, "as_of"),
            ({"as_of": None}, "as_of"),
            ({"unit": ""}, "unit"),
            ({"product_en": "p" * 201}, "product_en"),
        ]


class TestContacts(ResourceAPITests):
    basename = "contact"

    def make(self, world, n):
        return services.save_contact(
            None, organisation=world.zhongkeyi, name_en=f"Person {n}", role_en="engineer"
        )[0]

    def create_payload(self, world):
        return {
            "organisation": "zhongkeyi-nantong",
            "name_zh": "",
            "name_en": "Jin Xue",
            "role_zh": "",
            "role_en": "assistant general manager",
            "email": "",
            "phone": "",
            "valid_from": "2023-09-04",
            "valid_to": None,
            "source": SOURCE,
        }

    def update_payload(self, world):
        return {"role_en": "general manager", "valid_to": "2030-01-01"}

    def bad_payloads(self, world):
        return [
            ({"name_zh": "", "name_en": ""}, "name_zh"),
            ({"email": "not-an-email"}, "email"),
            ({"phone": "1" * 41}, "phone"),
            ({"valid_from": "2023-09-04", "valid_to": "2023-01-01"}, "valid_to"),
            ({"valid_from": "2023-09-31"}, "valid_from"),
        ]


class TestSources(ResourceAPITests):
    basename, lookup = "source", "key"
    public = True

    def make(self, world, n):
        return services.save_source(
            f"notice-{n}", title=f"Notice {n}", publisher="南通市科学技术局"
        )[0]

    def create_payload(self, world):
        return {
            "key": "tongzhou-gov-zhongkeyi",
            "title": "中科仪南通项目",
            "url": "https://www.tongzhou.gov.cn/",
            "publisher": "南通市通州区人民政府",
            "published": None,
            "note": "",
        }

    def update_payload(self, world):
        return {"title": "Renamed notice", "published": "2023-02-28"}

    def bad_payloads(self, world):
        return [
            ({"key": SOURCE}, "key"),
            ({"key": "has space"}, "key"),
            ({"title": ""}, "title"),
            ({"url": "not a url"}, "url"),
            ({"published": "2023-02-30"}, "published"),
        ]


class TestSectors(ResourceAPITests):
    basename, lookup = "sector", "code"
    public = True

    def make(self, world, n):
        return services.save_sector(f"sector-{n}", name_zh=f"行业{n}", name_en=f"Sector {n}")[0]

    def create_payload(self, world):
        return {"code": "biomedicine", "name_zh": "生物医药", "name_en": "Biomedicine"}

    def update_payload(self, world):
        return {"name_en": "Renamed sector"}

    def bad_payloads(self, world):
        return [
            ({"code": "new-materials"}, "code"),
            ({"code": "with space"}, "code"),
            ({"name_en": ""}, "name_en"),
            ({"name_zh": None}, "name_zh"),
        ]


# --- regions: the tree, and the two 通州区 ----------------------------------------------------


def test_region_shows_its_place_in_the_tree(world, client):
    region = client.get(reverse("region-detail", args=["320612"])).json()
    assert region["parent"] == "320600"
    assert region["ancestors"] == ["320000", "320600"]
    assert region["qualified_name"] == "江苏省 › 南通市 › 通州区"


def test_the_two_tongzhous_are_distinct(world, client, operator_client):
    found = {row["code"]: row for row in listed(client, "region", q="通州区")}
    assert set(found) == {"320612", "110112"}
    assert found["320612"]["ancestors"] == ["320000", "320600"]
    assert found["110112"]["ancestors"] == ["110000", "110100"]
    assert found["320612"]["qualified_name"] != found["110112"]["qualified_name"]
    assert keys(listed(client, "region", q="通州区", within="320000"), "code") == {"320612"}
    assert keys(listed(operator_client, "organisation", region="110112")) == {"beijing-tongzhou-demo"}
    assert "beijing-tongzhou-demo" not in keys(listed(operator_client, "organisation", region="320612"))


def test_region_filters(world, client):
    assert keys(listed(client, "region", parent="320600"), "code") == {"320612"}
    assert keys(listed(client, "region", level="province"), "code") == {
        "320000",
        "110000",
        "210000",
    }
    assert keys(listed(client, "region", within="320600"), "code") == {"320600", "320612"}
    assert keys(listed(client, "region", q="3206"), "code") == {"320600", "320612"}
    assert keys(listed(client, "region", q="nantong"), "code") == {"320600"}


def test_regions_valid_on_a_date(world, client):
    services.save_region(
        "320683",
        level="district",
        name_zh="通州市",
        parent=world.nantong,
        valid_to=dt.date(2009, 7, 2),
        successor=world.tongzhou,
    )
    assert "320683" in keys(listed(client, "region", on="2009-07-01"), "code")
    assert "320683" not in keys(listed(client, "region", on="2009-07-02"), "code")
    abolished = client.get(reverse("region-detail", args=["320683"])).json()
    assert abolished["successor"] == "320612" and abolished["valid_to"] == "2009-07-02"


@pytest.mark.parametrize(
    "params", [{"region": "999999"}, {"within": "999999"}, {"parent": "999999"}]
)
def test_unknown_region_in_a_filter_is_400_naming_it(world, client, params):
    response = client.get(
        reverse("region-list" if "region" not in params else "organisation-list"), params
    )
    ((field, messages),) = errors_of(response).items()
    assert field in params and "999999" in messages[0]


def test_moving_a_region_keeps_its_history(world, operator_client):
    response = send(
        operator_client,
        "patch",
        reverse("region-detail", args=["320612"]),
        {"parent": "110100", "moved_on": "2030-01-01"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["ancestors"] == ["110000", "110100"]
    links = RegionLink.objects.filter(region__code="320612").order_by(
        F("valid_from").asc(nulls_first=True)
    )
    assert [(link.parent.code, link.valid_to) for link in links] == [
        ("320600", dt.date(2030, 1, 1)),
        ("110100", None),
    ]


def test_a_region_cannot_move_below_itself(world, operator_client):
    response = send(
        operator_client, "patch", reverse("region-detail", args=["320000"]), {"parent": "320612"}
    )
    assert "parent" in errors_of(response)


def test_a_region_code_cannot_change(world, operator_client):
    response = send(
        operator_client, "patch", reverse("region-detail", args=["320612"]), {"code": "320613"}
    )
    assert "code" in errors_of(response)


# --- organisations: place, search, filters ------------------------------------------------


def test_region_filter_covers_the_subtree(world, operator_client):
    for code in ("320612", "320600", "320000"):
        assert "zhongkeyi-nantong" in keys(listed(operator_client, "organisation", region=code)), code
    assert "zhongkeyi-nantong" not in keys(listed(operator_client, "organisation", region="110000"))
    assert keys(listed(operator_client, "organisation", region="210000")) == {"sky-technology"}


def test_region_filter_follows_the_current_location(world, operator_client):
    services.move_organisation(world.zhongkeyi, world.beijing_tongzhou, since=dt.date(2024, 1, 1))
    assert "zhongkeyi-nantong" not in keys(listed(operator_client, "organisation", region="320000"))
    assert "zhongkeyi-nantong" in keys(listed(operator_client, "organisation", region="110000"))


@pytest.mark.parametrize("text", ["zhongkeyi", "zky", "中科仪", "Zhongkeyi (Nantong)", "ZHONGKEYI"])
def test_search_finds_zhongkeyi(world, operator_client, text):
    assert "zhongkeyi-nantong" in keys(listed(operator_client, "organisation", q=text))


def test_search_by_alias_and_uscc(world, operator_client):
    assert keys(listed(operator_client, "organisation", q="南通高新区")) == {"nantong-high-tech-zone"}
    assert keys(listed(operator_client, "organisation", q=world.beijing_firm.uscc)) == {
        "beijing-tongzhou-demo"
    }
    assert listed(operator_client, "organisation", q="no such name anywhere") == []


def test_organisation_filters(world, operator_client):
    assert keys(listed(operator_client, "organisation", kind="park")) == {"hengli-nantong"}
    assert keys(listed(operator_client, "organisation", sector="semiconductor-equipment")) == {
        "zhongkeyi-nantong"
    }
    assert keys(listed(operator_client, "organisation", synthetic="true")) == {"beijing-tongzhou-demo"}
    assert "beijing-tongzhou-demo" not in keys(listed(operator_client, "organisation", synthetic="false"))
    assert keys(listed(operator_client, "organisation", within="nantong-high-tech-zone")) == {
        "zhongkeyi-nantong"
    }
    assert keys(listed(operator_client, "organisation", region="320600", kind="enterprise")) == {
        "zhongkeyi-nantong"
    }


def test_within_includes_parks_inside_the_zone(world, operator_client):
    services.move_organisation(
        world.hengli, world.tongzhou, within=world.zone, since=dt.date(2015, 1, 1)
    )
    tenant = services.save_organisation(
        "hengli-tenant", kind="enterprise", name_en="Hengli tenant"
    )[0]
    services.move_organisation(
        tenant, world.tongzhou, within=world.hengli, since=dt.date(2016, 1, 1)
    )
    assert keys(listed(operator_client, "organisation", within="nantong-high-tech-zone")) == {
        "zhongkeyi-nantong",
        "hengli-nantong",
        "hengli-tenant",
    }


@pytest.mark.parametrize(
    "params, field",
    [
        ({"within": "zhongkeyi-nantong"}, "within"),
        ({"within": "no-such-zone"}, "within"),
        ({"sector": "no-such-sector"}, "sector"),
        ({"kind": "galaxy"}, "kind"),
        ({"synthetic": "maybe"}, "synthetic"),
        ({"q": "\x00"}, "q"),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(world, operator_client, params, field):
    assert field in errors_of(operator_client.get(reverse("organisation-list"), params))


def test_child_rows_filter_through_their_organisation(world, operator_client):
    services.save_milestone(
        None,
        organisation=world.zhongkeyi,
        date=dt.date(2022, 11, 1),
        date_precision="month",
        kind="trial_production",
    )
    services.save_milestone(
        None, organisation=world.beijing_firm, date=dt.date(2021, 5, 1), kind="founded"
    )
    assert keys(listed(operator_client, "milestone", organisation="zhongkeyi-nantong"), "organisation") == {
        "zhongkeyi-nantong"
    }
    assert keys(listed(operator_client, "milestone", region="320600"), "organisation") == {
        "zhongkeyi-nantong"
    }
    assert keys(listed(operator_client, "milestone", q="zky"), "organisation") == {"zhongkeyi-nantong"}
    assert keys(listed(operator_client, "milestone", synthetic="true"), "organisation") == {
        "beijing-tongzhou-demo"
    }
    assert keys(listed(operator_client, "milestone", kind="founded"), "organisation") == {
        "beijing-tongzhou-demo"
    }
    assert keys(listed(operator_client, "phase", organisation="hengli-nantong"), "park") == {
        "hengli-nantong"
    }
    assert listed(operator_client, "phase", region="110000") == []
    assert keys(
        listed(operator_client, "location", organisation="zhongkeyi-nantong", current="true"), "region"
    ) == {"320612"}
    assert listed(operator_client, "location", organisation="zhongkeyi-nantong", current="false") == []
    assert "organisation" in errors_of(
        operator_client.get(reverse("contact-list"), {"organisation": "no-such"})
    )


def test_ordering(world, operator_client):
    assert [row["code"] for row in listed(operator_client, "region", ordering="-code")][:2] == [
        "320612",
        "320600",
    ]
    names = [row["name_en"] for row in listed(operator_client, "organisation", ordering="name_en")]
    assert names == sorted(names)


def test_organisation_representation(world, operator_client):
    shown = operator_client.get(reverse("organisation-detail", args=["zhongkeyi-nantong"])).json()
    assert shown["current_location"] == {
        "region": "320612",
        "region_name": "江苏省 › 南通市 › 通州区",
        "within": "nantong-high-tech-zone",
        "since": "2020",
        "address": "",
    }
    assert shown["sectors"] == ["semiconductor-equipment"]
    assert shown["source"] == SOURCE
    assert shown["related"]["milestones"].endswith(
        "/api/v1/milestones/?organisation=zhongkeyi-nantong"
    )
    assert shown["related"]["holdings"].endswith("/api/v1/ownerships/?owner=zhongkeyi-nantong")
    assert "tenants" not in shown["related"] and "phases" not in shown["related"]
    zone = operator_client.get(reverse("organisation-detail", args=["nantong-high-tech-zone"])).json()
    assert zone["aliases"] == [{"name": "南通高新区", "kind": "short", "valid_to": None}]
    tenants = operator_client.get(zone["related"]["tenants"]).json()["results"]
    assert keys(tenants) == {"zhongkeyi-nantong"}


def test_organisation_list_query_count_is_the_same_for_3_and_30(world, operator_client):
    def queries_for_a_page():
        with CaptureQueriesContext(connection) as queries:
            body = operator_client.get(reverse("organisation-list"), {"page_size": 100}).json()
        return len(queries), body["count"]

    for n in range(3):
        synthetic_enterprise(world, n)
    few, count_few = queries_for_a_page()
    for n in range(3, 30):
        synthetic_enterprise(world, n)
    many, count_many = queries_for_a_page()
    assert count_many - count_few == 27
    assert many == few


# --- writes through the services -------------------------------------------------------------


def test_a_new_entry_with_a_bad_check_character_is_refused(world, operator_client):
    bad = with_bad_check_character(valid_uscc("MA424242"))
    payload = {"key": "bad-code", "kind": "enterprise", "name_en": "Bad Code Co", "uscc": bad}
    errors = errors_of(send(operator_client, "post", reverse("organisation-list"), payload))
    assert list(errors) == ["uscc"] and "check character" in errors["uscc"][0]
    assert not Organisation.objects.filter(key="bad-code").exists()


def test_a_legacy_code_survives_a_round_trip(world, operator_client):
    """A code imported with a warning is kept when a client PUTs the record back."""
    legacy = with_bad_check_character(valid_uscc("MA777777"))
    services.save_organisation(
        "legacy-firm", kind="enterprise", name_en="Legacy Firm", uscc=legacy, legacy_uscc=True
    )
    url = reverse("organisation-detail", args=["legacy-firm"])
    shown = operator_client.get(url).json()
    assert shown["uscc"] == legacy and shown["uscc_warning"]
    response = send(operator_client, "put", url, {**shown, "name_en": "Legacy Firm Ltd"})
    assert response.status_code == 200, response.content
    assert response.json()["uscc_warning"] == shown["uscc_warning"]
    assert "uscc" in errors_of(
        send(operator_client, "patch", url, {"uscc": with_bad_check_character(valid_uscc("MA888888"))})
    )


def test_an_organisation_key_cannot_change(world, operator_client):
    url = reverse("organisation-detail", args=["zhongkeyi-nantong"])
    assert "key" in errors_of(send(operator_client, "patch", url, {"key": "renamed"}))


def test_aliases_are_replaced_and_searchable(world, operator_client):
    url = reverse("organisation-detail", args=["zhongkeyi-nantong"])
    response = send(operator_client, "patch", url, {"aliases": [{"name": "中科仪南通"}]})
    assert response.status_code == 200, response.content
    assert [alias["name"] for alias in response.json()["aliases"]] == ["中科仪南通"]
    assert keys(listed(operator_client, "organisation", q="中科仪南通")) == {"zhongkeyi-nantong"}


def test_creating_a_location_records_a_move(world, operator_client):
    payload = {"organisation": "zhongkeyi-nantong", "region": "110112", "since": "2024-03"}
    response = send(operator_client, "post", reverse("location-list"), payload)
    assert response.status_code == 201, response.content
    assert response.json()["region_name"] == "北京市 › 市辖区 › 通州区"
    history = Location.objects.filter(organisation=world.zhongkeyi).order_by("valid_from")
    assert [(loc.region.code, loc.valid_to) for loc in history] == [
        ("320612", dt.date(2024, 3, 1)),
        ("110112", None),
    ]


def test_correcting_a_location_cannot_overlap_another(world, operator_client):
    services.move_organisation(world.zhongkeyi, world.beijing_tongzhou, since=dt.date(2024, 1, 1))
    first = Location.objects.get(organisation=world.zhongkeyi, valid_to__isnull=False)
    response = send(
        operator_client,
        "patch",
        reverse("location-detail", args=[first.pk]),
        {"valid_to": "2025-01-01"},
    )
    assert "valid_from" in errors_of(response)


def test_a_phase_belongs_to_a_park_or_zone(world, operator_client):
    payload = {"park": "zhongkeyi-nantong", "number": 1, "status": "operating"}
    errors = errors_of(send(operator_client, "post", reverse("phase-list"), payload))
    assert "only a zone or park" in errors["park"][0]


def test_failed_write_leaves_nothing_behind(world, operator_client):
    payload = {
        "key": "half-written",
        "kind": "enterprise",
        "name_en": "Half",
        "sectors": ["no-such-sector"],
    }
    assert "sectors" in errors_of(send(operator_client, "post", reverse("organisation-list"), payload))
    assert not Organisation.objects.filter(key="half-written").exists()


# --- the schema and its documentation pages ------------------------------------------------------


def test_schema_generates_without_warnings(tmp_path):
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )
    assert "/api/v1/organisations/{key}/" in (tmp_path / "schema.yaml").read_text()


def test_schema_endpoint(client, db):
    response = client.get(reverse("schema"))
    assert response.status_code == 200
    assert b"/api/v1/regions/{code}/" in response.content


@pytest.mark.parametrize("page", ["swagger-ui", "redoc"])
def test_docs_pages_use_only_local_assets(client, db, settings, page):
    serve_static_files_plainly(settings)
    response = client.get(reverse(page))
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.findall(r"https?://[^\s\"'<>]+", html), (
        "the page must not load anything from another site"
    )
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert assets and all(url.startswith("/static/") for url in assets), assets
    for url in assets:
        assert finders.find(url.removeprefix("/static/")), f"{url} is not in the static files"
