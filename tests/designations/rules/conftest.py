"""Shared pieces of the eligibility tests.

Engine tests build `Facts` by hand (`facts(...)`) and evaluate a shipped rule set without the
database. Screening, CLI and API tests use `world`: Nantong with Tongzhou (three enterprises
and a park) and Chongchuan (one enterprise), the users of each role, and `report(...)` to
record an enterprise's figures for years through the statistics service (approved, as the
bureau would have them).
"""

import datetime as dt
from decimal import Decimal

import pytest

from kechuang.accounts.models import Role
from kechuang.accounts.services import grant_role
from kechuang.designations.rules import facts as fetch
from kechuang.designations.rules.engine import Evaluator, Facts
from kechuang.designations.rules.loader import rule_sets
from kechuang.registry import services as registry
from kechuang.registry.models import MilestoneKind
from kechuang.statistics.models import ObservationStatus
from kechuang.statistics.services import load_catalogue, record_observation

#: Screening on the day the 2026 gradient measures took effect: "last year" is 2025.
ON = dt.date(2026, 4, 1)
YEAR = 2025
TODAY = dt.date(2026, 11, 25)


def rules(code: str):
    return rule_sets()[code]


def evaluate(code: str, given: Facts, on: dt.date = ON):
    """(outcomes by criterion code, at any depth, and the overall outcome) of one enterprise."""
    outcomes, overall = Evaluator(rules(code), on).evaluate(given)
    found = {}

    def walk(outcome):
        found[outcome.criterion.code] = outcome
        for child in outcome.children:
            walk(child)

    for outcome in outcomes:
        walk(outcome)
    return found, overall


def facts(values: dict | None = None, *, founded=None, held=None, judgements=None, years=(YEAR,), **per_year):
    """Facts from {(metric, year): value}, plus metric=value keywords (underscores for dashes) given for
    each of `years`. Numbers are turned into Decimal through their text: never float."""
    found = {key: Decimal(str(value)) for key, value in (values or {}).items()}
    for name, value in per_year.items():
        for year in years:
            found[(name.replace("_", "-"), year)] = Decimal(str(value))
    return Facts(found, founded=founded, held=set(held) if held is not None else None, judgements=judgements or {})


def no_designations(organisation_ids, on):
    return {organisation_id: set() for organisation_id in organisation_ids}


@pytest.fixture
def designations(monkeypatch):
    """The designation registry's answer, replaced: held[key] = {type codes}."""
    held: dict[str, set[str]] = {}

    def lookup(organisation_ids, on):
        from kechuang.registry.models import Organisation

        keys = dict(Organisation.objects.filter(pk__in=organisation_ids).values_list("pk", "key"))
        return {pk: set(held.get(keys.get(pk), ())) for pk in organisation_ids}

    monkeypatch.setattr(fetch, "registry_lookup", lambda: lookup)
    return held


@pytest.fixture
def world(db, django_user_model):
    load_catalogue()
    jiangsu = registry.save_region("320000", level="province", name_zh="江苏省", name_en="Jiangsu")[0]
    nantong = registry.save_region("320600", level="city", name_zh="南通市", name_en="Nantong", parent=jiangsu)[0]
    tongzhou = registry.save_region("320612", level="district", name_zh="通州区", name_en="Tongzhou",
                                    parent=nantong)[0]
    chongchuan = registry.save_region("320602", level="district", name_zh="崇川区", name_en="Chongchuan",
                                      parent=nantong)[0]
    found = {"jiangsu": jiangsu, "nantong": nantong, "tongzhou": tongzhou, "chongchuan": chongchuan}

    def organisation(key, kind="enterprise", region=tongzhou, founded=dt.date(2015, 3, 1)):
        row = registry.save_organisation(key, kind=kind, name_zh=f"{key}公司", name_en=f"{key} Co")[0]
        registry.move_organisation(row, region, since=dt.date(2015, 1, 1))
        if founded:
            registry.save_milestone(organisation=row, kind=MilestoneKind.FOUNDED, date=founded)
        found[key] = row
        return row

    found["organisation"] = organisation
    organisation("park", kind="park", founded=None)
    for key in ("alpha", "beta", "gamma"):
        organisation(key)
    organisation("rival", region=chongchuan)
    for name, role, scope in (("bureau", Role.BUREAU_ADMIN, {"region": tongzhou}),
                              ("analyst", Role.ANALYST, {"region": nantong}),
                              ("chongchuan_bureau", Role.BUREAU_ADMIN, {"region": chongchuan}),
                              ("owner", Role.ENTERPRISE_USER, {"organisation": found["alpha"]})):
        found[name] = django_user_model.objects.create_user(name)
        grant_role(found[name], role, by=None, **scope)
    return found


def report(organisation, figures: dict, years=(2023, 2024, 2025), status=ObservationStatus.APPROVED):
    """Record figures {metric: value or {year: value}} for each of `years` (approved by default)."""
    for metric, value in figures.items():
        for year in years:
            amount = value.get(year) if isinstance(value, dict) else value
            if amount is None:
                continue
            record_observation(organisation, metric, str(year), Decimal(str(amount)), status=status, today=TODAY)


#: An HNTE applicant that meets every computed criterion: sales 100M a year (the 4% bracket), R&D 5%,
#: domestic R&D 90%, S&T staff 20%, high-tech revenue 80%, IP owned, net assets growing 25% a year.
HNTE_GOOD = {"operating-revenue": 100_000_000, "rd-expenditure": 5_000_000, "rd-expenditure-domestic": 4_500_000,
             "employees": 100, "st-personnel": 20, "high-tech-product-revenue": 80_000_000, "ip-class-1": 2,
             "ip-class-2": 3, "net-assets": {2023: 40_000_000, 2024: 50_000_000, 2025: 62_500_000},
             "technology-conversions": 3}
