from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_otp.models import Device, DeviceManager

from portal.clinics.models import dod_id_validator


class LinkedCard(Device):
    """A smart card certificate a person linked to their account after proving who they are.

    It is a django-otp device: a session started with a card is a verified,
    multi-factor session (the card is something you have, its PIN something you know).
    A card is found by the SHA-256 fingerprint of its exact certificate, never by a name.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The card holder.",
    )
    dod_id = models.CharField("DoD ID number", max_length=10, validators=[dod_id_validator], db_index=True)
    fingerprint = models.CharField(
        max_length=64, unique=True, help_text="SHA-256 of the certificate (DER), hex"
    )
    serial = models.CharField(max_length=64)
    issuer = models.CharField(max_length=500)
    subject = models.CharField(max_length=500)
    not_after = models.DateTimeField()
    linked_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    # django-otp enumerates devices through its DeviceManager (devices_for_user);
    # the type checker sees the typed Manager it extends.
    if TYPE_CHECKING:
        objects: ClassVar[models.Manager[LinkedCard]]
    else:
        objects = DeviceManager()

    class Meta:
        ordering = ["-linked_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(dod_id__regex=r"^[0-9]{10}$"), name="smartcard_dod_id_10"
            ),
            models.CheckConstraint(
                condition=models.Q(fingerprint__regex=r"^[0-9a-f]{64}$"), name="smartcard_fingerprint_hex"
            ),
        ]

    def __str__(self) -> str:
        return f"Card {self.pk} of user {self.user_id}"

    def verify_token(self, token: object) -> bool:
        # A card proves itself in the TLS handshake, never by a typed code.
        return False
