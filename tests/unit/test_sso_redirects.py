"""Where a login token may go (services/sso/redirects.py): the spec's "If it already includes
one or more `loginToken` parameters, they should be removed before adding the new one", and
the checks that keep a token away from scripts and disguised hosts."""

from __future__ import annotations

import pytest

from bastion.services.sso.redirects import (
    is_acceptable_redirect,
    is_trusted,
    site_of,
    with_login_token,
)


def test_the_token_replaces_earlier_ones_and_keeps_the_rest() -> None:
    url = "https://chat.example.org/?a=1&loginToken=old&b=&loginToken=older#/login"
    assert with_login_token(url, "new") == (
        "https://chat.example.org/?a=1&b=&loginToken=new#/login"
    )
    assert with_login_token("im.fluffychat://login", "t") == "im.fluffychat://login?loginToken=t"


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "JAVASCRIPT:x", "data:text/html,x", "vbscript:x", "https://",
     "https://a b.example/", "no-scheme", "", "https://x.example/\n", "1http://x"],
)  # fmt: skip
def test_unusable_redirects_are_refused(url: str) -> None:
    assert not is_acceptable_redirect(url)


def test_sites_are_named_without_disguise() -> None:
    assert site_of("https://chat.example.org@evil.example/x") == "evil.example"
    assert site_of("im.fluffychat://login") == "im.fluffychat://login"
    assert not is_trusted("https://chat.example.org.evil.example/", ("https://chat.example.org/",))
    assert is_trusted("https://chat.example.org/#/home", ("https://chat.example.org/",))
