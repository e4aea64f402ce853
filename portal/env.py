"""Strict readers for configuration taken from the environment.

Every reader fails loudly on a value it cannot understand: `PORTAL_DEBUG=yes`
is an error at start-up, not a silent False.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping


class ConfigurationError(Exception):
    """A configuration value is present but not understood."""


_TRUE = {"true", "1", "on"}
_FALSE = {"false", "0", "off"}


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    value = (environ if environ is not None else os.environ).get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def read_bool(name: str, default: bool, environ: Mapping[str, str] | None = None) -> bool:
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigurationError(f"{name}={value!r}: use true or false")


def read_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    value = _raw(name, environ)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigurationError(f"{name}={value!r}: expected a whole number") from None
    if minimum is not None and number < minimum:
        raise ConfigurationError(f"{name}={number}: must be at least {minimum}")
    if maximum is not None and number > maximum:
        raise ConfigurationError(f"{name}={number}: must be at most {maximum}")
    return number


def read_str(name: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    value = _raw(name, environ)
    return default if value is None else value


def read_choice(
    name: str, default: str, choices: tuple[str, ...], environ: Mapping[str, str] | None = None
) -> str:
    value = _raw(name, environ)
    if value is None:
        return default
    if value not in choices:
        raise ConfigurationError(f"{name}={value!r}: expected one of {', '.join(choices)}")
    return value


def read_time_zone(name: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    """An IANA time zone name ("America/Chicago", "Pacific/Honolulu"), checked against the zone database."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    value = _raw(name, environ)
    if value is None:
        return default
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"{name}={value!r}: expected a time zone name such as America/New_York or Pacific/Honolulu"
        ) from None
    return value


def read_list(name: str, default: list[str], environ: Mapping[str, str] | None = None) -> list[str]:
    value = _raw(name, environ)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def read_int_map(
    name: str,
    *,
    key_pattern: str,
    minimum: int,
    maximum: int,
    example: str,
    environ: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """Comma-separated `KEY=NUMBER` pairs (`LAB=72,clinical-note=24`); empty when unset.

    Each key must match `key_pattern` and appear once; each number must be whole and within
    bounds. Anything else stops the portal at start, naming the pair it could not read."""

    value = _raw(name, environ)
    if value is None:
        return {}
    found: dict[str, int] = {}
    for item in value.split(","):
        key, sign, number = (part.strip() for part in item.partition("="))
        if not sign or not re.fullmatch(key_pattern, key):
            raise ConfigurationError(f"{name}: {item.strip()!r} is not NAME=NUMBER (for example {example})")
        if key in found:
            raise ConfigurationError(f"{name}: {key} is given twice")
        if not number.isdigit() or not number.isascii():
            raise ConfigurationError(f"{name}: {key}={number!r}: expected a whole number")
        if not minimum <= int(number) <= maximum:
            raise ConfigurationError(f"{name}: {key}={number}: must be between {minimum} and {maximum}")
        found[key] = int(number)
    return found
