from __future__ import annotations

import functools
import uuid
from email.utils import parseaddr

from django.conf import settings
from django.db import models
from django.utils import timezone


def new_message_id() -> str:
    """A Message-ID for a new e-mail, in the sender's domain: made once, stored, and sent with
    every attempt, so a relay or a mail client can drop a second copy."""
    return f"<{uuid.uuid4().hex}@{_domain_of(settings.DEFAULT_FROM_EMAIL)}>"


@functools.lru_cache(maxsize=8)
def _domain_of(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2] or "portal.invalid"


class OutgoingEmail(models.Model):
    """The delivery log of one e-mail: queued, sending, sent or failed.

    The body is kept only until it is handed to the mail server; the log row
    stays so an operator can see that a notice went out, and when.

    `sending` is recorded (and committed) before a worker talks to the mail server:
    a row left `sending` by a crash has an unknown outcome, and is sent again only
    after a hold (`portal.core.mail.SENDING_HOLD`), with the same `message_id`.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    template = models.CharField(max_length=60)
    to = models.EmailField()
    subject = models.CharField(max_length=200)
    text_body = models.TextField(blank=True)
    html_body = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    attempted_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the latest attempt began (recorded before talking to the relay)",
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    # Stable across attempts, so a relay or a mail client can drop a duplicate.
    message_id = models.CharField(max_length=200, unique=True, default=new_message_id, editable=False)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.template} e-mail {self.pk} ({self.status})"


class OutgoingAttachment(models.Model):
    """A file sent with a queued e-mail (a calendar file): kept, as its body is, only until the
    relay has the e-mail, or until the sweep drops a failed e-mail's text.

    What an e-mail may say, its attachment may say: no health information (DESIGN, invariant 3).
    """

    email = models.ForeignKey(OutgoingEmail, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=100)
    # The full Content-Type, parameters included: "text/calendar; method=REQUEST; charset=utf-8".
    content_type = models.CharField(max_length=120)
    content = models.BinaryField()

    def __str__(self) -> str:
        return f"{self.filename} of e-mail {self.email_id}"


class DailyRun(models.Model):
    """One day's run of a scheduled job (the day in the portal's time zone).

    The unique (job, day) makes it one run a day however many portal processes
    try, and across restarts. `started_at` is also the run's cut-off: it does
    the work that was waiting before then, so a run resumed after a crash does
    the same work, not more. A runner holds the row until `lease_until`; a run
    whose runner died unfinished is resumed by the next one after that.
    """

    job = models.CharField(max_length=60)
    day = models.DateField()
    started_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True, help_text="A process is running it until then")
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=200, blank=True)
    runs = models.PositiveIntegerField(default=1, help_text="Times started: a resume or --force adds one")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "day"], name="core_dailyrun_once_a_day")]

    def __str__(self) -> str:
        return f"{self.job} on {self.day:%Y-%m-%d}"


class JobRun(models.Model):
    """The run record of a job that runs every few minutes (`portal.core.jobs`), one row per job.

    `next_run_at` is the start of the job's next period: a process claims a run by moving
    it one period on in a single conditional UPDATE, so however many processes (or cron
    and `portal_run` together) look at the same moment, one of them runs the job in each
    period. A runner holds the row until `lease_until`, so a slow run is not started twice.
    """

    job = models.CharField(max_length=60, unique=True)
    next_run_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True, help_text="A process is running it until then")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=200, blank=True)
    failed = models.BooleanField(
        default=False, help_text="The last run raised (its error type is the result)"
    )
    runs = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.job} (next {self.next_run_at:%Y-%m-%d %H:%M})"
