"""The log filter masks identifiers before a line leaves the process."""

from __future__ import annotations

import io
import logging

import pytest

from portal.core.logging import RedactFilter, redact


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("patient 9900000001 signed in", "patient [dod-id] signed in"),
        ("dod_id=9900000001.", "dod_id=[dod-id]."),
        ("mail to paula.quill+portal@example.com failed", "mail to [e-mail] failed"),
        (
            "GET /account/confirm/?token=abc.DEF-123&next=/ 200",
            "GET /account/confirm/?token=[redacted]&next=/ 200",
        ),
        ("Token=secret", "Token=[redacted]"),
        ("password=hunter2 code=123456 otp=654321", "password=[redacted] code=[redacted] otp=[redacted]"),
    ],
)
def test_redact_masks_identifiers(line: str, expected: str) -> None:
    assert redact(line) == expected


@pytest.mark.parametrize("line", ["thread 123456789 opened", "event 12345678901 written", "port 8000"])
def test_redact_leaves_numbers_that_are_not_dod_ids(line: str) -> None:
    """Nine or eleven digits are not a DoD ID; row ids stay readable."""
    assert redact(line) == line


def test_the_filter_masks_arguments_as_well_as_the_message() -> None:
    """Identifiers passed as %-arguments are masked too, after formatting."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactFilter())
    logger = logging.getLogger("portal.tests.redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("sign-in for %s (%s) with token=%s", "9900000001", "eve@example.com", "t0k3n")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    line = stream.getvalue()
    assert line == "sign-in for [dod-id] ([e-mail]) with token=[redacted]\n"
    assert "9900000001" not in line
    assert "eve@example.com" not in line


def test_the_portal_console_handler_uses_the_filter() -> None:
    from django.conf import settings

    assert "redact" in settings.LOGGING["handlers"]["console"]["filters"]
    assert settings.LOGGING["filters"]["redact"]["()"] == "portal.core.logging.RedactFilter"


def test_the_filter_masks_tracebacks() -> None:
    """An exception's text (a database error quoting a row, say) is masked like the message."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactFilter())
    logger = logging.getLogger("portal.tests.redact.traceback")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise ValueError("duplicate key (email)=(paula@example.com) dod 9900000001")
        except ValueError:
            logger.exception("could not save")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    text = stream.getvalue()
    assert "could not save" in text
    assert "Traceback" in text
    assert "paula@example.com" not in text
    assert "9900000001" not in text
    assert "[e-mail]" in text
