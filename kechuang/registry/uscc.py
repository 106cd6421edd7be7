"""Unified Social Credit Code (统一社会信用代码, GB 32100-2015).

python-stdnum checks length, character set and the mod-31 check character (position
18). It does not check position 17, which is the GB 11714 organisation-code check
character of the embedded entity identifier (positions 9–17); we add that here.
"""

from dataclasses import dataclass

from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength, ValidationError

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
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
    code = stdnum_uscc.compact(value or "")
    try:
        stdnum_uscc.validate(code)
    except InvalidChecksum:
        expected = check_char(code[:17])
        return USCCCheck(code, f"check character is {code[17]!r}, expected {expected!r}", True)
    except InvalidLength:
        return USCCCheck(code, f"must be 18 characters, got {len(code)}")
    except (InvalidFormat, InvalidComponent):
        bad = sorted({ch for ch in code if ch not in CHARSET})
        if bad:
            return USCCCheck(code, f"contains characters not used in the code: {''.join(bad)} (I, O, Z, S and V never appear)")
        return USCCCheck(code, "positions 3–8 must be a six-digit division code")
    except ValidationError as exc:  # pragma: no cover - any future stdnum error class
        return USCCCheck(code, str(exc))
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
