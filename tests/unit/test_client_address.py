"""THE client address of a request behind (or not behind) trusted reverse proxies."""

from __future__ import annotations

import pytest

from bastion.api.access_log import loggable_target
from bastion.api.client_address import ClientAddressResolver

PROXY = "10.0.0.1"
CLIENT = "203.0.113.9"


def behind_proxy() -> ClientAddressResolver:
    return ClientAddressResolver(["10.0.0.0/24", "fd00::/8"])


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    """X-Forwarded-For is honoured only from configured trusted proxies."""
    assert ClientAddressResolver().resolve(PROXY, [CLIENT]) == PROXY
    assert ClientAddressResolver().resolve(None, []) == "unknown"


def test_an_untrusted_peer_cannot_choose_its_address() -> None:
    assert behind_proxy().resolve("198.51.100.4", ["10.0.0.2", CLIENT]) == "198.51.100.4"


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        pytest.param([CLIENT], CLIENT, id="one-proxy"),
        pytest.param([f"{CLIENT}, 10.0.0.2"], CLIENT, id="two-trusted-hops"),
        pytest.param([f"1.2.3.4, {CLIENT}"], CLIENT, id="spoofed-left-part-ignored"),
        pytest.param(["1.2.3.4", CLIENT], CLIENT, id="several-headers-in-order"),
        pytest.param([f"bogus, {CLIENT}"], CLIENT, id="garbage-left-of-client"),
        pytest.param([f"{CLIENT}, bogus"], PROXY, id="garbage-from-the-proxy-side"),
        pytest.param(["10.0.0.3, 10.0.0.2"], "10.0.0.3", id="all-trusted-leftmost"),
        pytest.param([], PROXY, id="no-header"),
        pytest.param(["2001:db8::7"], "2001:db8::7", id="ipv6-client"),
    ],
)
def test_right_most_untrusted_address_is_the_client(forwarded: list[str], expected: str) -> None:
    assert behind_proxy().resolve(PROXY, forwarded) == expected


def test_ipv4_mapped_peer_matches_an_ipv4_proxy() -> None:
    assert behind_proxy().resolve("::ffff:10.0.0.1", [CLIENT]) == CLIENT


def test_secret_query_parameters_are_redacted() -> None:
    """Tokens in URLs end up in logs: never ours."""
    assert loggable_target("/p", b"") == "/p"
    assert loggable_target("/p", b"timeout=0&since=s1") == "/p?timeout=0&since=s1"
    target = loggable_target("/p", b"access_token=bst_secret&timeout=0")
    assert "bst_secret" not in target
    assert target == "/p?access_token=<redacted>&timeout=0"
    assert "abc" not in loggable_target("/validity", b"token=abc")


def test_secret_parameters_are_redacted_however_their_names_are_escaped() -> None:
    """The access log reads only parameter names on its fast path: a name written with escapes
    (`%74oken` is `token`) or `+` is decoded as the server decodes it, and still redacted."""
    assert "abc" not in loggable_target("/validity", b"%74oken=abc")
    assert "abc" not in loggable_target("/p", b"filter=%7B%7D&access%5Ftoken=abc")
    assert "abc" not in loggable_target("/p", b"x=1&loginToken=abc&y")
    kept = b"filter=%7B%22room%22%3A%7B%7D%7D&since=s1&tokenish=1"
    assert loggable_target("/p", kept) == f"/p?{kept.decode()}"
