"""API keys: made, checked and revoked here; stored as a salted SHA-256 hash, never in clear.

A key reads ``trg_<prefix>_<secret>``: the prefix (12 hex digits) finds the row, the secret
(64 hex digits, 256 random bits) is checked against the stored hash in constant time. A fast
hash is enough for keys this random (nothing to guess); it keeps each request cheap.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
from typing import Any

from django.db import DatabaseError
from django.utils import timezone

PREFIX = "trg"
#: ``last_used_at`` is written at most this often per key (not on every request).
TOUCH_EVERY = datetime.timedelta(seconds=60)


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def hash_secret(secret: str) -> str:
    """``sha256$<salt>$<hex digest>`` of ``secret`` with a new random salt."""
    salt = secrets.token_hex(8)
    return f"sha256${salt}${_digest(salt, secret)}"


def check_secret(secret: str, hashed: str) -> bool:
    """Whether ``secret`` matches ``hashed`` (as ``hash_secret`` wrote it)."""
    try:
        algorithm, salt, digest = hashed.split("$")
    except ValueError:
        return False
    return algorithm == "sha256" and hmac.compare_digest(_digest(salt, secret), digest)


def new_key() -> tuple[str, str, str]:
    """``(prefix, hashed key, key)`` for a new key (the prefix is unused so far)."""
    from .models import TriggerAPIKey

    while True:
        prefix = secrets.token_hex(6)
        if not TriggerAPIKey.objects.filter(prefix=prefix).exists():
            break
    secret = secrets.token_hex(32)
    return prefix, hash_secret(secret), f"{PREFIX}_{prefix}_{secret}"


def create_key(name: str, *, read_only: bool = False, created_by: Any = None) -> tuple[Any, str]:
    """Make a key: ``(row, key)``. The key itself is not stored; show it to the user now."""
    from .models import TriggerAPIKey

    name = (name or "").strip()
    if not name:
        raise ValueError("Give the key a name (who or what will use it).")
    if len(name) > 100:
        raise ValueError("Give the key a name of at most 100 characters.")
    prefix, hashed, key = new_key()
    row = TriggerAPIKey.objects.create(
        name=name, prefix=prefix, hashed_key=hashed, read_only=read_only,
        created_by=created_by if getattr(created_by, "pk", None) is not None else None,
    )
    return row, key


def split_key(key: str) -> tuple[str, str] | None:
    """``(prefix, secret)`` of a well-formed key, else None."""
    parts = key.strip().split("_")
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def find_key(key: str) -> tuple[Any, str]:
    """``(row, "")`` for a valid, unrevoked key, else ``(None, why)``."""
    from .models import TriggerAPIKey

    parts = split_key(key)
    if parts is None:
        return None, (f"The API key is not in the format {PREFIX}_<prefix>_<secret>; copy the "
                      "whole key as it was shown when it was made.")
    prefix, secret = parts
    row = TriggerAPIKey.objects.filter(prefix=prefix).first()
    if row is None or not check_secret(secret, row.hashed_key):
        return None, "The API key is not valid; check it, or make a new one."
    if row.revoked_at is not None:
        return None, (f"The API key {row.name!r} was revoked on "
                      f"{row.revoked_at:%Y-%m-%d %H:%M} UTC; make a new one.")
    return row, ""


def touch(row: Any) -> None:
    """Record that ``row`` was used now (at most once per ``TOUCH_EVERY``)."""
    now = timezone.now()
    if row.last_used_at is not None and now - row.last_used_at < TOUCH_EVERY:
        return
    row.last_used_at = now
    try:
        type(row).objects.filter(pk=row.pk).update(last_used_at=now)
    except DatabaseError:  # a read-only replica or a broken transaction: not worth a failure
        pass


def revoke(row: Any) -> bool:
    """Revoke the key (it stops working at once). Returns False if it already was."""
    if row.revoked_at is not None:
        return False
    row.revoked_at = timezone.now()
    row.save(update_fields=["revoked_at"])
    return True
