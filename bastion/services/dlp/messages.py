"""What DLP tells people, in English, Arabic and Polish.

Whose language? A hook sees the event, not the HTTP request, so `Accept-Language` is out of
reach, and Matrix stores no language for an account. The organisation sets it once: the policy
document's `dlp.language` (en, ar or pl; default en), the language its staff are addressed in.
A refusal in Arabic or Polish ends with the English text too, so a colleague from elsewhere
still understands it. Every message names the policy and says what to do instead; none
quotes what was found.
"""

from __future__ import annotations

from collections.abc import Sequence

_WHAT: dict[str, tuple[str, str, str]] = {  # detector → (en, ar, pl)
    "payment_card": ("a payment card number", "رقم بطاقة دفع", "numer karty płatniczej"),
    "iban": ("a bank account number (IBAN)", "رقم حساب مصرفي (IBAN)", "numer rachunku (IBAN)"),
    "email": ("an email address", "عنوان بريد إلكتروني", "adres e-mail"),
    "phone": ("a phone number", "رقم هاتف", "numer telefonu"),
    "pesel": ("a PESEL number", "رقم PESEL", "numer PESEL"),
    "nip": ("a NIP tax number", "رقم ضريبي NIP", "numer NIP"),
    "saudi_national_id": (
        "a Saudi national ID or Iqama number", "رقم هوية وطنية أو إقامة سعودية",
        "numer saudyjskiego dowodu osobistego lub Iqamy",
    ),
    "emirates_id": ("an Emirates ID number", "رقم الهوية الإماراتية", "numer Emirates ID"),
    "egyptian_national_id": (
        "an Egyptian national ID number", "رقم قومي مصري", "numer egipskiego dowodu osobistego",
    ),
    "medical_record": ("a medical record number", "رقم سجل طبي", "numer dokumentacji medycznej"),
    "keywords": ("restricted words", "كلمات محظورة", "zastrzeżone słowa"),
    "regex": ("restricted content", "محتوى محظور", "zastrzeżone treści"),
}  # fmt: skip
_INDEX = {"en": 0, "ar": 1, "pl": 2}
_AND = {"en": ", ", "ar": "، ", "pl": ", "}

_BLOCK = {
    "en": 'Not sent: the organisation\'s data-leak policy "{policy}" found {what} in your'
    " message. Remove it and send again; to share such data, use the channel your"
    " compliance team approved.",
    "ar": 'لم تُرسَل الرسالة: سياسة منع تسرّب البيانات "{policy}" في المؤسسة وجدت فيها {what}.'
    " احذفها ثم أعد الإرسال؛ ولمشاركة مثل هذه البيانات استخدم القناة التي اعتمدها فريق الامتثال.",
    "pl": 'Nie wysłano: zasada ochrony przed wyciekiem danych "{policy}" wykryła w wiadomości'
    " {what}. Usuń te dane i wyślij ponownie; aby je przekazać, użyj kanału zatwierdzonego"
    " przez dział zgodności.",
}
_WARN = {
    "en": 'Your message in {room} matched the data-leak policy "{policy}" ({what}). It was'
    " sent, but please do not share such data in chat: use the channel your compliance team"
    " approved.",
    "ar": 'رسالتك في {room} طابقت سياسة منع تسرّب البيانات "{policy}" ({what}). أُرسلت، لكن'
    " يُرجى عدم مشاركة مثل هذه البيانات في المحادثة: استخدم القناة التي اعتمدها فريق الامتثال.",
    "pl": "Twoja wiadomość w {room} naruszyła zasadę ochrony przed wyciekiem danych"
    ' "{policy}" ({what}). Została wysłana, ale nie udostępniaj takich danych na czacie:'
    " użyj kanału zatwierdzonego przez dział zgodności.",
}


def _what(detectors: Sequence[str], language: str) -> str:
    index = _INDEX[language]
    names = dict.fromkeys(detectors)  # first-seen order, no repeats
    return _AND[language].join(_WHAT.get(name, _WHAT["regex"])[index] for name in names)


def _render(templates: dict[str, str], language: str, **values: str) -> str:
    def one(lang: str) -> str:
        return templates[lang].format(what=_what(values["detectors"].split(","), lang), **values)

    text = one(language)
    return text if language == "en" else f"{text}\n\n{one('en')}"


def block_message(policy: str, detectors: Sequence[str], language: str) -> str:
    """The 403's text: the policy's name, what it found, what to do instead."""
    return _render(_BLOCK, language, policy=policy, detectors=",".join(detectors))


def warning_notice(policy: str, detectors: Sequence[str], room_id: str, language: str) -> str:
    """The server notice a `warn` policy sends its sender."""
    return _render(_WARN, language, policy=policy, detectors=",".join(detectors), room=room_id)
