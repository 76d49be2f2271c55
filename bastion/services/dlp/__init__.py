"""Data-leak prevention (issue #13 §4): detectors, compiled policies, the event hook, reviews.

- `text.py`: digit normalisation (Arabic-Indic and Extended Arabic-Indic digits read as 0-9,
  length-preserving so every span found maps back to the original text) and digit candidates
  across the common separators.
- `financial.py` (payment cards, IBAN), `national_ids.py` (PESEL, NIP, Saudi ID/Iqama, Emirates
  ID, Egyptian national ID), `contact.py` (email, phone), `patterns.py` (keywords, regexes,
  medical record numbers): pure functions from text to `Finding`s, each validating what it finds
  (a checksum, a date, a length table), never a bare regex.
- `detectors.py`: the registry from a policy's detector spec to a detector function.
- `policies.py`: the `dlp` section compiled once per policy version, scope, evaluation.
- `content.py`: which fields of an event carry text, and their redaction.
- `hook.py`: THE event hook (check: block and redact; record: warn and flag; committed: the
  warning notice). `messages.py`: the refusal's wording in en/ar/pl.
- `reviews.py`: the compliance review queue and the "try a text" evaluation, for admins.

Invariant: no audit record, review entry, log line or notice carries the matched text itself,
only the policy, the detector, where (room, event, field) and how many.
"""
