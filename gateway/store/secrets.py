"""Secrets stored in the database (IRC passwords, provider credentials), encrypted with a key from config.

`SecretBox` wraps `cryptography`'s Fernet (AES-128-CBC with HMAC-SHA256, authenticated): the database holds
only tokens. Without a key it refuses to store a secret (`SecretsUnavailable`) rather than keeping plain text,
and a token that does not open with the key (another key, a damaged row) is an error that says so.
Nothing here logs a value.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

KEY_HELP = ("set [database] secret_key (or secret_key_file, or XMPP_GATEWAY_DATABASE_SECRET_KEY) to a key made "
            "with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'")


class SecretsUnavailable(Exception):
    """A secret cannot be stored or read: no key is configured, or the key does not open it."""


def check_key(key: str) -> str:
    """The key if Fernet accepts it (32 url-safe base64-encoded bytes); ValueError saying what is wrong."""
    try:
        Fernet(key.strip().encode())
    except (ValueError, TypeError):
        raise ValueError("not a Fernet key (32 url-safe base64-encoded bytes); make one with: python -c "
                         "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'") from None
    return key.strip()


class SecretBox:
    def __init__(self, key: str | None) -> None:
        self._fernet = Fernet(check_key(key).encode()) if key else None

    @property
    def available(self) -> bool:
        return self._fernet is not None

    def seal(self, secret: str) -> str:
        """The token to store for `secret`; SecretsUnavailable without a key (nothing is stored in plain text)."""
        if self._fernet is None:
            raise SecretsUnavailable(f"cannot store a password: no secret key is configured ({KEY_HELP})")
        return self._fernet.encrypt(secret.encode()).decode("ascii")

    def open(self, token: str) -> str:
        if self._fernet is None:
            raise SecretsUnavailable(f"a stored password cannot be read: no secret key is configured ({KEY_HELP})")
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, ValueError):
            raise SecretsUnavailable("a stored password cannot be read with the configured secret key (was the key "
                                     "changed? set the password again)") from None
