"""Core's own entries in the primary navigation: the operator console and Need support?"""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from portal.core.navigation import NavEntry


def console_entry(request: HttpRequest) -> NavEntry | None:
    """The operator console, for whoever it lets in (a verified administrator), and no one else."""
    from portal.core.admin import may_use_console

    if not may_use_console(request.user):
        return None
    return NavEntry("Console", reverse("operator:index"), order=80, paths=(reverse("operator:index"),))


def help_entry(request: HttpRequest) -> NavEntry:
    return NavEntry("Need support?", reverse("core:help"), order=100, paths=(reverse("core:help"),))
