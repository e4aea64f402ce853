"""Password rules, after NIST SP 800-63B: length, a blocklist, no composition rules."""

from __future__ import annotations

import gzip
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

import django.contrib.auth
from django.core.exceptions import ValidationError

MIN_LENGTH = 12
MAX_LENGTH = 128
BLOCKLIST_FILES = (
    # Django's list of 20,000 common passwords, and our own list of passwords seen
    # in public breach corpora and of the portal's own vocabulary.
    Path(django.contrib.auth.__file__).parent / "common-passwords.txt.gz",
    Path(__file__).resolve().parent / "data" / "blocked-passwords.txt",
)


def normalize(password: str) -> str:
    """NFKC, the form in which a password is compared and stored (no truncation)."""
    return unicodedata.normalize("NFKC", password)


def length(password: str) -> int:
    # Counted in characters as the person sees them: an emoji is one.
    return len(normalize(password))


class LengthValidator:
    def validate(self, password: str, user: Any = None) -> None:
        count = length(password)
        if count < MIN_LENGTH:
            raise ValidationError(
                f"Use at least {MIN_LENGTH} characters; this password has {count}. "
                "A short sentence you will remember works well.",
                code="password_too_short",
            )
        if count > MAX_LENGTH:
            raise ValidationError(
                f"Use at most {MAX_LENGTH} characters; this password has {count}.",
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return f"Use {MIN_LENGTH} to {MAX_LENGTH} characters. Spaces and any characters are allowed."


class NotUsernameValidator:
    """Not the username, and not built on it: `jonahjonah12` is refused for `jonah` too.

    Both are compared after NFKC and case folding, so `JONAH`, `Ｊｏｎａｈ` and `jonah` are one."""

    def validate(self, password: str, user: Any = None) -> None:
        username = normalize(getattr(user, "username", "") or "").strip().casefold()
        if not username:
            return
        typed = normalize(password).casefold()
        if typed.strip() == username:
            raise ValidationError("Your password cannot be your username.", code="password_is_username")
        if username in typed:
            raise ValidationError(
                "Your password cannot contain your username. Someone who knows your username "
                "would try it first: choose words that have nothing to do with your account.",
                code="password_contains_username",
            )

    def get_help_text(self) -> str:
        return "It cannot be or contain your username."


@lru_cache(maxsize=1)
def blocked_passwords() -> frozenset[str]:
    words: set[str] = set()
    for path in BLOCKLIST_FILES:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
            words.update(line.strip().casefold() for line in handle if line.strip())
    return frozenset(words)


class BlocklistValidator:
    def validate(self, password: str, user: Any = None) -> None:
        if normalize(password).strip().casefold() in blocked_passwords():
            raise ValidationError(
                "This password is too common: it appears in lists of passwords known to "
                "attackers. Choose another.",
                code="password_blocked",
            )

    def get_help_text(self) -> str:
        return "It cannot be a common password or one known from data breaches."
