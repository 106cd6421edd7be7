"""The type catalogue: the shipped types, with their validity and rule versions, and the
types a bureau defines itself."""

import pytest

from kechuang.designations import services
from kechuang.designations.models import DesignationType

pytestmark = pytest.mark.django_db

SHIPPED = {"little-giant", "srdi-sme", "innovative-sme", "tech-innovative-sme", "hnte", "tech-sme"}


def test_migrate_ships_the_six_built_in_types_with_bilingual_names():
    built_in = DesignationType.objects.filter(built_in=True)
    assert set(built_in.values_list("code", flat=True)) == SHIPPED
    little_giant = built_in.get(code="little-giant")
    assert little_giant.name_zh == "专精特新“小巨人”企业" and "little giant" in little_giant.name_en
    assert little_giant.levels == ["national"]
    assert built_in.get(code="srdi-sme").levels == ["provincial"]
    assert built_in.get(code="tech-innovative-sme").name_zh == "科技和创新型中小企业"


def test_the_gradient_tiers_and_hntes_last_three_years_and_tech_smes_their_calendar_year():
    types = {t.code: t for t in DesignationType.objects.filter(built_in=True)}
    for code in ("little-giant", "srdi-sme", "innovative-sme", "tech-innovative-sme", "hnte"):
        assert (types[code].validity, types[code].validity_years) == ("years", 3), code
    assert (types["tech-sme"].validity, types["tech-sme"].validity_years) == ("calendar_year", None)
    # The gradient tiers are re-reviewed (复核); an HNTE applies again as a new applicant.
    assert {code for code, t in types.items() if t.re_review_years == 3} == SHIPPED - {"hnte", "tech-sme"}


def test_the_rule_versions_are_data_with_dates():
    little_giant = DesignationType.objects.get(code="little-giant")
    assert little_giant.rule_version_codes == ["MIIT-PRE-2022", "MIIT-2022-63", "MIIT-2026-2"]
    assert little_giant.rule_versions[2]["from"] == "2026-04-01"
    assert DesignationType.objects.get(code="hnte").rule_version_codes == ["HNTE-2008", "HNTE-2016"]


def test_loading_the_catalogue_again_writes_nothing():
    records = sum(t.history.count() for t in DesignationType.objects.all())
    assert services.load_catalogue() == 6
    assert sum(t.history.count() for t in DesignationType.objects.all()) == records


def test_a_bureau_defines_gazelle_unicorn_and_single_champion(place):
    gazelle = services.define_type("gazelle", name_zh="瞪羚企业", name_en="gazelle enterprise",
                                   levels=["provincial", "city"], validity="years", validity_years=2,
                                   by=place["bureau"])
    unicorn = services.define_type("unicorn", name_zh="独角兽企业", name_en="unicorn enterprise",
                                   levels=["provincial"], validity="calendar_year", by=place["bureau"])
    champion = services.define_type("single-champion", name_zh="制造业单项冠军企业",
                                    name_en="manufacturing single champion", levels=["national", "provincial"],
                                    validity="years", validity_years=3, re_review_years=3,
                                    rule_versions=[{"code": "MIIT-2016-105", "from": None}])
    assert not gazelle.built_in and gazelle.default_level == "provincial"
    assert unicorn.validity_years is None
    assert champion.rule_versions == [{"code": "MIIT-2016-105", "from": None, "title": ""}]
    changed = services.define_type("gazelle", validity_years=3, by=place["bureau"])
    assert changed.pk == gazelle.pk and changed.validity_years == 3


def test_the_shipped_types_are_changed_in_the_catalogue_only(place):
    with pytest.raises(services.DesignationError) as refused:
        services.define_type("hnte", validity_years=5)
    assert refused.value.field == "code" and "catalogue" in refused.value.reason


@pytest.mark.parametrize("fields, field", [
    ({"levels": []}, "levels"),
    ({"levels": ["galactic"]}, "levels"),
    ({"levels": ["city", "city"]}, "levels"),
    ({"validity": "forever"}, "validity"),
    ({"validity": "years", "validity_years": None}, "validity_years"),
    ({"validity": "calendar_year", "validity_years": 2}, "validity_years"),
    ({"re_review_years": 0}, "re_review_years"),
    ({"validity": "open", "validity_years": None, "re_review_years": 3}, "re_review_years"),
    ({"rule_versions": [{"code": "A", "from": None}, {"code": "A", "from": "2020-01-01"}]}, "rule_versions"),
    ({"rule_versions": [{"code": "A", "from": None}, {"code": "B", "from": None}]}, "rule_versions"),
    ({"rule_versions": [{"code": "A", "from": "2020-13-01"}]}, "rule_versions"),
    ({"name_en": ""}, "name_zh"),
])
def test_a_definition_that_does_not_hold_together_is_refused_naming_the_field(place, fields, field):
    base = {"name_zh": "瞪羚企业", "name_en": "gazelle", "levels": ["city"], "validity": "years",
            "validity_years": 2}
    with pytest.raises(services.DesignationError) as refused:
        services.define_type("gazelle", **{**base, **fields})
    assert refused.value.field == field
    assert not DesignationType.objects.filter(code="gazelle").exists()


def test_a_code_is_lower_case_with_hyphens(place):
    with pytest.raises(services.DesignationError) as refused:
        services.define_type("Gazelle_1", name_zh="瞪羚", name_en="gazelle", levels=["city"], validity="open")
    assert refused.value.field == "code"


def test_only_a_bureau_admin_defines_types(place):
    for who in ("owner", "analyst", "zone_manager"):
        with pytest.raises(services.NotAllowed):
            services.define_type("gazelle", name_zh="瞪羚企业", name_en="gazelle", levels=["city"], validity="open",
                                 by=place[who])
