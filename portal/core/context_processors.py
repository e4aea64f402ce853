from typing import Any

from django.conf import settings
from django.http import HttpRequest

from portal.core.admin import may_use_console


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
        # The menu offers the operator console to those its door lets in.
        "may_use_console": user is not None and may_use_console(user),
    }
