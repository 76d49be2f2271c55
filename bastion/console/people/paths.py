"""The URLs of people pages, and the one-time passwords they hand out."""

from __future__ import annotations

import secrets
from urllib.parse import quote

from bastion.console.pages import ROOT


def person_path(user_id: str, suffix: str = "") -> str:
    """`/admin/people/%40bob%3Aexample.org` (+ `/suffix`)."""
    return f"{ROOT}/people/{quote(user_id, safe='')}{'/' + suffix if suffix else ''}"


def one_time_password() -> str:
    """A random password (120 bits) for the admin to hand over; the person changes it."""
    return secrets.token_urlsafe(15)
