"""Secure messaging: threads between one patient and one care team.

Fields ending in their plain name but typed BinaryField (subject, body, name)
hold vault ciphertext bound to the row's `row_key`; read them only through
`portal.vault.crypto.Keyring` in selectors and actions.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from portal.clinics.models import CareTeam, Patient, StaffMember


class Category(models.TextChoices):
    GENERAL = "general", "General"
    MEDICATION = "medication", "Medication"
    TEST_RESULT = "test_result", "Test result"
    APPOINTMENT = "appointment", "Appointment"
    EDUCATION = "education", "Education"
    OTHER = "other", "Other"


class Folder(models.Model):
    """A folder a patient made for their own threads (Inbox, Sent, Drafts, Trash are built in)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="message_folders")
    name = models.CharField(max_length=50)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint("patient", Lower("name"), name="messaging_folder_name_unique"),
        ]

    def __str__(self) -> str:
        return f"folder {self.pk}"


class Thread(models.Model):
    class Location(models.TextChoices):
        INBOX = "inbox", "Inbox"
        TRASH = "trash", "Trash"
        FOLDER = "folder", "Folder"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        COMPLETED = "completed", "Completed"

    row_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="message_threads")
    care_team = models.ForeignKey(CareTeam, on_delete=models.PROTECT, related_name="message_threads")
    category = models.CharField(max_length=20, choices=Category.choices)
    subject = models.BinaryField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    assigned_to = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, null=True, blank=True, related_name="assigned_threads"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now)
    # Set while the newest message is the patient's and nobody on the team has answered it.
    waiting_since = models.DateTimeField(null=True, blank=True)
    # Where the patient keeps it: moving to Trash hides it, never deletes it.
    location = models.CharField(max_length=10, choices=Location.choices, default=Location.INBOX)
    folder = models.ForeignKey(
        Folder, on_delete=models.PROTECT, null=True, blank=True, related_name="threads"
    )
    patient_unread = models.PositiveIntegerField(default=0)
    # When the care team last handed it to another team (the patient's page says so); kept on
    # the row so that opening a thread asks nothing more when, as nearly always, it never moved.
    moved_at = models.DateTimeField(null=True, blank=True)
    # What the conversation is about, when it began from "Ask my care team about this" on an
    # item of another domain (a lab result): its kind and id (`portal.core.about`), ids only.
    about_kind = models.CharField(max_length=30, blank=True)
    about_id = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["patient", "location", "-last_message_at", "-id"], name="msg_thread_patient_box"
            ),
            models.Index(fields=["care_team", "-last_message_at", "-id"], name="msg_thread_team_all"),
            models.Index(fields=["care_team", "waiting_since", "id"], name="msg_thread_team_waiting"),
            models.Index(fields=["assigned_to", "-last_message_at", "-id"], name="msg_thread_assigned"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(location="folder", folder__isnull=False)
                | (~models.Q(location="folder") & models.Q(folder__isnull=True)),
                name="messaging_thread_folder_matches_location",
            ),
        ]

    def __str__(self) -> str:
        return f"thread {self.pk}"

    @property
    def about_reference(self) -> str:
        """What it is about as `kind:id` (`portal.core.about`), or ""."""
        return f"{self.about_kind}:{self.about_id}" if self.about_kind else ""


class Message(models.Model):
    class Author(models.TextChoices):
        PATIENT = "patient", "Patient"
        STAFF = "staff", "Care team"

    row_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    thread = models.ForeignKey(Thread, on_delete=models.PROTECT, related_name="messages")
    author_kind = models.CharField(max_length=10, choices=Author.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.BinaryField()
    sent_at = models.DateTimeField(default=timezone.now)
    # The form's one-time token: a second submit of the same Send finds this row.
    send_token = models.UUIDField(unique=True)
    read_by_patient_at = models.DateTimeField(null=True, blank=True)
    read_by_team_at = models.DateTimeField(null=True, blank=True)
    read_by_team_member = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    # How many files were sent with it: written once at send (`actions._hand_files_to`; a sent
    # message never changes), so a thread page asks for files only when some message has them.
    file_count = models.PositiveSmallIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["thread", "sent_at", "id"], name="msg_message_thread_order"),
            models.Index(fields=["author", "-sent_at", "-id"], name="msg_message_sent_box"),
        ]

    def __str__(self) -> str:
        return f"message {self.pk}"


class InternalNote(models.Model):
    """A note between care team members on a thread. The patient never sees it."""

    row_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    thread = models.ForeignKey(Thread, on_delete=models.PROTECT, related_name="internal_notes")
    author = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    body = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"note {self.pk}"


class ThreadEvent(models.Model):
    """Things that happened to a thread besides messages: assignment, completion, a move.

    Whoever writes a MOVED event also sets `Thread.moved_at` (only `check_reassign` does)."""

    class Kind(models.TextChoices):
        ASSIGNED = "assigned", "Assigned"
        COMPLETED = "completed", "Completed"
        MOVED = "moved", "Moved to another team"

    thread = models.ForeignKey(Thread, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    by = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    assignee = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_team = models.ForeignKey(CareTeam, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    to_team = models.ForeignKey(CareTeam, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.kind} on thread {self.thread_id}"


class Draft(models.Model):
    """A message not sent yet, its author's alone (`access_draft`).

    A patient's new conversation (care_team set) or reply (thread set), or a
    care team member's reply (thread set; author is the staff member's user).
    """

    row_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="message_drafts")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, null=True, blank=True, related_name="drafts")
    care_team = models.ForeignKey(CareTeam, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    category = models.CharField(max_length=20, choices=Category.choices, blank=True)
    subject = models.BinaryField()
    body = models.BinaryField()
    send_token = models.UUIDField(default=uuid.uuid4, unique=True)
    # A staff reply: add the author's saved signature when it is sent (the box as they left it).
    add_signature = models.BooleanField(default=False)
    # A new conversation's "about" (as on Thread), carried to the thread when it is sent.
    about_kind = models.CharField(max_length=30, blank=True)
    about_id = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["author", "-updated_at", "-id"], name="msg_draft_box")]

    def __str__(self) -> str:
        return f"draft {self.pk}"


class Attachment(models.Model):
    """An encrypted file on a draft, then on the message it was sent with."""

    row_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="message_attachments")
    draft = models.ForeignKey(
        Draft, on_delete=models.SET_NULL, null=True, blank=True, related_name="attachments"
    )
    message = models.ForeignKey(
        Message, on_delete=models.PROTECT, null=True, blank=True, related_name="attachments"
    )
    name = models.BinaryField()
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    storage_name = models.CharField(max_length=200, unique=True)
    # SHA-256 of the file's content, for the duplicate check of a draft's files without
    # reading them back. Sealed like the name (bound to this row and field, under the
    # patient's key), never stored plain: a bare digest of a patient's file would confirm
    # a guessed document to anyone who can read the table. Sealed rather than an HMAC
    # under a key derived from the data key: the vault's one primitive, no second key to
    # derive or rotate, and equal files do not show as equal values. Null on rows made
    # before it was kept: the check then reads the file (`actions.drafts._digest`).
    content_digest = models.BinaryField(null=True, editable=False)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"attachment {self.pk}"


class NotificationPreference(models.Model):
    """How a person hears of new messages: patients choose; staff opt in per person."""

    class Frequency(models.TextChoices):
        EACH = "each", "An e-mail for each new message"
        DIGEST = "digest", "One e-mail a day, if there is anything new"
        NONE = "none", "No e-mail"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    frequency = models.CharField(max_length=10, choices=Frequency.choices)
    # Staff: an e-mail (fixed text) when a colleague assigns them a conversation.
    assignment_emails = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"notices for {self.user_id}: {self.frequency}"


class MessageNotice(models.Model):
    """One e-mail notice of one message to one person, at most once (the unique constraint)."""

    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="notices")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    email = models.ForeignKey("core.OutgoingEmail", on_delete=models.SET_NULL, null=True, blank=True)
    digest = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "recipient"], name="messaging_notice_once"),
        ]
        indexes = [models.Index(fields=["recipient", "email"], name="msg_notice_pending")]

    def __str__(self) -> str:
        return f"notice of {self.message_id} to {self.recipient_id}"


class StaffSignature(models.Model):
    """A staff member's saved signature, added to a reply when they tick the box."""

    staff = models.OneToOneField(StaffMember, on_delete=models.CASCADE, related_name="message_signature")
    text = models.CharField(max_length=500)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"signature of {self.staff_id}"


class AssignmentNotice(models.Model):
    """A colleague assigned a conversation to a staff member: shown on their work queue until
    they open the conversation or mark the notices seen. Ids and times only."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="assignment_notices")
    assignee = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="assignment_notices")
    assigned_by = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(null=True, blank=True)
    # The e-mail that told them, for those who chose to hear by e-mail.
    email = models.ForeignKey("core.OutgoingEmail", on_delete=models.SET_NULL, null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["assignee", "seen_at", "-created_at"], name="msg_assignment_unseen")]

    def __str__(self) -> str:
        return f"thread {self.thread_id} assigned to {self.assignee_id}"


class QuickText(models.Model):
    """A care team's saved reply, which its staff insert into a reply and edit before sending.

    Team content, not a patient's: stored in the clear. `{first_name}` in the text is
    filled with the patient's first name only when it is put into a reply."""

    care_team = models.ForeignKey(CareTeam, on_delete=models.CASCADE, related_name="quick_texts")
    title = models.CharField(max_length=80)
    text = models.TextField()
    created_by = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint("care_team", Lower("title"), name="messaging_quick_text_title_unique"),
        ]

    def __str__(self) -> str:
        return f"quick text {self.pk}"
