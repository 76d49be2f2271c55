"""Email addresses and phone numbers.

- Email: a local part and a domain checked against RFC 5321's limits (local part at most 64
  characters, no leading, trailing or doubled dot; domain labels of 1-63 letters, digits or
  hyphens, not at either end of a label; a top-level label of letters; at most 254 in all).
  A Matrix user ID (`@alice:example.org`) has no local part before its `@` and is no address.
- Phone: Google's libphonenumber (the `phonenumbers` package), which keeps the numbering plans
  current: numbers in E.164 (`+48 601 234 567`) anywhere, and in the national format of each
  region the policy lists (`dlp.phone_regions`), accepted only when the plan says the number is
  valid (not merely possible). Arabic-Indic digits are read as digits first. Candidates are
  found here (runs of 7-15 digits in groups, an optional `+` and parentheses; dates are not
  candidates) and only they are parsed: the library's own text matcher costs about 2 ms a
  message, which a send must not pay.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

import phonenumbers

from bastion.services.dlp.text import Finding, count_digits, normalize_digits

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})+"
)
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?$")
_MAX_ADDRESS = 254
_PHONE_DIGITS = (7, 15)  # E.164 allows 15; the shortest national numbers we serve have 7+
_MAX_PHONE_GROUPS = 8
# A candidate: an optional + and (, then digit groups joined by at most two separators.
_PHONE_RUN = re.compile(
    r"(?<![0-9+])\+?\(?[0-9]+(?:[ \u00a0\u202f\u2009\-\u2010\u2011\u2012\u2013.()/]{1,2}[0-9]+)*"
)
_GROUP = re.compile(r"[0-9]+")
_DATE = re.compile(r"^(\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})$")


def email_valid(address: str) -> bool:
    """Whether `address` keeps the RFC 5321 limits described above."""
    local, _, domain = address.rpartition("@")
    if not local or len(address) > _MAX_ADDRESS:
        return False
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return False
    labels = domain.split(".")
    return all(_LABEL.match(label) for label in labels) and labels[-1].isalpha()


def emails(text: str) -> list[Finding]:
    """Email addresses (a trailing full stop ends the sentence, not the address)."""
    found = []
    for match in _EMAIL.finditer(text):
        address = match.group().rstrip(".-")
        if email_valid(address):
            found.append(Finding("email", match.start(), match.start() + len(address)))
    return found


def _valid_phone(candidate: str, regions: Sequence[str]) -> bool:
    for region in (None,) if candidate.startswith("+") else regions:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return True
    return False


def _phone_spans(normalized: str, regions: Sequence[str]) -> Iterator[tuple[int, int]]:
    """Valid numbers among the runs of digit groups, longest first from each group."""
    for run in _PHONE_RUN.finditer(normalized):
        groups = list(_GROUP.finditer(normalized, run.start(), run.end()))
        first = 0
        while first < len(groups):
            end_group = _longest_valid(normalized, run, groups, first, regions)
            if end_group is None:
                first += 1
                continue
            start = run.start() if first == 0 else groups[first].start()
            yield start, groups[end_group].end()
            first = end_group + 1


def _longest_valid(
    normalized: str, run: re.Match[str], groups: list[re.Match[str]], first: int,
    regions: Sequence[str],
) -> int | None:  # fmt: skip
    """The last group of the longest valid number starting at group `first`, if any."""
    counts = [len(g.group()) for g in groups]
    for last in range(min(len(groups), first + _MAX_PHONE_GROUPS) - 1, first - 1, -1):
        if not _PHONE_DIGITS[0] <= sum(counts[first : last + 1]) <= _PHONE_DIGITS[1]:
            continue
        start = run.start() if first == 0 else groups[first].start()
        candidate = normalized[start : groups[last].end()]
        if not _DATE.match(candidate) and _valid_phone(candidate, regions):
            return last
    return None


def phone_finder(regions: Sequence[str]) -> Callable[[str], list[Finding]]:
    """A detector for valid phone numbers: E.164 anywhere, national formats of `regions`."""
    chosen = tuple(regions)

    def phones(text: str) -> list[Finding]:
        normalized = normalize_digits(text)
        if count_digits(normalized) < _PHONE_DIGITS[0]:
            return []
        return [Finding("phone", start, end) for start, end in _phone_spans(normalized, chosen)]

    return phones
