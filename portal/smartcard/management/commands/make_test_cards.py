"""`manage.py make_test_cards`: a test CA and cards to try card sign-in in a desktop browser.

Writes, under var/test-cards/ (or --into): trust/ (point PORTAL_CARD_TRUST_DIR
at it), card-trust.pem (the same as one bundle, for nginx), and one PKCS#12
file per card (import into the browser; the password is printed). The cards
name no OCSP responder or CRL, so run the portal with
PORTAL_CARD_REVOCATION_FAILURE=allow when trying them. Never put this CA in a
production trust folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from portal.smartcard.testpki import build_test_pki, make_card

PASSWORD = b"test-card"  # noqa: S105 - printed for the person trying the test cards


class Command(BaseCommand):
    help = "Make a test CA and test cards (PKCS#12) for trying smart card sign-in in a browser."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--into", default=str(Path(settings.VAR_DIR) / "test-cards"))

    def handle(self, *args: Any, **options: Any) -> None:
        folder = Path(options["into"])
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
        pki = build_test_pki(with_revocation_service=False)
        # A demo patient who has no account yet (see `manage.py demo_data`): registers with the card.
        pki.cards["ferreira"] = make_card(
            pki.intermediate, common_name="FERREIRA.BRUNO.9900000013", upns=["9900000013@mil"]
        )
        pki.write_trust_dir(folder / "trust")
        (folder / "card-trust.pem").write_bytes(pki.root.pem + pki.intermediate.pem)
        chain = [pki.intermediate.certificate]
        for name, card in pki.cards.items():
            target = folder / f"{name}.p12"
            target.touch(mode=0o600)
            target.write_bytes(card.pkcs12(PASSWORD, chain=chain))
        self.stdout.write(f"Test cards in {folder} (PKCS#12 password: {PASSWORD.decode()}).")
        self.stdout.write(
            f"Run the portal with PORTAL_CARD_TRUST_DIR={folder / 'trust'} PORTAL_CARD_REVOCATION_FAILURE=allow"
        )
