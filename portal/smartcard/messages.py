"""What a person is told when a card does not sign them in: which problem, and what to do."""

from __future__ import annotations

from dataclasses import dataclass

from portal.core import times
from portal.smartcard.actions import CardLinkRefused, CardNotLinked
from portal.smartcard.certificates import CardCertificate
from portal.smartcard.validation import CardRefused

CHOOSE_AUTHENTICATION = (
    "Your card holds several certificates. Close the browser, open it again and, when it asks, "
    'choose the certificate for authentication (often named "Authentication" or "PIV Auth"), '
    "not the one for e-mail signing or encryption."
)


@dataclass(frozen=True)
class Explanation:
    heading: str
    text: str
    offer_password: bool = True  # show "Sign in with your username and password"
    offer_register: bool = False


def _date(certificate: CardCertificate | None, attribute: str) -> str:
    if certificate is None:
        return "an earlier date"
    return times.day(getattr(certificate, attribute))


def refusal(refused: CardRefused) -> Explanation:
    certificate = refused.certificate
    texts = {
        CardRefused.EXPIRED: Explanation(
            "Your certificate has expired",
            f"The certificate on this card expired on {_date(certificate, 'not_after')}. Use your new card. "
            "If you have no new card yet, your ID card office (RAPIDS) can issue one; meanwhile sign in with your password.",
        ),
        CardRefused.NOT_YET_VALID: Explanation(
            "Your certificate is not valid yet",
            f"The certificate on this card becomes valid on {_date(certificate, 'not_before')}. Check that your "
            "computer's date and time are right, or sign in with your password until then.",
        ),
        CardRefused.REVOKED: Explanation(
            "Your certificate has been revoked",
            "The card's issuer has cancelled this certificate, so it can no longer sign anyone in. Use your new card, "
            "or visit your ID card office (RAPIDS). Meanwhile sign in with your password.",
        ),
        CardRefused.UNTRUSTED: Explanation(
            "We do not recognize who issued this certificate",
            "It was not issued by a certificate authority this portal trusts. If you chose a certificate that is "
            f"not from your CAC or PIV card, try again with your card. {CHOOSE_AUTHENTICATION}",
        ),
        CardRefused.WRONG_USAGE: Explanation("This certificate is not for signing in", CHOOSE_AUTHENTICATION),
        CardRefused.POLICY: Explanation(
            "This is not a PIV authentication certificate", CHOOSE_AUTHENTICATION
        ),
        CardRefused.REVOCATION_UNKNOWN: Explanation(
            "We could not check your certificate right now",
            "The service that confirms a card has not been cancelled did not answer. Try again in a few minutes, "
            "or sign in with your password.",
        ),
        CardRefused.NO_DOD_ID: Explanation(
            "This certificate has no DoD ID number",
            f"We could not find whose card this is. {CHOOSE_AUTHENTICATION}",
        ),
        CardRefused.IDENTITY_CONFLICT: Explanation(
            "The identity on this certificate does not agree with itself",
            "The DoD ID numbers in this certificate do not match each other, so it cannot sign anyone in. "
            "Sign in with your password, and call the help desk about your card.",
        ),
        CardRefused.UNREADABLE: Explanation(
            "We could not read the certificate",
            "Remove your card, insert it again and reload this page, or sign in with your password.",
        ),
    }
    return texts[refused.problem]


def not_linked(next_step: str) -> Explanation:
    texts = {
        CardNotLinked.NEW_CARD: Explanation(
            "This card is new to the portal",
            "We know an earlier card of yours, but not this one. Sign in once with your username and password "
            '(and your second step), then choose "Link a card" under Account security to link this card.',
        ),
        CardNotLinked.HAS_ACCOUNT: Explanation(
            "Link your card to your account first",
            'Sign in once with your username and password (and your second step), then choose "Link a card" '
            "under Account security. After that your card is all you need.",
        ),
        CardNotLinked.CAN_REGISTER: Explanation(
            "You do not have an account yet",
            "We found your health record. Create your account with this card: we will ask for your date of birth.",
            offer_register=True,
        ),
        CardNotLinked.UNKNOWN: Explanation(
            "We could not match this card to an account",
            "This card is genuine, but its DoD ID number is not on any patient record or account here. "
            "Sign in with your password, or call the help desk.",
        ),
    }
    return texts[next_step]


LINK_REFUSED = {
    CardLinkRefused.NOT_YOURS: "This card carries another person's DoD ID number, so it cannot be linked to your account.",
    CardLinkRefused.LINKED_ELSEWHERE: "This card's DoD ID number belongs to another account. Call the help desk.",
    CardLinkRefused.ALREADY_LINKED: "This card is already linked to your account.",
}

NO_CERTIFICATE = Explanation(
    "We did not receive a certificate from your card",
    "Insert your CAC or PIV card into the reader, close every browser window, then open this page again and "
    "choose your authentication certificate when the browser asks. If the browser never asks, your card "
    "reader or its software may need setting up: see Need support?",
)

CONFIRM_REFUSED = (
    "This card is not linked to your account, or it cannot be used. Use the card you linked, "
    "or confirm with your password instead."
)
