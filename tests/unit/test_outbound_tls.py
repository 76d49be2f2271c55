"""The certificate authorities of the server's own https calls (services/outbound_tls.py): the
standard variables are honoured, and one naming nothing usable is a ConfigError naming it."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from bastion.config import ConfigError
from bastion.services.outbound_tls import trusted_authorities
from tests.tls_authority import make_authority, trust_only


@pytest.fixture(autouse=True)
def no_ca_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    trust_only(monkeypatch, None)


def _subjects(context: ssl.SSLContext) -> set[str]:
    return {
        value
        for cert in context.get_ca_certs()
        for rdn in cert["subject"]
        for key, value in rdn
        if key == "commonName"
    }


def test_without_variables_certifi_is_trusted() -> None:
    context = trusted_authorities()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert len(context.get_ca_certs()) > 50  # certifi's bundle
    assert "Bastion test authority" not in _subjects(context)


def test_the_file_ssl_cert_file_names_is_trusted_instead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    authority = make_authority(tmp_path, names=("news.test",))
    trust_only(monkeypatch, authority.ca_file)
    context = trusted_authorities()
    assert _subjects(context) == {"Bastion test authority"}
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


@pytest.mark.parametrize(
    ("variable", "make", "needle"),
    [
        ("SSL_CERT_FILE", lambda d: d / "missing.pem", "No such file"),
        ("SSL_CERT_FILE", lambda d: _written(d / "junk.pem", "not a certificate"), "junk.pem"),
        ("SSL_CERT_DIR", lambda d: d / "missing", "not a directory"),
    ],
    ids=["missing-file", "junk-file", "missing-directory"],
)
def test_a_variable_naming_nothing_usable_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, make: object, needle: str
) -> None:
    assert callable(make)
    monkeypatch.setenv(variable, str(make(tmp_path)))
    with pytest.raises(ConfigError) as raised:
        trusted_authorities()
    assert str(raised.value).startswith(f"{variable}=")
    assert needle in str(raised.value)


def _written(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
