"""What the portal does, in one line per area: the list on the sign-in page.

The sign-in page promises only what is installed: each domain registers its line in its
AppConfig.ready() (with the same order as its navigation entry), so a domain that lands
adds its promise and one that is not installed promises nothing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Promise:
    order: int  # as the area's NavEntry.order: Messages 20, Health Record 30, ...
    text: str  # "Send secure messages to your care team": a patient's words, no full stop


_promises: dict[str, Promise] = {}


def register_promise(*, order: int, text: str) -> None:
    """Add one line to the sign-in page (registering the same text twice keeps one)."""
    _promises[text] = Promise(order=order, text=text)


def promises() -> list[Promise]:
    """Every registered line, in the navigation's order."""
    return sorted(_promises.values(), key=lambda promise: (promise.order, promise.text))
