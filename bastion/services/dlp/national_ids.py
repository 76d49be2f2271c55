"""National identity numbers of Poland, Saudi Arabia, the UAE and Egypt, each fully validated.

- PESEL (PL): 11 digits, YYMMDD with the century in the month (+80: 1800s, +0: 1900s,
  +20: 2000s, +40: 2100s, +60: 2200s) forming a real date, weights 1 3 7 9 1 3 7 9 1 3 and the
  check digit (10 - sum mod 10) mod 10.
- NIP (PL tax number): 10 digits, weights 6 5 7 2 3 4 5 6 7, sum mod 11 equal to the last
  digit (a sum giving 10 is never issued).
- Saudi national ID / Iqama: 10 digits, the first 1 (citizen) or 2 (resident), Luhn-valid.
- Emirates ID: 15 digits, `784` (the UAE's ISO country code), a birth year, Luhn-valid.
- Egyptian national ID: 14 digits: the century (2: 1900s, 3: 2000s), YYMMDD forming a real
  date, a governorate code from the official list, a 4-digit sequence, a check digit (whose
  algorithm is not published, so it is not checked).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from bastion.services.dlp.text import (
    Finding,
    count_digits,
    digit_candidates,
    luhn_valid,
    normalize_digits,
)

_PESEL_WEIGHTS = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
_PESEL_CENTURY = {80: 1800, 0: 1900, 20: 2000, 40: 2100, 60: 2200}  # month offset → century
_NIP_WEIGHTS = (6, 5, 7, 2, 3, 4, 5, 6, 7)
_EGYPT_CENTURY = {"2": 1900, "3": 2000}
# Governorate codes of the Egyptian national ID (88: born abroad).
EGYPT_GOVERNORATES = frozenset(
    {"01", "02", "03", "04", "11", "12", "13", "14", "15", "16", "17", "18", "19", "21", "22",
     "23", "24", "25", "26", "27", "28", "29", "31", "32", "33", "34", "35", "88"}
)  # fmt: skip
_EMIRATES_YEARS = range(1900, 2100)


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True


def pesel_valid(digits: str) -> bool:
    """Checksum and birth date of an 11-digit PESEL."""
    values = [int(c) for c in digits]
    check = (10 - sum(w * v for w, v in zip(_PESEL_WEIGHTS, values, strict=False)) % 10) % 10
    if check != values[10]:
        return False
    month = int(digits[2:4])
    offset = month - (month - 1) % 20 - 1
    century = _PESEL_CENTURY.get(offset)
    if century is None:
        return False
    return _is_date(century + int(digits[:2]), month - offset, int(digits[4:6]))


def nip_valid(digits: str) -> bool:
    """Checksum of a 10-digit NIP."""
    total = sum(w * int(c) for w, c in zip(_NIP_WEIGHTS, digits, strict=False)) % 11
    return total != 10 and total == int(digits[9])


def saudi_id_valid(digits: str) -> bool:
    """A 10-digit Saudi national ID (1...) or Iqama (2...) with its check digit."""
    return digits[0] in "12" and luhn_valid(digits)


def emirates_id_valid(digits: str) -> bool:
    """A 15-digit Emirates ID: 784, a birth year, a Luhn check digit."""
    return digits.startswith("784") and int(digits[3:7]) in _EMIRATES_YEARS and luhn_valid(digits)


def egyptian_id_valid(digits: str) -> bool:
    """The structure of a 14-digit Egyptian national ID: century, birth date, governorate."""
    century = _EGYPT_CENTURY.get(digits[0])
    if century is None or digits[7:9] not in EGYPT_GOVERNORATES:
        return False
    return _is_date(century + int(digits[1:3]), int(digits[3:5]), int(digits[5:7]))


def _finder(name: str, length: int, valid: Callable[[str], bool]) -> Callable[[str], list[Finding]]:
    lengths = (length,)

    def find(text: str) -> list[Finding]:
        normalized = normalize_digits(text)
        if count_digits(normalized) < length:
            return []
        return [
            Finding(name, span.start, span.end)
            for span in digit_candidates(normalized, lengths)
            if valid(span.digits)
        ]

    find.__name__ = name
    return find


pesels = _finder("pesel", 11, pesel_valid)
nips = _finder("nip", 10, nip_valid)
saudi_national_ids = _finder("saudi_national_id", 10, saudi_id_valid)
emirates_ids = _finder("emirates_id", 15, emirates_id_valid)
egyptian_national_ids = _finder("egyptian_national_id", 14, egyptian_id_valid)
