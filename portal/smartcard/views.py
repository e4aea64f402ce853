"""Card pages: sign in, link, register, list and remove. Thin: parse, act, render.

These pages run on the card origin (PORTAL_CARD_ORIGIN: a port or host whose
TLS server asks for a client certificate), so ordinary pages never prompt for
a card. The certificate of the request comes from presented.py only.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.accounts import consent, sessions
from portal.accounts import selectors as account_selectors
from portal.accounts.actions import SignInRefused
from portal.accounts.models import User
from portal.accounts.views.common import browser_of, client_address, safe_next
from portal.accounts.views.reauth import ask_to_confirm, recent_authentication_required, sign_out_after_lock
from portal.accounts.views.signin import hold_message
from portal.core.acting import Actor, actor_of
from portal.smartcard import actions
from portal.smartcard import messages as texts
from portal.smartcard.access import cards_of
from portal.smartcard.actions import CardLinkRefused, CardNotLinked, CardRegistrationNoMatch
from portal.smartcard.forms import CardRegistrationForm
from portal.smartcard.middleware import CARD_FINGERPRINT
from portal.smartcard.models import LinkedCard
from portal.smartcard.presented import Presented, presented_certificate
from portal.smartcard.validation import CardRefused, ValidatedCard

REGISTRATION = "portal_card_registration"


def _main_site(path: str) -> str:
    """After a card step, back to the ordinary origin (where no card is asked for)."""
    if settings.PORTAL_CARD_ORIGIN:
        return settings.PORTAL_BASE_URL + path
    return path


def _problem(request: HttpRequest, explanation: texts.Explanation, *, status: int) -> HttpResponse:
    return render(request, "smartcard/problem.html", {"explanation": explanation}, status=status)


def _validated(request: HttpRequest, *, action: str) -> tuple[Presented, ValidatedCard] | HttpResponse:
    """The request's genuine card, or the page that says what is wrong with it."""
    presented = presented_certificate(request)
    if presented is None:
        return _problem(request, texts.NO_CERTIFICATE, status=400)
    try:
        card = actions.check_card(presented=presented, action=action, client_address=client_address(request))
    except CardRefused as refused:
        return _problem(request, texts.refusal(refused), status=403)
    return presented, card


def _signed_in_with(
    request: HttpRequest, user: User, linked: LinkedCard, card: ValidatedCard, presented: Presented
) -> None:
    """The session starts, knows its card, and its sign-in event is recorded and remembered."""
    sessions.start_session(request, user, device=linked, method="smart_card")
    request.session[CARD_FINGERPRINT] = card.certificate.fingerprint
    sessions.remember_sign_in(
        request,
        actions.do_record_card_sign_in(
            by=Actor(user, client_address(request)),
            linked=linked,
            card=card,
            source=presented.source,
            browser=browser_of(request),
        ),
    )


@require_GET
def card_sign_in(request: HttpRequest) -> HttpResponse:
    """Signing in is the TLS handshake itself: the browser proved it holds the card's key
    (the card's PIN unlocked it). A GET is enough; what it can do is sign a person in
    with their own card, and Django's login() gives the session a new key."""
    next_url = safe_next(request, request.GET.get("next"))
    if not consent.has_agreed(request):
        # The notice is on the ordinary origin; after "I agree", the sign-in page (with the card link).
        back = reverse("accounts:sign_in") + "?" + urlencode({"next": next_url})
        return redirect(_main_site(consent.notice_url(back)))
    presented = presented_certificate(request)
    if presented is None:
        return _problem(request, texts.NO_CERTIFICATE, status=400)
    try:
        user, linked, card = actions.check_card_sign_in(
            presented=presented, client_address=client_address(request)
        )
    except CardRefused as refused:
        return _problem(request, texts.refusal(refused), status=403)
    except CardNotLinked as unlinked:
        if unlinked.next_step == CardNotLinked.CAN_REGISTER:
            request.session[REGISTRATION] = unlinked.card.certificate.fingerprint
        return _problem(request, texts.not_linked(unlinked.next_step), status=403)
    _signed_in_with(request, user, linked, card, presented)
    return redirect(_main_site(next_url))


def _proved_with_password(request: HttpRequest, user: User) -> bool:
    """Linking needs the proof of a password sign-in (with the second step where the person has one)."""
    if request.session.get(CARD_FINGERPRINT):
        return False
    if account_selectors.has_second_factor(user) or account_selectors.second_factor_required(user):
        return bool(user.is_verified())  # type: ignore[attr-defined]
    return True


@login_required
@require_http_methods(["GET", "POST"])
def link_card(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not _proved_with_password(request, user):
        messages.warning(
            request, "To link a card, sign out and sign in with your username and password first."
        )
        return redirect(_main_site("/account/security/"))
    if not sessions.authenticated_recently(request):
        return ask_to_confirm(request)
    found = _validated(request, action="card_link_refused")
    if isinstance(found, HttpResponse):
        return found
    _presented, card = found
    error: str | None = None
    try:
        actions.check_link_card(by=Actor(user, client_address(request)), card=card)
    except CardLinkRefused as refused:
        error = texts.LINK_REFUSED[refused.reason]
    if request.method == "POST" and error is None:
        try:
            actions.do_link_card(by=Actor(user, client_address(request)), card=card)
        except CardLinkRefused as refused:
            error = texts.LINK_REFUSED[refused.reason]
        else:
            messages.success(request, "Your card is linked. Next time, choose Sign in with your CAC/PIV.")
            return redirect(_main_site("/account/card/"))
    return render(
        request,
        "smartcard/link.html",
        {"card": card.certificate, "error": error},
        status=400 if error else 200,
    )


@require_http_methods(["GET", "POST"])
def register_with_card(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(_main_site("/"))
    found = _validated(request, action="card_registration_refused")
    if isinstance(found, HttpResponse):
        return found
    presented, card = found
    if request.session.get(REGISTRATION) != card.certificate.fingerprint:
        # Registration starts from a card sign-in that found a record with no account.
        return redirect("smartcard:sign_in")
    form = CardRegistrationForm(request.POST or None)
    error: str | None = None
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"].strip()
        try:
            patient = actions.check_card_registration(
                card=card, birth_date=form.cleaned_data["birth_date"], client_address=client_address(request)
            )
        except CardRegistrationNoMatch as no_match:
            error = (
                "Too many attempts. Wait a few minutes, then try again, or call the help desk."
                if no_match.reason == CardRegistrationNoMatch.HELD
                else "That date of birth does not match the record for this card. Check it and try again."
            )
        else:
            problem = actions.check_card_username(username)
            if problem:
                form.add_error("username", problem)
            else:
                user, linked = actions.do_register_with_card(
                    patient_id=patient.pk,
                    card=card,
                    username=username,
                    client_address=client_address(request),
                )
                request.session.pop(REGISTRATION, None)
                _signed_in_with(request, user, linked, card, presented)
                messages.success(request, "Your account is ready. Your card is all you need to sign in.")
                return redirect(_main_site("/"))
    return render(
        request,
        "smartcard/register.html",
        {"form": form, "error": error},
        status=400 if (error or form.errors) else 200,
    )


@login_required
@require_GET
def linked_cards(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    return render(
        request,
        "smartcard/cards.html",
        {
            "cards": cards_of(user),
            "current": request.session.get(CARD_FINGERPRINT),
            "link_url": f"{settings.PORTAL_CARD_ORIGIN}/account/card/link/",
        },
    )


@login_required
@require_POST
@recent_authentication_required(back="smartcard:cards")
def remove_card(request: HttpRequest, card_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    actions.do_remove_card(by=Actor(user, client_address(request)), card_id=card_id)
    messages.success(request, "The card is removed from your account. It can no longer sign you in.")
    return redirect("smartcard:cards")


@login_required
@require_GET
def confirm_with_card(request: HttpRequest) -> HttpResponse:
    """ "Confirm it's you" with the card: like signing in, the TLS handshake is the proof
    (the PIN unlocked the card's key). It changes nothing but the session's time of
    last proof; every change it lets through still needs its own form and CSRF token."""
    next_url = safe_next(request, request.GET.get("next"))
    presented = presented_certificate(request)
    error: str | None = None
    if presented is None:
        error = texts.NO_CERTIFICATE.text
    else:
        try:
            actions.check_card_reauthentication(by=actor_of(request), presented=presented)
        except SignInRefused as refused:
            if refused.reason == SignInRefused.LOCKED:
                return sign_out_after_lock(request, sign_in_url=_main_site("/account/sign-in/"))
            error = hold_message(refused.hold) if refused.hold is not None else texts.CONFIRM_REFUSED
    if error is not None:
        return render(
            request,
            "smartcard/confirm_problem.html",
            {"error": error, "next": next_url},
            status=400 if presented is None else 403,
        )
    sessions.mark_authenticated(request)
    # The card pages (linking) live on the card origin; every other page on the main one.
    return redirect(next_url if next_url.startswith("/account/card/") else _main_site(next_url))
