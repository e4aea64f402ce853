"""A card session stays bound to the card that started it.

Runs after SessionPolicyMiddleware, so the idle and absolute timeouts of
password sessions hold for card sessions too. On top of them: a request that
arrives on a card session with another certificate (another card in the same
browser, or a stolen session cookie replayed with the thief's card) ends the
session, and so does removing the card from the account.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.messages.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from portal.accounts import sessions
from portal.accounts.models import User
from portal.core.acting import Actor
from portal.smartcard.actions import do_record_card_session_ended
from portal.smartcard.certificates import CardCertificate, CertificateUnreadable, describe, load_certificate
from portal.smartcard.models import LinkedCard
from portal.smartcard.presented import presented_certificate

CARD_FINGERPRINT = "portal_card_fingerprint"

ENDED_TEXT = {
    "card_session_mismatch": "You were signed out because a different card was used. Sign in again with your own card.",
    "card_unlinked": "You were signed out because the card you signed in with is no longer linked to your account.",
}


class CardSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        bound = request.session.get(CARD_FINGERPRINT) if request.user.is_authenticated else None
        if bound:
            ended = self._ended(request, bound)
            if ended is not None:
                return self._sign_out(request, *ended)
        return self.get_response(request)

    def _ended(self, request: HttpRequest, bound: str) -> tuple[str, CardCertificate | None] | None:
        presented = presented_certificate(request)
        if presented is not None:
            try:
                certificate: CardCertificate | None = describe(load_certificate(presented.data))
            except CertificateUnreadable:
                certificate = None
            if certificate is None or certificate.fingerprint != bound:
                return "card_session_mismatch", certificate
        if not LinkedCard.objects.filter(user_id=request.user.pk, fingerprint=bound).exists():
            return "card_unlinked", None
        return None

    def _sign_out(
        self, request: HttpRequest, reason: str, certificate: CardCertificate | None
    ) -> HttpResponse:
        user = request.user
        assert isinstance(user, User)
        do_record_card_session_ended(
            by=Actor(user, getattr(request, "client_address", None)), reason=reason, certificate=certificate
        )
        sessions.end_session(request)
        response = redirect("accounts:sign_in")
        # MessageMiddleware has not run yet: write the notice through its own store.
        storage = default_storage(request)
        storage.add(messages.WARNING, ENDED_TEXT[reason])
        storage.update(response)
        return response
