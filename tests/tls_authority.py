"""A certificate authority made for a test, and a server certificate it signed: for the tests
of outbound TLS (URL previews, application services), which must show both that an authority the
operator names is trusted (`SSL_CERT_FILE`) and that a wrong name or an unknown authority is
refused. Keys are P-256, certificates valid for a day around now."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Authority:
    """A certificate authority's certificate (the file a client is told to trust) and a
    server's TLS context holding a certificate it signed."""

    ca_file: Path
    server_context: ssl.SSLContext


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_authority(
    directory: Path, *, names: Sequence[str] = (), addresses: Sequence[str] = ()
) -> Authority:
    """A new authority, and a server certificate it signed for `names` and `addresses` only."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Bastion test authority"))
        .issuer_name(_name("Bastion test authority"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    site_key = ec.generate_private_key(ec.SECP256R1())
    site_cert = (
        x509.CertificateBuilder()
        .subject_name(_name((*names, *addresses)[0]))
        .issuer_name(ca_cert.subject)
        .public_key(site_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    *(x509.DNSName(name) for name in names),
                    *(x509.IPAddress(ipaddress.ip_address(a)) for a in addresses),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_file = directory / "authority.pem"
    ca_file.write_bytes(ca_cert.public_bytes(pem))
    chain = directory / "site.pem"
    chain.write_bytes(
        site_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + site_cert.public_bytes(pem)
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(chain)
    return Authority(ca_file, context)


def trust_only(monkeypatch: pytest.MonkeyPatch, ca_file: Path | None) -> None:
    """Make `ca_file` the only authority this process's outbound calls trust, as an operator
    sets `SSL_CERT_FILE` (before the server starts); None: neither variable (certifi's)."""
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    if ca_file is None:
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    else:
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
