"""From a policy's detector spec to a detector: a pure function from text to `Finding`s.

Built-in detectors are named (`payment_card`, `iban`, ...); keyword lists, regexes and medical
record patterns are built from their spec. `detector_for` is called once per policy version
(services/dlp/policies.py caches the result), never per message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bastion.services.dlp import contact, financial, national_ids, patterns
from bastion.services.dlp.text import Finding
from bastion.services.policy.dlp_section import (
    DetectorSpec,
    KeywordsDetector,
    MedicalRecordDetector,
    RegexDetector,
)

Detector = Callable[[str], list[Finding]]

BUILTIN: dict[str, Detector] = {
    "payment_card": financial.payment_cards,
    "iban": financial.ibans,
    "email": contact.emails,
    "pesel": national_ids.pesels,
    "nip": national_ids.nips,
    "saudi_national_id": national_ids.saudi_national_ids,
    "emirates_id": national_ids.emirates_ids,
    "egyptian_national_id": national_ids.egyptian_national_ids,
}


def detector_for(spec: DetectorSpec, phone_regions: Sequence[str]) -> Detector:
    """The detector a spec names or describes."""
    if isinstance(spec, KeywordsDetector):
        return patterns.keyword_finder(spec.words)
    if isinstance(spec, RegexDetector):
        return patterns.pattern_finder("regex", spec.pattern)
    if isinstance(spec, MedicalRecordDetector):
        return patterns.pattern_finder("medical_record", spec.pattern)
    if spec == "phone":
        return contact.phone_finder(phone_regions)
    return BUILTIN[spec]
