"""The primary navigation: every area of the portal, named the same way on every page.

Core sits below the domains and never imports them: each app registers a provider in its
AppConfig.ready() that gives its entry for the signed-in user (or None: the Health Record
is a patient's, the operator console an administrator's), with a count where one applies
(unread conversations). base.html shows them in order; on a phone they are behind the
Menu button.

A count can cost a query, and the same number often shows twice on one page (the Messages
entry and the home page's Messages card): `once_per_request` computes it once per request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.http import HttpRequest

T = TypeVar("T")


@dataclass(frozen=True)
class NavEntry:
    """One area of the portal in the primary navigation."""

    label: str  # "Messages": the area's name, as its pages' headings say it
    url: str
    order: int  # Home 0, Messages 20, Health Record 30, Appointments 40, Medications 50, ...
    count: int = 0  # shown beside the label when above 0
    counts: str = ""  # what the count counts, read out after it ("3 unread")
    # Paths under which this area is the current one (its pages); the url alone when empty.
    paths: tuple[str, ...] = ()

    def is_current(self, path: str) -> bool:
        return path == self.url or any(path.startswith(prefix) for prefix in self.paths)


@dataclass(frozen=True)
class NavLink:
    """An entry as one page shows it: whether it is the area the page belongs to."""

    entry: NavEntry
    current: bool


EntryProvider = Callable[[HttpRequest], NavEntry | None]

_providers: list[EntryProvider] = []


def register_nav_entry(provider: EntryProvider) -> EntryProvider:
    """Add `provider(request)`: one app's entry for the signed-in user, or None."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def primary_navigation(request: HttpRequest) -> list[NavLink]:
    """Every area the signed-in user may use, in order; the page's own area marked current."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    return once_per_request(request, "core.navigation", lambda: _links(request))


def _links(request: HttpRequest) -> list[NavLink]:
    entries = sorted(
        (entry for provider in _providers if (entry := provider(request)) is not None),
        key=lambda entry: (entry.order, entry.label),
    )
    # The longest matching path wins: /messages/ is Messages, not Home's /.
    current = max(
        (entry for entry in entries if entry.is_current(request.path)),
        key=lambda entry: max(
            (len(p) for p in (entry.url, *entry.paths) if request.path.startswith(p)), default=0
        ),
        default=None,
    )
    return [NavLink(entry, entry is current) for entry in entries]


def once_per_request(request: HttpRequest, key: str, compute: Callable[[], T]) -> T:
    """`compute()` the first time `key` is asked for during this request, its value after that."""
    memo: dict[str, Any] = request.__dict__.setdefault("_portal_once", {})
    if key not in memo:
        memo[key] = compute()
    return memo[key]  # type: ignore[no-any-return]
