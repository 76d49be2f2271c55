"""DLP detectors (issue #13 §4): valid and invalid numbers for every detector, in Latin digits,
Arabic-Indic (U+0660-0669) and Extended Arabic-Indic (U+06F0-06F9) digits, with the common
separators.

Issue #13: "Detectors with real validation, not bare regexes: payment card numbers (Luhn, 13-19
digits, common IIN ranges), IBAN (mod-97 with the per-country length table; PL, SA, AE, EG, DE,
GB and the rest), email addresses, phone numbers (E.164 and national forms ...), Polish PESEL
(checksum and birth date) and NIP (checksum), Saudi national ID/Iqama (checksum), UAE Emirates ID
(784 prefix and Luhn), Egyptian national ID (structure, century digit, birth date, governorate
code) ... Every detector reads Arabic-Indic (U+0660-0669) and Extended Arabic-Indic
(U+06F0-06F9) digits and the common separators."
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bastion.services.dlp.contact import emails, phone_finder
from bastion.services.dlp.financial import IBAN_LENGTHS, ibans, payment_cards
from bastion.services.dlp.national_ids import (
    egyptian_national_ids,
    emirates_ids,
    nips,
    pesels,
    saudi_national_ids,
)
from bastion.services.dlp.text import Finding

ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
phones = phone_finder(["PL", "SA", "AE", "EG"])

Detector = Callable[[str], list[Finding]]

# (detector, valid numbers as people write them, invalid ones)
CASES: list[tuple[str, Detector, list[str], list[str]]] = [
    (
        "payment_card",
        payment_cards,
        ["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005", "4111111111111111"],
        [
            "4111 1111 1111 1112",  # fails Luhn
            "1234 5678 1234 5670",  # passes Luhn, no issuer uses prefix 1
            "3782822463100051",  # Amex range, but Amex numbers have 15 digits
            "411111111111",  # 12 digits
        ],
    ),
    (
        "iban",
        ibans,
        [
            "PL61 1090 1014 0000 0712 1981 2874",
            "SA03 8000 0000 6080 1016 7519",
            "AE07 0331 2345 6789 0123 456",
            "EG38 0019 0005 0000 0000 2631 8000 2",
            "DE89370400440532013000",
            "gb82 west 1234 5698 7654 32",
        ],
        [
            "PL61 1090 1014 0000 0712 1981 2875",  # mod-97 fails
            "PL61 1090 1014 0000 0712 1981 287",  # one character short for PL
            "DE89 3704 0044 0532 0130 0012",  # longer than DE's 22
            "XX89370400440532013000",  # no such country
        ],
    ),
    (
        "pesel",
        pesels,
        ["44051401359", "0221030123 2", "04222901237"],
        [
            "44051401358",  # checksum
            "88130101231",  # checksum right, month 13 in no century
            "02222901233",  # checksum right, 29 February 2002 never was
        ],
    ),
    ("nip", nips, ["1234563218", "123-456-32-18", "123-45-63-218"], ["1234563219", "123456321"]),
    (
        "saudi_national_id",
        saudi_national_ids,
        ["1087654321", "2345678904"],
        ["1087654322", "3123456786"],  # checksum; 3 is neither citizen (1) nor resident (2)
    ),
    (
        "emirates_id",
        emirates_ids,
        ["784-1990-1234567-6", "784199012345676"],
        [
            "784-1990-1234567-5",  # Luhn
            "785199012345670",  # not 784
            "784180012345676",  # Luhn right, but born in 1800
        ],
    ),
    (
        "egyptian_national_id",
        egyptian_national_ids,
        ["29001010123456", "30502288812345"],
        [
            "29001012023456",  # governorate 20 does not exist
            "29002300123456",  # 30 February
            "49001010123456",  # century digit 4
        ],
    ),
    (
        "email",
        emails,
        ["jan.kowalski@example.pl", "ahmed+hr@mail.example.com.eg"],
        ["a..b@example.com", "@alice:example.org", "x@-bad.example", "no-at.example.com"],
    ),
    (
        "phone",
        phones,
        ["+48 601 234 567", "601 234 567", "+966 50 123 4567", "050 123 4567", "+20 10 1234 5678"],
        ["+48 123", "0000000", "12345"],
    ),
]


def _ids(case: tuple[str, Detector, list[str], list[str]]) -> str:
    return case[0]


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_valid_numbers_are_found_in_every_digit_script(
    case: tuple[str, Detector, list[str], list[str]],
) -> None:
    name, detect, valid, _ = case
    for number in valid:
        for script in (None, ARABIC, PERSIAN):
            shown = number if script is None else number.translate(script)
            text = f"please note {shown}, thanks"
            found = detect(text)
            assert [f.detector for f in found] == [name], (name, shown)
            assert text[found[0].start : found[0].end] == shown


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_invalid_numbers_are_not_flagged(case: tuple[str, Detector, list[str], list[str]]) -> None:
    name, detect, _, invalid = case
    for number in invalid:
        for script in (None, ARABIC):
            shown = number if script is None else number.translate(script)
            assert detect(f"please note {shown}, thanks") == [], (name, shown)


def test_a_number_among_other_digit_groups_is_still_found() -> None:
    """Runs of digit groups are tried in every sub-run, so a phone number written just before a
    PESEL does not hide it."""
    text = "call 123 456 789 44051401359 now"
    assert [text[f.start : f.end] for f in pesels(text)] == ["44051401359"]


def test_iban_length_table_covers_the_regions_we_serve() -> None:
    expected = {"PL": 28, "SA": 24, "AE": 23, "EG": 29, "DE": 22, "GB": 22}
    assert {cc: IBAN_LENGTHS[cc] for cc in expected} == expected
