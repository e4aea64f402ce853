"""The `side_channels` fixture that every domain's tests use finds what leaks, and only that."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from portal.core.models import DailyRun

MARK = "zqxw-fixture-mark-h5"


@pytest.mark.django_db
def test_a_clean_run_finds_nothing(side_channels: Any) -> None:
    logging.getLogger("portal.test").warning("a line with ids only: thread %s", 12)
    mail.send_mail("New message", "You have a new secure message.", None, ["paula@example.test"])
    assert side_channels.scan([MARK]) == []


@pytest.mark.django_db
def test_it_finds_a_marker_in_a_log_record_argument(side_channels: Any) -> None:
    logging.getLogger("portal.test").info("saved %s", f"{MARK} my knee")
    places = [finding.place for finding in side_channels.scan([MARK])]
    assert any(place.startswith("log record portal.test") for place in places)


@pytest.mark.django_db
def test_it_finds_a_marker_in_an_email_and_a_table(side_channels: Any) -> None:
    mail.send_mail("Hello", f"about {MARK}", None, ["paula@example.test"])
    DailyRun.objects.create(job="test", day="2026-01-01", started_at="2026-01-01T00:00Z", result=MARK)
    places = " ".join(finding.place for finding in side_channels.scan([MARK]))
    assert "e-mail to" in places and "table core_dailyrun" in places


@pytest.mark.django_db
def test_it_finds_a_marker_in_a_file_and_a_cookie(side_channels: Any, tmp_path: Path, client: Client) -> None:
    (tmp_path / "spool").mkdir()
    (tmp_path / "spool" / "upload.bin").write_bytes(MARK.encode())
    client.cookies["note"] = MARK
    places = " ".join(
        f.place for f in side_channels.scan([MARK], folders=(tmp_path,), clients={"Eve": client})
    )
    assert "upload.bin" in places and "Eve cookie note" in places
