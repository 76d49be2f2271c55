"""What the hostile-input tests share (tests/api/test_hostile_input.py for the HTTP APIs,
tests/console/test_console_hostile.py for the console): the hostile text, a config without
rate limits (a 429 would stop a request before its parser), and filling a route template's
parameters with real IDs, or one of them with hostile text."""

from __future__ import annotations

import re
from urllib.parse import quote

from bastion.config_sections import RateLimit, RateLimitsConfig

# Percent-encoded: a NUL, and U+D800 written as UTF-8 would write it (not valid UTF-8).
NUL = "a%00b"
LONE_SURROGATE = "a%ED%A0%80b"

_UNLIMITED = RateLimit(per_second=1e6, burst=10**9)
NO_RATE_LIMITS = RateLimitsConfig(
    login_per_ip=_UNLIMITED, register_per_ip=_UNLIMITED, requests_per_user=_UNLIMITED
)

_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def path_params(template: str) -> list[str]:
    """The parameter names of a route template (`{roomId}`, `{report_id:int}`)."""
    return _PARAM.findall(template)


def fill_path(template: str, values: dict[str, str], hostile: tuple[str, str] | None = None) -> str:
    """The template with real IDs for its parameters ("x" for unknown ones); `hostile`
    replaces one (already encoded)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if hostile is not None and name == hostile[0]:
            return hostile[1]
        return quote(values.get(name, "x"), safe="")

    return _PARAM.sub(value, template)
