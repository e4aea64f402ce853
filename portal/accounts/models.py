from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

if TYPE_CHECKING:
    from portal.clinics.models import Patient, StaffMember


class UserManager(BaseUserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> User:
        # Usernames are unique without regard to case: "Paula" and "paula" are one person.
        return self.get(username__iexact=username)

    def create_user(self, username: str, password: str | None = None, **fields: Any) -> User:
        user = self.model(username=username, **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, username: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("kind", User.Kind.STAFF)
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(username, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """One sign-in: a patient or a staff member (see `kind`)."""

    class Kind(models.TextChoices):
        PATIENT = "patient", "Patient"
        STAFF = "staff", "Staff member"

    username = models.CharField(max_length=150, unique=True)
    kind = models.CharField("type of account", max_length=10, choices=Kind.choices)
    email = models.EmailField(
        "work e-mail address",
        blank=True,
        help_text="For staff accounts. A patient's contact e-mail address is on their patient record.",
    )
    is_active = models.BooleanField(
        "active",
        default=True,
        help_text="Off: the person cannot sign in, and their open sessions end at their next click.",
    )
    is_staff = models.BooleanField(
        "console access",
        default=False,
        help_text=(
            "May open this operator console: only with the staff role Administrator, "
            "and only after the second sign-in step."
        ),
    )
    date_joined = models.DateTimeField("account made", default=timezone.now)
    email_confirmed_at = models.DateTimeField("e-mail address confirmed", null=True, blank=True)
    contact_verified_at = models.DateTimeField("contact details last checked", null=True, blank=True)
    mfa_offered_at = models.DateTimeField("second step offered", null=True, blank=True)
    # Set when the help desk resets the person's second step (a lost phone): until they set up
    # a new authenticator, their next sign-in asks them to, whatever PORTAL_PATIENT_MFA says.
    second_step_reset_at = models.DateTimeField("second step reset by the help desk", null=True, blank=True)
    # The contact e-mail address before its last change, and when it changed. For
    # PORTAL_EMAIL_CHANGE_CANCEL_DAYS after a change, a password reset goes to the
    # previous address, not the new one (see do_request_password_reset).
    previous_email = models.EmailField(blank=True)
    email_changed_at = models.DateTimeField(null=True, blank=True)
    # Raised on a password or second-factor change: every session that carries an
    # older number is signed out on its next request.
    session_generation = models.PositiveIntegerField(default=0)

    objects = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = "account"
        constraints = [
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["patient", "staff"]), name="accounts_user_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def is_patient(self) -> bool:
        return self.kind == self.Kind.PATIENT

    @property
    def is_staff_member(self) -> bool:
        return self.kind == self.Kind.STAFF

    @property
    def patient_record(self) -> Patient | None:
        return getattr(self, "patient", None) if self.is_patient else None

    @property
    def staff_record(self) -> StaffMember | None:
        return getattr(self, "staff_member", None) if self.is_staff_member else None

    @property
    def is_administrator(self) -> bool:
        staff = self.staff_record
        return staff is not None and staff.role == "administrator"

    @property
    def contact_email(self) -> str:
        patient = self.patient_record
        return patient.email if patient is not None else self.email

    @property
    def display_name(self) -> str:
        record = self.patient_record or self.staff_record
        return record.display_name if record is not None else self.username


class TermsVersion(models.Model):
    """A published version of the conditions of use. The newest one is current."""

    version = models.CharField(max_length=20, unique=True, help_text="A short label, such as 2026-1.")
    title = models.CharField(max_length=200)
    text = models.TextField()
    published_at = models.DateTimeField(
        "published",
        default=timezone.now,
        help_text=(
            "From this moment it is the current version: everyone accepts it at their next sign-in. "
            "Date and time in the hospital's time zone."
        ),
    )

    class Meta:
        verbose_name = "conditions of use version"
        ordering = ["-published_at", "-id"]
        get_latest_by = ["published_at", "id"]

    def __str__(self) -> str:
        return f"Conditions of use {self.version}"


class TermsAcceptance(models.Model):
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="terms_acceptances")
    terms = models.ForeignKey(TermsVersion, on_delete=models.PROTECT, related_name="acceptances")
    accepted_at = models.DateTimeField(default=timezone.now)
    client_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "terms"], name="accounts_terms_accept_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} accepted {self.terms_id}"


class EmailLink(models.Model):
    """A link sent by e-mail: works once, until it expires. Only its hash is kept."""

    class Purpose(models.TextChoices):
        REGISTRATION = "registration", "Confirm a new account"
        EMAIL_CHANGE = "email_change", "Confirm a new e-mail address"
        EMAIL_CHANGE_CANCEL = "email_change_cancel", "Cancel an e-mail change (sent to the old address)"
        PASSWORD_RESET = "password_reset", "Reset a password"

    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="email_links")
    email = models.EmailField()
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "purpose"])]

    def __str__(self) -> str:
        return f"{self.purpose} link {self.pk}"


class SignInThrottle(models.Model):
    """Consecutive failed sign-ins for one key: a username (as typed) or an address."""

    key = models.CharField(max_length=200, unique=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.key
