from typing import Any

from django.conf import settings
from django.http import HttpRequest

from portal.core.navigation import primary_navigation


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    idle = settings.PORTAL_IDLE_TIMEOUT_SECONDS
    if user is not None and user.is_authenticated and user.is_administrator:
        idle = settings.PORTAL_ADMIN_IDLE_TIMEOUT_SECONDS
    return {
        "portal_name": settings.PORTAL_NAME,
        "help_desk_phone": settings.PORTAL_HELP_DESK_PHONE,
        "session_idle_seconds": idle,
        "session_warning_seconds": settings.PORTAL_TIMEOUT_WARNING_SECONDS,
        # Called by the template only where a page shows the menu (a callable, so pages that
        # do not, and e-mails, ask nothing); each entry's provider runs once per request.
        "primary_nav": lambda: primary_navigation(request),
        "menu_count": lambda: sum(link.entry.count for link in primary_navigation(request)),
    }
