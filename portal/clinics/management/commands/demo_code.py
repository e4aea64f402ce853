from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.clinics.demo import DEMO_TOTP_KEY_PREFIX


class Command(BaseCommand):
    help = "Print the current authenticator code of a demo staff account (demo keys only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("Not available with PORTAL_ENV=production.")
        device = TOTPDevice.objects.filter(
            user__username__iexact=options["username"], confirmed=True, key__startswith=DEMO_TOTP_KEY_PREFIX
        ).first()
        if device is None:
            raise CommandError("No demo authenticator for that username.")
        self.stdout.write(f"{totp(device.bin_key, step=device.step, digits=device.digits):0{device.digits}d}")
