"""Payment cards and IBANs, validated the way banks validate them.

- Payment card: 13 to 19 digits, a known issuer range (IIN) with a length that issuer uses, and
  the Luhn check. A number failing Luhn, or from no known range, is not a card.
- IBAN: a country code with its registered length (`IBAN_LENGTHS`, the SWIFT IBAN registry),
  two check digits and the BBAN, written compact or in groups; the ISO 7064 mod-97 check must
  give 1.
"""

from __future__ import annotations

import re

from bastion.services.dlp.text import (
    Finding,
    count_digits,
    digit_candidates,
    luhn_valid,
    normalize_digits,
)

CARD_LENGTHS = range(13, 20)

# Country → IBAN length (SWIFT IBAN registry).
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}")
_IBAN_SEPARATORS = " \u00a0\u202f-"
# (lowest prefix, highest prefix, allowed lengths), prefixes compared on their own digit count
_ISSUERS: tuple[tuple[str, str, tuple[int, ...]], ...] = (
    ("4", "4", (13, 16, 19)),  # Visa (and Mada cards on Visa ranges)
    ("51", "55", (16,)),  # Mastercard
    ("2221", "2720", (16,)),  # Mastercard 2-series
    ("34", "34", (15,)),  # American Express
    ("37", "37", (15,)),
    ("6011", "6011", tuple(range(16, 20))),  # Discover
    ("644", "649", tuple(range(16, 20))),
    ("65", "65", tuple(range(16, 20))),
    ("3528", "3589", tuple(range(16, 20))),  # JCB
    ("300", "305", tuple(range(14, 20))),  # Diners Club
    ("36", "36", tuple(range(14, 20))),
    ("38", "39", tuple(range(16, 20))),
    ("62", "62", tuple(range(16, 20))),  # UnionPay
    ("2200", "2204", tuple(range(16, 20))),  # Mir
    ("50", "50", tuple(range(13, 20))),  # Maestro (and Meeza on 5078xx)
    ("56", "69", tuple(range(13, 20))),
)


def issuer_accepts(digits: str) -> bool:
    """Whether a known issuer range uses `digits`' prefix with its length."""
    for low, high, lengths in _ISSUERS:
        if low <= digits[: len(low)] <= high and len(digits) in lengths:
            return True
    return False


def payment_cards(text: str) -> list[Finding]:
    """Card numbers: a known issuer range and length, and a valid Luhn check digit."""
    normalized = normalize_digits(text)
    if count_digits(normalized) < CARD_LENGTHS.start:
        return []
    return [
        Finding("payment_card", span.start, span.end)
        for span in digit_candidates(normalized, CARD_LENGTHS)
        if issuer_accepts(span.digits) and luhn_valid(span.digits)
    ]


def iban_valid(compact: str) -> bool:
    """The length for its country and the mod-97 check of a compact, upper-case IBAN."""
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def ibans(text: str) -> list[Finding]:
    """IBANs, compact or grouped, in any case, with Arabic-Indic digits read as digits."""
    normalized = normalize_digits(text)
    found = []
    for start in _IBAN_START.finditer(normalized):
        length = IBAN_LENGTHS.get(start.group()[:2].upper())
        if length is None:
            continue
        taken = _take(normalized, start.start(), length)
        if taken is not None and iban_valid(taken[0].upper()):
            found.append(Finding("iban", start.start(), taken[1]))
    return found


def _is_alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _take(text: str, start: int, length: int) -> tuple[str, int] | None:
    """`length` letters and digits from `start`, single separators allowed between them; None
    unless exactly that many end at a boundary. Returns (compact, end index)."""
    chars: list[str] = []
    i = start
    while i < len(text) and len(chars) < length:
        if _is_alnum(text[i]):
            chars.append(text[i])
        elif not (text[i] in _IBAN_SEPARATORS and i + 1 < len(text) and _is_alnum(text[i + 1])):
            break
        i += 1
    if len(chars) < length or (i < len(text) and _is_alnum(text[i])):
        return None
    return "".join(chars), i
