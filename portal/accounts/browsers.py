"""Which browser a sign-in came from, as a short code and in words.

The sign-in's audit event keeps only a code such as "chrome-windows" (the audit log takes
codes, never the User-Agent text); Account security and the operator console show it as
"Chrome on Windows". A tight parser of the common families, not a full User-Agent database:
anything else is "other", which is still a code the log accepts.

Order matters: Edge and Opera and Samsung Internet say "Chrome" too, and Chrome says "Safari";
Chrome, Firefox and Edge on an iPhone are spelled CriOS, FxiOS and EdgiOS.
"""

from __future__ import annotations

import re

FAMILIES: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("edge", "Edge", re.compile(r"\bEdg(e|A|iOS)?/")),
    ("opera", "Opera", re.compile(r"\b(OPR|Opera)/")),
    ("samsung", "Samsung Internet", re.compile(r"\bSamsungBrowser/")),
    ("firefox", "Firefox", re.compile(r"\b(Firefox|FxiOS)/")),
    ("chrome", "Chrome", re.compile(r"\b(Chrome|HeadlessChrome|CriOS|Chromium)/")),
    ("safari", "Safari", re.compile(r"\bVersion/[\d.]+.*\bSafari/")),
)
SYSTEMS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("ios", "iPhone or iPad", re.compile(r"\b(iPhone|iPad|iPod)\b")),
    ("android", "Android", re.compile(r"\bAndroid\b")),
    ("chromeos", "ChromeOS", re.compile(r"\bCrOS\b")),
    ("windows", "Windows", re.compile(r"\bWindows\b")),
    ("macos", "Mac", re.compile(r"\bMacintosh\b|\bMac OS X\b")),
    ("linux", "Linux", re.compile(r"\bLinux\b")),
)
OTHER = "other"
FAMILY_WORDS = {code: words for code, words, _ in FAMILIES}
SYSTEM_WORDS = {code: words for code, words, _ in SYSTEMS}


def _first(table: tuple[tuple[str, str, re.Pattern[str]], ...], user_agent: str) -> str:
    return next((code for code, _, pattern in table if pattern.search(user_agent)), OTHER)


def browser_code(user_agent: str) -> str:
    """ "chrome-windows", "safari-ios", "other-linux", "other-other": family and system."""
    user_agent = user_agent[:512]
    return f"{_first(FAMILIES, user_agent)}-{_first(SYSTEMS, user_agent)}"


def browser_words(code: str) -> str:
    """ "Chrome on Windows" for "chrome-windows"; "" when nothing was recorded (older sign-ins)."""
    if not code:
        return ""
    family, _, system = code.partition("-")
    family_words = FAMILY_WORDS.get(family, "A browser we do not recognize")
    system_words = SYSTEM_WORDS.get(system)
    return f"{family_words} on {system_words}" if system_words else family_words
