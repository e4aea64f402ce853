"""The "Need support?" questions, shared by the help page and its download."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    slug: str
    question: str
    answer: str


QUESTIONS: tuple[Question, ...] = (
    Question(
        "create-account",
        "How do I create an account?",
        "Choose Create New Account on the sign-in page. You will need your DoD ID number "
        "(10 digits, on the back of your ID card), your date of birth and your last name as "
        "they appear in your health record. Then choose a username and password and confirm "
        "your e-mail address with the link we send you.",
    ),
    Question(
        "no-match",
        "The portal could not match my details. What now?",
        "Check the DoD ID number digit by digit and enter your last name as it is on your ID "
        "card. If it still does not match, your record may not be in the portal yet: call the "
        "help desk. For your privacy we cannot say which detail did not match.",
    ),
    Question(
        "password-rules",
        "What makes a good password?",
        "Use at least 12 characters; a short sentence of four or five words you will remember "
        "works well. Spaces and any characters are allowed. We refuse passwords that are common "
        "or known from data breaches, and your username.",
    ),
    Question(
        "forgot-password",
        "I forgot my password.",
        "Choose Forgot password on the sign-in page and enter your username. If the account "
        "exists, we send a link to its e-mail address. The link works once, for one hour. You "
        "will still need your authenticator app or a recovery code to sign in.",
    ),
    Question(
        "locked",
        "My account is locked.",
        "After 10 sign-in attempts in a row with a wrong password, the account is locked for a "
        "short while. The sign-in page tells you when you can try again. If you forgot your "
        "password, reset it instead of guessing.",
    ),
    Question(
        "authenticator",
        "What is the authenticator app and what if I lose my phone?",
        "An authenticator app (such as Google Authenticator, Microsoft Authenticator or any app "
        "that supports time-based codes) shows a 6-digit code that changes every 30 seconds. "
        "When you set it up you get ten recovery codes: keep them somewhere safe. Each one "
        "signs you in once if you lose your phone.",
    ),
    Question(
        "signed-out",
        "Why was I signed out?",
        "To protect your health information, the portal signs you out after 15 minutes "
        "without activity, and after 12 hours in any case. Two minutes before, it asks if you "
        "want to stay signed in. Sign in again and you return to the page you were on.",
    ),
    Question(
        "emergency",
        "Can I use the portal in an emergency?",
        "No. If you think you have a medical emergency, call 911 or go to the nearest emergency "
        "room. If you are in crisis, call or text 988 and press 1.",
    ),
)
