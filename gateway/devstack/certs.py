"""Throw-away TLS certificates for test servers: a private CA and a server certificate it signs.

Made with the `openssl` command line tool (Debian's openssl package, present wherever the test servers are):
the `cryptography` package is no dependency of the project, and a second, untested code path for it would rot.
The files are PEM; the keys are unencrypted P-256 keys, readable by owner and group only (the servers read them
before they switch to an unprivileged user). The certificates are valid for two days, for `hostname`,
`localhost` and 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["make_dh_params", "make_test_certificate"]

_DAYS = 2


def make_test_certificate(directory: Path, hostname: str) -> tuple[Path, Path, Path]:
    """Create a CA and a server certificate for `hostname` in `directory`; return (ca, cert, key) paths.

    Each call makes a new CA, so a client that trusts one call's CA refuses a server using another's.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    names = [hostname] if hostname == "localhost" else [hostname, "localhost"]
    if shutil.which("openssl") is None:
        raise RuntimeError("the openssl command is needed to make a test certificate (apt install openssl)")
    _with_openssl(directory, ca_path, cert_path, key_path, names)
    key_path.chmod(0o640)
    return ca_path, cert_path, key_path


def _openssl(*args: str) -> None:
    result = subprocess.run(["openssl", *args], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed ({result.returncode}): {result.stderr.strip()}")


def _with_openssl(directory: Path, ca_path: Path, cert_path: Path, key_path: Path, names: list[str]) -> None:
    ca_key = directory / "ca.key"
    csr = directory / "server.csr"
    ext = directory / "server.ext"
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    _openssl(
        "req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca_path), "-days", str(_DAYS),
        "-subj", "/CN=xmpp-gateway test CA",
        "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    _openssl("req", "-new", *ec, "-keyout", str(key_path), "-out", str(csr), "-subj", f"/CN={names[0]}")
    alt = ",".join([*(f"DNS:{name}" for name in names), "IP:127.0.0.1"])
    ext.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        f"subjectAltName={alt}\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid,issuer\n"
    )
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca_path), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(cert_path), "-days", str(_DAYS), "-sha256", "-extfile", str(ext),
    )  # fmt: skip
    for leftover in (csr, ext, directory / "ca.srl"):
        leftover.unlink(missing_ok=True)
    os.chmod(ca_key, 0o600)


def make_dh_params(path: Path) -> Path:
    """Write the RFC 7919 ffdhe2048 group as PEM DH parameters (a named group: nothing is generated)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _openssl("genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe2048", "-out", str(path))
    return path
