"""The policy document's `dlp` section (issue #13 §4): its shape and its save-time validation.

`dlp.policies[]` is `{"name", "detectors", "action", "scope"}`. A detector is a built-in name
(`payment_card`, `iban`, `email`, `phone`, `pesel`, `nip`, `saudi_national_id`, `emirates_id`,
`egyptian_national_id`) or an object: `{"type": "keywords", "words": [...]}`,
`{"type": "regex", "pattern": ...}`, `{"type": "medical_record", "pattern": ...}`. An empty
scope means everywhere. Two section-wide settings go beside the policies: `language` (the
language of the refusal a `block` answers with: `en`, `ar` or `pl`) and `phone_regions` (the
regions whose national phone formats the `phone` detector reads; E.164 is read whatever they are).

Invariant: a document that passes `check_dlp` compiles (services/dlp/policies.py compiles it
on the hot path without re-validating): every pattern is a valid Python regular expression of
at most `MAX_PATTERN_LENGTH` characters, with no back-reference and no repetition nested inside
a repeated group (`(a+)+`, `(\\d{2,})*`: the shapes whose backtracking explodes). Patterns run
over bounded windows of text (services/dlp/patterns.py), which bounds what slips past this check.
"""

from __future__ import annotations

import re
from typing import Literal

import msgspec
import phonenumbers

from bastion.errors import Errcode, MatrixError

MAX_PATTERN_LENGTH = 512
MAX_POLICIES = 100
MAX_WORDS = 1000

BuiltinDetector = Literal[
    "payment_card",
    "iban",
    "email",
    "phone",
    "pesel",
    "nip",
    "saudi_national_id",
    "emirates_id",
    "egyptian_national_id",
]
DlpAction = Literal["block", "redact", "warn", "flag"]


class KeywordsDetector(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type", tag="keywords"
):
    """Whole words or phrases, matched case-insensitively."""

    words: list[str]


class RegexDetector(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type", tag="regex"
):
    """A regular expression (Python syntax), checked when the policy is saved."""

    pattern: str


class MedicalRecordDetector(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type", tag="medical_record"
):
    """The organisation's medical record number format, as a regular expression."""

    pattern: str


DetectorSpec = BuiltinDetector | KeywordsDetector | RegexDetector | MedicalRecordDetector


class DlpScope(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Where a policy applies: `rooms` narrows where, `users` and `groups` (SCIM) narrow who."""

    rooms: list[str] = []
    users: list[str] = []
    groups: list[str] = []


class DlpPolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One policy: what to look for, what to do, where."""

    name: str
    detectors: list[DetectorSpec]
    action: DlpAction
    scope: DlpScope = DlpScope()


class DlpSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Data-leak prevention."""

    policies: list[DlpPolicy] = []
    language: Literal["en", "ar", "pl"] = "en"
    phone_regions: list[str] = msgspec.field(
        default_factory=lambda: ["PL", "SA", "AE", "EG", "GB", "DE"]
    )


def _invalid(message: str) -> MatrixError:
    return MatrixError(400, Errcode.INVALID_PARAM, message)


def check_dlp(section: DlpSection) -> None:
    """Refuse (400 M_INVALID_PARAM, naming the policy) what would not compile or run safely."""
    if len(section.policies) > MAX_POLICIES:
        raise _invalid(f"dlp.policies: at most {MAX_POLICIES} policies")
    for region in section.phone_regions:
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise _invalid(f"dlp.phone_regions: unknown region {region!r}")
    names: set[str] = set()
    for policy in section.policies:
        if not policy.name.strip() or policy.name in names:
            raise _invalid(f"dlp.policies: the name {policy.name!r} is empty or used twice")
        names.add(policy.name)
        if not policy.detectors:
            raise _invalid(f"dlp policy {policy.name!r} has no detectors")
        for detector in policy.detectors:
            _check_detector(policy.name, detector)


def _check_detector(name: str, detector: DetectorSpec) -> None:
    if isinstance(detector, KeywordsDetector):
        words = [w for w in detector.words if w.strip()]
        if not words or len(words) > MAX_WORDS:
            raise _invalid(f"dlp policy {name!r}: keywords needs 1 to {MAX_WORDS} words")
    elif isinstance(detector, RegexDetector | MedicalRecordDetector):
        problem = pattern_problem(detector.pattern)
        if problem is not None:
            raise _invalid(f"dlp policy {name!r}: pattern {detector.pattern!r} {problem}")


def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` may not be used (None when it may)."""
    if not pattern or len(pattern) > MAX_PATTERN_LENGTH:
        return f"must have 1 to {MAX_PATTERN_LENGTH} characters"
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        return f"is not a valid regular expression: {exc}"
    if compiled.search("") is not None:
        return "matches the empty text (it would match everywhere)"
    if re.search(r"\\[1-9]|\(\?P=|\\g<", pattern):
        return "uses a back-reference"
    if _has_nested_repetition(pattern):
        return "repeats a group that itself repeats (catastrophic backtracking)"
    return None


def _repetition_at(pattern: str, i: int) -> tuple[int, bool]:
    """(length, repeats) of the quantifier starting at `i`: `*`, `+`, `{n,}` and `{n,m}` with
    m > 1 repeat; `?` and `{1}` do not. (0, False) when there is none."""
    if i >= len(pattern):
        return 0, False
    if pattern[i] in "*+":
        return 1, True
    if pattern[i] == "?":
        return 1, False
    bounds = re.match(r"\{(\d*)(,?)(\d*)\}", pattern[i:])
    if bounds is None:
        return 0, False
    low, comma, high = bounds.groups()
    repeats = (comma == "," and high == "") or int(high or low or "0") > 1
    return bounds.end(), repeats


def _has_nested_repetition(pattern: str) -> bool:
    """Whether a repeated group contains a repetition (a conservative, syntactic check)."""
    inner: list[bool] = [False]  # per open group: does it contain a repetition?
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            length, repeats = _repetition_at(pattern, i)
        elif char == "[":
            i = _class_end(pattern, i)
            length, repeats = _repetition_at(pattern, i)
        elif char == "(":
            inner.append(False)
            i += 1
            continue
        elif char == ")" and len(inner) > 1:
            group_repeats = inner.pop()
            i += 1
            length, repeats = _repetition_at(pattern, i)
            if repeats and group_repeats:
                return True
            inner[-1] = inner[-1] or group_repeats
        else:
            i += 1
            length, repeats = _repetition_at(pattern, i)
        inner[-1] = inner[-1] or repeats
        i += length
    return False


def _class_end(pattern: str, i: int) -> int:
    """The index just past the character class opening at `i`."""
    j = i + 1
    if j < len(pattern) and pattern[j] == "^":
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        j += 1
    while j < len(pattern) and pattern[j] != "]":
        j += 2 if pattern[j] == "\\" else 1
    return j + 1
