"""The sandbox's TLS: loopback addresses for its load balancers and a certificate that names them.

Each sandbox process takes a block of loopback addresses (127.A.B.1 .. 127.A.B.32); each load
balancer it creates gets one of them as its DNS name, and its listeners bind the ports they
declare there (443, 80), as a real ALB would. At start the sandbox issues a CA of its own and a
server certificate for every address of the block; the client side imports that certificate
into the sandbox's ACM (`import_certificate`), Terraform's HTTPS listener names it, and
clients verify it against `tls/ca.pem`, never with verification off.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TLS_DIR = "tls"
CA_FILE = "ca.pem"
CERTIFICATE_FILE = "alb.pem"
KEY_FILE = "alb.key"
CERTIFICATE_DOMAIN = "alb.loono-sandbox.internal"
POOL_SIZE = 32


@dataclass(frozen=True)
class TlsFiles:
    """Where the sandbox's CA, its server certificate and key are."""

    directory: Path

    @property
    def ca(self) -> Path:
        return self.directory / CA_FILE

    @property
    def certificate(self) -> Path:
        return self.directory / CERTIFICATE_FILE

    @property
    def key(self) -> Path:
        return self.directory / KEY_FILE


def tls_files(sandbox_directory: Path) -> TlsFiles:
    """The TLS files of the sandbox kept in sandbox_directory."""
    return TlsFiles(sandbox_directory / TLS_DIR)


def loopback_pool(seed: int | None = None) -> list[str]:
    """A block of loopback addresses unlikely to be shared with another sandbox."""
    chooser = random.Random(seed)
    second, third = chooser.randrange(64, 127), chooser.randrange(1, 255)
    return [f"127.{second}.{third}.{host}" for host in range(1, POOL_SIZE + 1)]


def _write(path: Path, data: bytes, mode: int) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)
    path.chmod(mode)


def issue_certificates(files: TlsFiles, addresses: list[str]) -> None:
    """A fresh CA and a server certificate for addresses (and CERTIFICATE_DOMAIN)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "loono sandbox CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(CERTIFICATE_DOMAIN)]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    server = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                          CERTIFICATE_DOMAIN)]))
              .issuer_name(ca_name).public_key(key.public_key())
              .serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(minutes=5))
              .not_valid_after(now + datetime.timedelta(days=30))
              .add_extension(x509.SubjectAlternativeName(names), critical=False)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))
    files.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = serialization.Encoding.PEM
    _write(files.key, key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()), 0o600)
    _write(files.certificate, server.public_bytes(pem), 0o644)
    _write(files.ca, ca.public_bytes(pem), 0o644)


def import_certificate(acm: Any, files: TlsFiles) -> str:
    """The ARN of the sandbox's certificate in the sandbox's ACM; imported if not there yet."""
    for page in acm.get_paginator("list_certificates").paginate():
        for summary in page["CertificateSummaryList"]:
            if summary.get("DomainName") == CERTIFICATE_DOMAIN:
                return str(summary["CertificateArn"])
    answer = acm.import_certificate(Certificate=files.certificate.read_bytes(),
                                    PrivateKey=files.key.read_bytes(),
                                    CertificateChain=files.ca.read_bytes())
    return str(answer["CertificateArn"])


def minimum_tls_version(ssl_policy: str | None) -> str:
    """The lowest TLS version an ELB security policy accepts ("TLSv1_2" or "TLSv1_3")."""
    policy = ssl_policy or ""
    return "TLSv1_3" if "TLS13-1-3" in policy else "TLSv1_2"
