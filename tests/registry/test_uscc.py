"""Unified Social Credit Code checks (GB 32100-2015) and how the registry applies them."""

import pytest

from kechuang.registry import uscc
from kechuang.registry.services import RegistryError, check_uscc, save_organisation


@pytest.mark.parametrize("code", [
    "91512081MA62K0260E",   # worked example in the domain rules
    "91110108551385082Q",
    "91110000600037341L",
    "91320612000000000B",   # synthetic Tongzhou fixture
    "911101120000000000",   # S mod 31 == 0: check value 31 becomes '0'
])
def test_valid_codes_pass_both_checks(code):
    assert uscc.check(code).valid


def test_lowercase_and_spaces_are_normalised():
    result = uscc.check(" 91512081ma62k0260e ")
    assert result.valid and result.code == "91512081MA62K0260E"


def test_wrong_check_character_names_the_expected_one():
    result = uscc.check("91350203M0001QAY9B")
    assert not result.valid and result.checksum_only
    assert "expected '9'" in result.error


def test_wrong_organisation_code_check_at_position_17():
    first16 = "91320612ABCDEFGH"
    right17 = uscc.gb11714_check_char(first16[8:])
    wrong17 = "0" if right17 != "0" else "1"
    code = first16 + wrong17
    code += uscc.check_char(code)  # a valid mod-31 character, so only the inner check fails
    result = uscc.check(code)
    assert not result.valid and result.checksum_only
    assert "position 17" in result.error


@pytest.mark.parametrize("code, reason", [
    ("9151208", "18 characters"),
    ("91512081MA62K0260EE", "18 characters"),
    ("9151208IMA62K0260E", "I, O, Z, S and V"),
    ("91512081MA62K026OE", "I, O, Z, S and V"),
])
def test_malformed_codes_are_not_checksum_faults(code, reason):
    result = uscc.check(code)
    assert not result.valid and not result.checksum_only
    assert reason in result.error


def test_make_builds_codes_that_pass():
    for n in range(50):
        assert uscc.check(uscc.make("91320612", f"0000{n:04d}")).valid


def test_new_entry_with_bad_check_character_is_refused():
    with pytest.raises(RegistryError) as info:
        check_uscc("91350203M0001QAY9B")
    assert info.value.field == "uscc"


def test_import_of_legacy_code_is_kept_with_a_warning():
    outcome = check_uscc("91350203M0001QAY9B", legacy=True)
    assert outcome.code == "91350203M0001QAY9B"
    assert "failing check" in outcome.warning


def test_import_never_accepts_a_malformed_code():
    with pytest.raises(RegistryError):
        check_uscc("9151208IMA62K0260E", legacy=True)


@pytest.mark.django_db
def test_registry_refuses_a_second_enterprise_with_the_same_code():
    save_organisation("first", kind="enterprise", name_en="First Co", uscc="91512081MA62K0260E")
    with pytest.raises(RegistryError) as info:
        save_organisation("second", kind="enterprise", name_en="Second Co", uscc="91512081ma62k0260e")
    assert "already belongs to first" in info.value.reason


@pytest.mark.django_db
def test_legacy_import_stores_the_warning_on_the_organisation():
    org, _ = save_organisation("legacy", kind="enterprise", name_en="Legacy Co", uscc="91350203M0001QAY9B", legacy_uscc=True)
    org.refresh_from_db()
    assert org.uscc == "91350203M0001QAY9B" and "expected '9'" in org.uscc_warning


def letter_authority_code(authority: str, division: str = "320612", identifier: str = "MA1XU4B0") -> str:
    """A valid code of a registration authority written with a letter (GB 32100: A 军队, N 农业, Y 其他)."""
    return uscc.make(authority + division, identifier)


@pytest.mark.parametrize("authority", ["A1", "A9", "N1", "N2", "N3", "N9", "Y1"])
def test_letter_authority_codes_are_valid(authority):
    code = letter_authority_code(authority)
    assert code[:2] == authority and uscc.check(code.lower()).valid


def test_a_letter_authority_code_with_a_wrong_check_character_names_the_expected_one():
    code = letter_authority_code("N2")
    wrong = "0" if code[17] != "0" else "1"
    result = uscc.check(code[:17] + wrong)
    assert not result.valid and result.checksum_only and f"expected {code[17]!r}" in result.error


@pytest.mark.parametrize("code", ["91A20612MA62K0260E", "9151208AMA62K0260E", "N23206I2MA1XU4B0X0"])
def test_a_letter_in_the_division_code_is_refused_naming_the_positions(code):
    result = uscc.check(code)
    assert not result.valid and not result.checksum_only
    reason = "I, O, Z, S and V" if "I" in code else f"positions 3–8 must be a six-digit division code, not {code[2:8]!r}"
    assert reason in result.error
