"""Configuration: strict readers, the production profile, and its refusals to start."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from portal.env import (
    ConfigurationError,
    read_bool,
    read_choice,
    read_int,
    read_list,
    read_str,
    read_time_zone,
)

ROOT = Path(__file__).resolve().parents[3]


# --- strict readers -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "on", " On "])
def test_read_bool_understands_true(value: str) -> None:
    assert read_bool("PORTAL_DEBUG", False, environ={"PORTAL_DEBUG": value}) is True


@pytest.mark.parametrize("value", ["false", "False", "0", "off"])
def test_read_bool_understands_false(value: str) -> None:
    assert read_bool("PORTAL_DEBUG", True, environ={"PORTAL_DEBUG": value}) is False


@pytest.mark.parametrize("value", ["yes", "no", "y", "2", "enabled", "truthy"])
def test_read_bool_refuses_what_it_does_not_understand(value: str) -> None:
    """PORTAL_DEBUG=yes is an error, not a silent False; the message says what to use."""
    with pytest.raises(ConfigurationError, match=r"PORTAL_DEBUG=.*use true or false"):
        read_bool("PORTAL_DEBUG", False, environ={"PORTAL_DEBUG": value})


@pytest.mark.parametrize("value", [None, "", "   "])
def test_read_bool_takes_the_default_when_unset_or_blank(value: str | None) -> None:
    environ = {} if value is None else {"PORTAL_DEBUG": value}
    assert read_bool("PORTAL_DEBUG", True, environ=environ) is True
    assert read_bool("PORTAL_DEBUG", False, environ=environ) is False


def test_read_int_reads_a_whole_number_within_bounds() -> None:
    assert read_int("N", 5, minimum=1, maximum=10, environ={"N": "7"}) == 7
    assert read_int("N", 5, minimum=1, maximum=10, environ={"N": "1"}) == 1
    assert read_int("N", 5, minimum=1, maximum=10, environ={"N": "10"}) == 10
    assert read_int("N", 5, minimum=1, maximum=10, environ={}) == 5


@pytest.mark.parametrize("value", ["seven", "7.5", "1e3", "0x10", "12 minutes"])
def test_read_int_refuses_what_is_not_a_whole_number(value: str) -> None:
    with pytest.raises(ConfigurationError, match="expected a whole number"):
        read_int("PORTAL_LOCK_MINUTES", 15, environ={"PORTAL_LOCK_MINUTES": value})


def test_read_int_refuses_a_number_below_its_minimum() -> None:
    with pytest.raises(ConfigurationError, match="PORTAL_LOCK_AFTER_FAILURES=2: must be at least 3"):
        read_int("PORTAL_LOCK_AFTER_FAILURES", 10, minimum=3, environ={"PORTAL_LOCK_AFTER_FAILURES": "2"})


def test_read_int_refuses_a_number_above_its_maximum() -> None:
    with pytest.raises(ConfigurationError, match="PORTAL_SMTP_PORT=70000: must be at most 65535"):
        read_int("PORTAL_SMTP_PORT", 587, minimum=1, maximum=65535, environ={"PORTAL_SMTP_PORT": "70000"})


def test_read_choice_refuses_an_unknown_choice_and_lists_the_good_ones() -> None:
    choices = ("development", "test", "production")
    assert read_choice("PORTAL_ENV", "development", choices, environ={"PORTAL_ENV": "test"}) == "test"
    with pytest.raises(ConfigurationError, match="expected one of development, test, production"):
        read_choice("PORTAL_ENV", "development", choices, environ={"PORTAL_ENV": "prod"})


def test_read_str_and_read_list() -> None:
    assert read_str("S", "fallback", environ={"S": "  value  "}) == "value"
    assert read_str("S", "fallback", environ={"S": " "}) == "fallback"
    assert read_list("L", ["a"], environ={"L": " x, y ,,z "}) == ["x", "y", "z"]
    assert read_list("L", ["a"], environ={}) == ["a"]


# --- the settings module in a fresh interpreter ---------------------------------------------------


def _environ(tmp_path: Path, **values: str) -> dict[str, str]:
    """The current environment without any portal configuration, plus `values`."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PORTAL_", "DATABASE_URL", "DJANGO_"))
    }
    environ["PORTAL_VAR_DIR"] = str(tmp_path / "var")
    environ.update(values)
    return environ


def _production(tmp_path: Path, **values: str) -> dict[str, str]:
    defaults = {
        "PORTAL_ENV": "production",
        "PORTAL_SECRET_KEY": secrets.token_urlsafe(60)[:60],
        "PORTAL_ALLOWED_HOSTS": "portal.example.mil",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
        "PORTAL_CLAMD_ADDRESS": "/run/clamav/clamd.ctl",  # a virus scanner is required
    }
    return _environ(tmp_path, **{**defaults, **values})


def _manage(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _setting(environ: dict[str, str], expression: str) -> subprocess.CompletedProcess[str]:
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**environ, "DJANGO_SETTINGS_MODULE": "portal.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_time_zone_is_checked_against_the_zone_database() -> None:
    assert read_time_zone("TZ_", "UTC", environ={"TZ_": "Pacific/Honolulu"}) == "Pacific/Honolulu"
    assert read_time_zone("TZ_", "UTC", environ={}) == "UTC"
    with pytest.raises(
        ConfigurationError, match="PORTAL_TIME_ZONE='Mars/Olympus': expected a time zone name"
    ):
        read_time_zone("PORTAL_TIME_ZONE", "UTC", environ={"PORTAL_TIME_ZONE": "Mars/Olympus"})
    with pytest.raises(ConfigurationError, match="expected a time zone name"):
        read_time_zone("PORTAL_TIME_ZONE", "UTC", environ={"PORTAL_TIME_ZONE": "../../etc/passwd"})


def test_pages_show_times_in_the_portal_time_zone(tmp_path: Path) -> None:
    result = _setting(_environ(tmp_path, PORTAL_TIME_ZONE="Pacific/Honolulu"), "settings.TIME_ZONE")
    assert result.stdout.strip() == "Pacific/Honolulu", result.stderr


def test_production_profile_passes_the_deploy_check(tmp_path: Path) -> None:
    """`check --deploy` finds nothing to warn about in the production profile."""
    result = _manage(_production(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    environ = _production(tmp_path)
    del environ["PORTAL_SECRET_KEY"]
    result = _manage(environ, "check")
    assert result.returncode != 0
    assert "PORTAL_SECRET_KEY is required with PORTAL_ENV=production" in result.stderr


def test_production_refuses_a_short_secret_key(tmp_path: Path) -> None:
    result = _manage(_production(tmp_path, PORTAL_SECRET_KEY="too-short"), "check")
    assert result.returncode != 0
    assert "PORTAL_SECRET_KEY: use at least 50 random characters" in result.stderr


def test_production_refuses_to_start_without_a_database_url(tmp_path: Path) -> None:
    environ = _production(tmp_path)
    del environ["DATABASE_URL"]
    result = _manage(environ, "check")
    assert result.returncode != 0
    assert "DATABASE_URL is required with PORTAL_ENV=production" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts(tmp_path: Path) -> None:
    environ = _production(tmp_path)
    del environ["PORTAL_ALLOWED_HOSTS"]
    result = _manage(environ, "check")
    assert result.returncode != 0
    assert "PORTAL_ALLOWED_HOSTS is required with PORTAL_ENV=production" in result.stderr


def test_production_refuses_debug(tmp_path: Path) -> None:
    result = _manage(_production(tmp_path, PORTAL_DEBUG="true"), "check")
    assert result.returncode != 0
    assert "PORTAL_DEBUG=true is refused with PORTAL_ENV=production" in result.stderr


def test_a_misspelt_boolean_stops_start_up(tmp_path: Path) -> None:
    """PORTAL_DEBUG=yes stops the process with a message naming the variable."""
    result = _manage(_environ(tmp_path, PORTAL_ENV="test", PORTAL_DEBUG="yes"), "check")
    assert result.returncode != 0
    assert "ConfigurationError: PORTAL_DEBUG='yes': use true or false" in result.stderr


def test_an_out_of_range_number_stops_start_up(tmp_path: Path) -> None:
    result = _manage(_environ(tmp_path, PORTAL_ENV="test", PORTAL_LOCK_AFTER_FAILURES="1"), "check")
    assert result.returncode != 0
    assert "PORTAL_LOCK_AFTER_FAILURES=1: must be at least 3" in result.stderr


def test_an_unknown_profile_stops_start_up(tmp_path: Path) -> None:
    result = _manage(_environ(tmp_path, PORTAL_ENV="staging"), "check")
    assert result.returncode != 0
    assert "PORTAL_ENV='staging': expected one of development, test, production" in result.stderr


def test_database_url_switches_the_engine(tmp_path: Path) -> None:
    expression = "settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['NAME']"
    embedded = _setting(_environ(tmp_path, PORTAL_ENV="test"), expression)
    assert embedded.returncode == 0, embedded.stderr
    assert embedded.stdout.split() == ["django.db.backends.sqlite3", str(tmp_path / "var" / "portal.sqlite3")]

    postgres = _setting(
        _environ(tmp_path, PORTAL_ENV="test", DATABASE_URL="postgres://portal@db.internal:5432/portal"),
        expression,
    )
    assert postgres.returncode == 0, postgres.stderr
    assert postgres.stdout.split() == ["django.db.backends.postgresql", "portal"]


def test_a_database_url_that_cannot_be_read_stops_start_up(tmp_path: Path) -> None:
    result = _setting(_environ(tmp_path, PORTAL_ENV="test", DATABASE_URL="nosuchdb://x/y"), "1")
    assert result.returncode != 0
    assert "DATABASE_URL:" in result.stderr


def test_production_cookies_are_secure_and_host_only(tmp_path: Path) -> None:
    expression = (
        "settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, settings.SESSION_COOKIE_NAME, "
        "settings.CSRF_COOKIE_NAME, settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS"
    )
    result = _setting(_production(tmp_path), expression)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True True __Host-portal_session __Host-csrftoken True 31536000"


def test_production_without_a_virus_scanner_fails_the_deploy_check(tmp_path: Path) -> None:
    """Neither clamd nor another scanner, and scanning not turned off on purpose: an Error that
    says how to set one up; PORTAL_VIRUS_SCANNING=false (on purpose) passes."""
    environ = _production(tmp_path)
    del environ["PORTAL_CLAMD_ADDRESS"]
    result = _manage(environ, "check", "--deploy")
    assert result.returncode != 0
    assert "(messaging.E001) No virus scanner is configured" in result.stderr
    assert "PORTAL_CLAMD_ADDRESS" in result.stderr and "PORTAL_VIRUS_SCANNING=false" in result.stderr

    turned_off = _manage(
        {**environ, "PORTAL_VIRUS_SCANNING": "false"}, "check", "--deploy", "--fail-level", "WARNING"
    )
    assert turned_off.returncode == 0, turned_off.stdout + turned_off.stderr
    scanner = {**environ, "PORTAL_VIRUS_SCANNER": "portal.messaging.scanning.clamd_scan"}
    assert _manage(scanner, "check", "--deploy", "--fail-level", "WARNING").returncode == 0


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"PORTAL_VIRUS_SCANNING": "maybe"}, "PORTAL_VIRUS_SCANNING='maybe': use true or false"),
        (
            {"PORTAL_VIRUS_SCANNING": "off", "PORTAL_CLAMD_ADDRESS": "127.0.0.1:3310"},
            "PORTAL_VIRUS_SCANNING=false contradicts PORTAL_CLAMD_ADDRESS",
        ),
    ],
)
def test_the_virus_scanning_switch_is_read_strictly(
    tmp_path: Path, values: dict[str, str], message: str
) -> None:
    result = _setting(_environ(tmp_path, PORTAL_ENV="test", **values), "settings.PORTAL_VIRUS_SCANNING")
    assert result.returncode != 0 and message in result.stderr


def test_production_card_sign_in_requires_the_piv_authentication_policy(tmp_path: Path) -> None:
    """Unset, production requires PIV authentication (development takes any policy); `any` is
    taken on purpose, and then `check --deploy` warns."""
    from portal.smartcard.certificates import PIV_AUTHENTICATION_POLICY

    production = _setting(_production(tmp_path), "settings.PORTAL_CARD_POLICIES")
    assert production.stdout.strip() == repr([PIV_AUTHENTICATION_POLICY]), production.stderr
    development = _setting(_environ(tmp_path), "settings.PORTAL_CARD_POLICIES")
    assert development.stdout.strip() == "[]", development.stderr
    chosen = _setting(
        _production(tmp_path, PORTAL_CARD_POLICIES="2.16.840.1.101.2.1.11.9"), "settings.PORTAL_CARD_POLICIES"
    )
    assert chosen.stdout.strip() == "['2.16.840.1.101.2.1.11.9']", chosen.stderr

    any_policy = _production(tmp_path, PORTAL_CARD_POLICIES="any")
    assert _setting(any_policy, "settings.PORTAL_CARD_POLICIES").stdout.strip() == "[]"
    result = _manage(any_policy, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "(smartcard.W001) PORTAL_CARD_POLICIES is empty" in result.stderr
    assert PIV_AUTHENTICATION_POLICY in result.stderr


def test_any_card_policy_goes_alone(tmp_path: Path) -> None:
    result = _setting(_environ(tmp_path, PORTAL_CARD_POLICIES="any,2.16.840.1.101.3.2.1.3.13"), "1")
    assert result.returncode != 0
    assert (
        "PORTAL_CARD_POLICIES: 'any' is not a dotted OID (or use `any` alone for no policy)" in result.stderr
    )
