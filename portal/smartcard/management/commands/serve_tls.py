"""`manage.py serve_tls`: the portal over HTTPS on this machine, with card sign-in.

A local CA and a server certificate are made at first use under var/tls/.
Two ports: the ordinary one never asks for a card; the card port asks the
browser for a client certificate, so only "Sign in with your CAC/PIV" prompts.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.core.wsgi import get_wsgi_application

from portal.smartcard.tlsserver import ensure_local_tls, start_listener
from portal.smartcard.trust import trust_store


class Command(BaseCommand):
    help = "Serve the portal over HTTPS, with smart card sign-in on a second port."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8443, help="ordinary HTTPS port (default 8443)")
        parser.add_argument(
            "--card-port", type=int, default=8444, help="port that asks for a card (default 8444)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host, port, card_port = options["host"], options["port"], options["card_port"]
        tls = ensure_local_tls(Path(settings.VAR_DIR) / "tls")
        # Unless configured, links between the two listeners use the ports chosen here.
        if not os.environ.get("PORTAL_CARD_ORIGIN"):
            settings.PORTAL_CARD_ORIGIN = f"https://localhost:{card_port}"
        if not os.environ.get("PORTAL_BASE_URL"):
            settings.PORTAL_BASE_URL = f"https://localhost:{port}"
        anchors = len(trust_store().anchors)
        if not anchors:
            self.stderr.write(
                f"No trust anchors in {settings.PORTAL_CARD_TRUST_DIR}: every card will be refused."
            )
        app = get_wsgi_application()
        listeners = [
            start_listener(
                app,
                host=host,
                port=port,
                certificate=tls.server_certificate,
                key=tls.server_key,
                ask_for_card=False,
            ),
            start_listener(
                app,
                host=host,
                port=card_port,
                certificate=tls.server_certificate,
                key=tls.server_key,
                ask_for_card=True,
            ),
        ]
        self.stdout.write(
            f"Portal: {settings.PORTAL_BASE_URL}/  (card sign-in: {settings.PORTAL_CARD_ORIGIN}/account/card/sign-in/)"
        )
        self.stdout.write(f"Trust the local CA in your browser: {tls.ca_certificate}")
        self.stdout.write(f"Card trust anchors: {anchors} in {settings.PORTAL_CARD_TRUST_DIR}. Ctrl-C stops.")
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        with contextlib.suppress(KeyboardInterrupt):
            stopped.wait()
        for listener in listeners:
            listener.stop()
