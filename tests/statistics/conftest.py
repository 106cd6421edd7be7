"""Shared fixtures of the statistics tests: the metric catalogue, a small district with
enterprises and users, and builders of the files clerks upload (made in code, in tmp_path)."""

import csv
import datetime as dt
import io

import openpyxl
import pytest

from kechuang.accounts.models import Role
from kechuang.accounts.services import grant_role
from kechuang.registry import services as registry
from kechuang.registry import uscc
from kechuang.statistics.models import Metric


@pytest.fixture
def metrics(db):
    """The shipped catalogue (data/metrics.yaml), by code."""
    from kechuang.statistics.services import load_catalogue

    load_catalogue()
    return {metric.code: metric for metric in Metric.objects.select_related("part_of")}


def make_uscc(region_code: str, serial: int) -> str:
    """A valid code (both check characters right) for a synthetic enterprise registered in the region."""
    return uscc.make(f"91{region_code}", f"MA{serial:06d}")


@pytest.fixture
def district(metrics, django_user_model):
    """Nantong's 通州区 with two enterprises and a park, 崇川区 with one enterprise, a name used
    twice (南通丙公司, once in each district), the bureau admin of 通州区 and 中科仪's own user."""
    jiangsu = registry.save_region("320000", level="province", name_zh="江苏省", name_en="Jiangsu")[0]
    nantong = registry.save_region("320600", level="city", name_zh="南通市", name_en="Nantong", parent=jiangsu)[0]
    tongzhou = registry.save_region("320612", level="district", name_zh="通州区", name_en="Tongzhou", parent=nantong)[0]
    chongchuan = registry.save_region("320602", level="district", name_zh="崇川区", name_en="Chongchuan",
                                      parent=nantong)[0]
    organisations = {}
    for serial, (key, kind, name_zh, name_en, region) in enumerate([
        ("zhongkeyi", "enterprise", "中科仪（南通）半导体设备有限责任公司", "Zhongkeyi (Nantong) Semiconductor Equipment Co Ltd",
         tongzhou),
        ("jia", "enterprise", "南通甲公司", "Nantong Jia Co", tongzhou),
        ("hengli", "park", "恒力（南通）产业园", "Hengli (Nantong) Industrial Park", tongzhou),
        ("yi", "enterprise", "南通乙公司", "Nantong Yi Co", chongchuan),
        ("bing-tongzhou", "enterprise", "南通丙公司", "", tongzhou),
        ("bing-chongchuan", "enterprise", "南通丙公司", "", chongchuan),
    ], start=1):
        organisations[key] = registry.save_organisation(
            key, kind=kind, name_zh=name_zh, name_en=name_en, uscc=make_uscc(region.code, serial))[0]
        registry.move_organisation(organisations[key], region, since=dt.date(2015, 1, 1))
    bureau = django_user_model.objects.create_user("bureau")
    grant_role(bureau, Role.BUREAU_ADMIN, by=None, region=tongzhou)
    owner = django_user_model.objects.create_user("owner")
    grant_role(owner, Role.ENTERPRISE_USER, by=None, organisation=organisations["zhongkeyi"])
    return {"tongzhou": tongzhou, "chongchuan": chongchuan, "nantong": nantong, "bureau": bureau, "owner": owner,
            **organisations}


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


@pytest.fixture
def csv_file(tmp_path):
    """Write rows as a CSV file: csv_file(rows, encoding="gbk"); "utf-8-sig" adds the BOM Excel writes."""

    def build(rows, encoding="utf-8", name="figures.csv"):
        path = tmp_path / name
        path.write_bytes(csv_bytes(rows, encoding))
        return path

    return build


@pytest.fixture
def xlsx_file(tmp_path):
    """Write rows (None for a blank cell) to a workbook's first sheet, with merged ranges ("A1:E1")."""

    def build(rows, merges=(), name="figures.xlsx", title=None):
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        if title:
            sheet.title = title
        for row in rows:
            sheet.append(row)
        for merge in merges:
            sheet.merge_cells(merge)
        path = tmp_path / name
        workbook.save(path)
        return path

    return build
