"""Unified Social Credit Code (统一社会信用代码, GB 32100-2015; domain-rules.md §4).

The structure is checked here: 18 characters of the code's alphabet, positions 3–8 the
registering authority's six-digit division code, position 17 the GB 11714 check character
of the entity identifier (positions 9–16), position 18 the mod-31 check character, which
python-stdnum computes. stdnum's own `validate` is not used: it wants positions 1–8 to be
digits, and so refuses the letter registration-authority codes A (军队), N (农业) and Y (其他).
"""

from dataclasses import dataclass

from stdnum.cn import uscc as stdnum_uscc

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
DIGITS = "0123456789"
_GB11714_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


@dataclass(frozen=True)
class USCCCheck:
    """The outcome of checking a code: the normalised code and, if any, what is wrong."""

    code: str
    error: str = ""
    #: True when only a check character is wrong: the structure is right, so a record
    #: imported from an existing register may keep it, with a warning.
    checksum_only: bool = False

    @property
    def valid(self) -> bool:
        return not self.error


def gb11714_check_char(identifier8: str) -> str:
    """Check character of a GB 11714 organisation code over its first eight characters."""
    total = sum(int(ch, 36) * weight for ch, weight in zip(identifier8, _GB11714_WEIGHTS, strict=True))
    c = 11 - total % 11
    return {10: "X", 11: "0"}.get(c, str(c))


def check_char(first17: str) -> str:
    """The mod-31 check character (position 18) for the first 17 characters."""
    return stdnum_uscc.calc_check_digit(first17)


def check(value: str) -> USCCCheck:
    """Check a code as written (spaces, hyphens and lower case allowed). Positions 1 and 2, the
    registration authority and the type of entity, may be any character of the alphabet: a
    digit, or a letter as for the authorities A, N and Y."""
    code = stdnum_uscc.compact(value or "")
    if len(code) != 18:
        return USCCCheck(code, f"must be 18 characters, got {len(code)}")
    if bad := sorted({ch for ch in code if ch not in CHARSET}):
        return USCCCheck(code, f"contains characters not used in the code: {''.join(bad)} (I, O, Z, S and V never appear)")
    if any(ch not in DIGITS for ch in code[2:8]):
        return USCCCheck(code, f"positions 3–8 must be a six-digit division code, not {code[2:8]!r}")
    expected = check_char(code[:17])
    if code[17] != expected:
        return USCCCheck(code, f"check character is {code[17]!r}, expected {expected!r}", True)
    inner = gb11714_check_char(code[8:16])
    if code[16] != inner:
        return USCCCheck(code, f"organisation-code check character (position 17) is {code[16]!r}, expected {inner!r}", True)
    return USCCCheck(code)


def make(prefix: str, identifier8: str) -> str:
    """Build a valid code from the first 8 characters and an 8-character entity identifier.

    Used for synthetic demo enterprises; never for real ones.
    """
    first17 = prefix + identifier8 + gb11714_check_char(identifier8)
    return first17 + check_char(first17)
