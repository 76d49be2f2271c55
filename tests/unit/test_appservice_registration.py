"""Application service registration files (spec: application-service-api#registration): what
the server accepts, what it refuses at start (naming the file), and the namespace rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bastion.config import ConfigError, load_config
from bastion.errors import MatrixError
from bastion.services.appservices.registration import RegistrationError, load_registrations
from bastion.services.appservices.registry import AppServiceRegistry

SERVER = "example.org"


def registration(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "irc",
        "url": "http://127.0.0.1:9999",
        "as_token": "as-secret",
        "hs_token": "hs-secret",
        "sender_localpart": "_irc_bot",
        "namespaces": {
            "users": [{"exclusive": True, "regex": "@_irc_.*"}],
            "aliases": [{"exclusive": False, "regex": "#_irc_.*"}],
            "rooms": [{"exclusive": False, "regex": "!logged:example\\.org"}],
        },
        "protocols": ["irc"],
        "receive_ephemeral": True,
        "de.sorunome.msc2409.push_ephemeral": True,  # unknown keys are kept out, not refused
    }
    body.update(changes)
    return body


def write(directory: Path, name: str, body: object) -> str:
    path = directory / name
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    return str(path)


def test_a_registration_as_the_spec_shows_it(tmp_path: Path) -> None:
    (reg,) = load_registrations([write(tmp_path, "irc.yaml", registration())], SERVER)
    assert reg.id == "irc"
    assert reg.sender == "@_irc_bot:example.org"
    assert reg.url == "http://127.0.0.1:9999"
    assert reg.rate_limited
    assert reg.owns_user("@_irc_alice:example.org")
    assert reg.claims_user("@_irc_alice:example.org")
    assert reg.owns_user("@_irc_bot:example.org")  # its sender
    assert not reg.owns_user("@alice:example.org")
    assert reg.owns_alias("#_irc_chan:example.org")
    assert not reg.claims_alias("#_irc_chan:x")
    assert reg.owns_room("!logged:example.org")
    assert not reg.owns_room("!other:example.org")


def test_a_regex_matches_from_the_start_as_in_synapse(tmp_path: Path) -> None:
    body = registration(namespaces={"users": [{"exclusive": True, "regex": "@bridge_"}]})
    (reg,) = load_registrations([write(tmp_path, "r.yaml", body)], SERVER)
    assert reg.owns_user("@bridge_x:example.org")  # a prefix is enough
    assert not reg.owns_user("@x_bridge_:example.org")


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"as_token": ""}, "as_token is empty"),
        ({"hs_token": "as-secret"}, "must differ"),
        ({"url": "ftp://host"}, "is not an http"),
        ({"sender_localpart": "Bad Bot"}, "sender_localpart"),
        ({"namespaces": {"users": [{"exclusive": True, "regex": "@(unclosed"}]}}, "namespaces"),
        ({"namespaces": {"users": [{"exclusive": True}]}}, "invalid application service"),
    ],
)
def test_a_bad_registration_is_refused_naming_the_file(
    tmp_path: Path, changes: dict[str, Any], complaint: str
) -> None:
    path = write(tmp_path, "bad.yaml", registration(**changes))
    with pytest.raises(RegistrationError, match=complaint) as refused:
        load_registrations([path], SERVER)
    assert "bad.yaml" in str(refused.value)


def test_unreadable_files_and_duplicates_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RegistrationError, match="cannot read"):
        load_registrations([str(tmp_path / "missing.yaml")], SERVER)
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: [unclosed", encoding="utf-8")
    with pytest.raises(RegistrationError, match="cannot read"):
        load_registrations([str(broken)], SERVER)
    first = write(tmp_path, "a.yaml", registration())
    same_id = write(tmp_path, "b.yaml", registration(as_token="other"))
    with pytest.raises(RegistrationError, match="id 'irc' is also in"):
        load_registrations([first, same_id], SERVER)
    same_token = write(tmp_path, "c.yaml", registration(id="other"))
    with pytest.raises(RegistrationError, match="as_token"):
        load_registrations([first, same_token], SERVER)


def test_exclusive_namespaces(tmp_path: Path) -> None:
    irc = write(tmp_path, "irc.yaml", registration())
    logs = write(
        tmp_path, "logs.yaml",
        registration(id="logs", as_token="t2", hs_token="h2", sender_localpart="logbot",
                     namespaces={"users": [{"exclusive": False, "regex": "@log"}]}),
    )  # fmt: skip
    registry = AppServiceRegistry(load_registrations([irc, logs], SERVER))
    assert registry.by_token("as-secret") is registry.by_id("irc")
    assert registry.by_token("as-secre") is None
    assert registry.by_token("") is None
    registry.check_user_creation("@_irc_a:example.org", "irc")  # its own
    registry.check_user_creation("@logger:example.org", None)  # not exclusive: anyone
    for user_id, creator in (
        ("@_irc_a:example.org", None),  # an admin, SCIM
        ("@_irc_a:example.org", "logs"),  # another service
        ("@alice:example.org", "logs"),  # outside the creator's namespaces
    ):
        with pytest.raises(MatrixError) as refused:
            registry.check_user_creation(user_id, creator)
        assert (refused.value.status, refused.value.errcode) == (400, "M_EXCLUSIVE")
    registry.check_alias_creation("#_irc_x:example.org", None)  # the alias namespace is shared


def test_the_config_refuses_to_start_on_a_bad_file(tmp_path: Path) -> None:
    write(tmp_path, "bad.yaml", registration(url="gopher://x"))
    config = tmp_path / "bastion.toml"
    config.write_text(
        'server_name = "example.org"\n[auth]\ntoken_hmac_key = "k"\n'
        '[appservices]\nregistration_files = ["bad.yaml"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"bad\.yaml"):
        load_config(config)
    write(tmp_path, "bad.yaml", registration())  # relative to the config's folder
    assert load_config(config).appservices.registration_files == [str(tmp_path / "bad.yaml")]
