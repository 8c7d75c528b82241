"""Keys, tokens and passwords: generation, hashing, encryption at rest."""
import hashlib
import hmac
import json
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from werkzeug.security import check_password_hash, generate_password_hash

TOKEN_PREFIX = "cft_"
PASSWORD_METHOD = "scrypt"   # werkzeug's default scrypt parameters (n=2**15, r=8, p=1)
_CLAIM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a label


class SecretsError(Exception):
    """Device secrets cannot be decrypted with the configured key."""


class SecretBox:
    """Encrypts device secrets with the settings' DATA_KEY (Fernet: AES-128-CBC + HMAC-SHA256).

    key may be one key or a comma-separated list; the first encrypts, all decrypt
    (so a key can be rotated).
    """

    def __init__(self, key):
        keys = [k.strip() for k in str(key).split(",") if k.strip()]
        self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in keys])

    def seal(self, values):
        """Encrypt a dict of secrets to bytes."""
        return self._fernet.encrypt(json.dumps(values, sort_keys=True).encode("utf-8"))

    def open(self, blob):
        """Decrypt bytes from seal() back to the dict."""
        try:
            return json.loads(self._fernet.decrypt(bytes(blob)).decode("utf-8"))
        except InvalidToken:
            raise SecretsError("device secrets do not decrypt with DATA_KEY") from None


def new_eui():
    """A random EUI-64 as 16 upper-case hex digits, marked locally administered."""
    b = bytearray(secrets.token_bytes(8))
    b[0] = (b[0] | 0x02) & 0xFE   # locally administered, unicast
    return b.hex().upper()


def new_key(nbytes):
    """A random key as upper-case hex."""
    return secrets.token_hex(nbytes).upper()


def new_token():
    """A new API token (shown once; only its hash is stored)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token):
    """The stored form of a token: SHA-256 is enough for 256 random bits."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_claim_code():
    """A claim code for a label: 12 characters in three groups, ~60 bits."""
    chars = "".join(secrets.choice(_CLAIM_ALPHABET) for _ in range(12))
    return "-".join(chars[i:i + 4] for i in range(0, 12, 4))


def claim_hash(code):
    """The stored form of a claim code (case and dashes ignored)."""
    norm = "".join(c for c in code.upper() if c.isalnum())
    return hashlib.sha256(("cityfleet-claim:" + norm).encode("utf-8")).hexdigest()


def hash_password(password):
    """A salted scrypt hash of a password."""
    return generate_password_hash(password, method=PASSWORD_METHOD)


def check_password(pw_hash, password):
    """Whether password matches the hash."""
    return check_password_hash(pw_hash, password)


def same(a, b):
    """Constant-time comparison of two strings."""
    return hmac.compare_digest(str(a).encode("utf-8"), str(b).encode("utf-8"))
