"""The operator console (Django admin), open only to verified administrators."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django_otp.admin import OTPAdminSite


class PortalAdminSite(OTPAdminSite):
    site_header = "Patient Portal operator console"
    site_title = "Operator console"
    index_title = "Operations"
    login_template = None

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(
            user.is_active
            and user.is_staff
            and getattr(user, "is_administrator", False)
            and user.is_verified()  # type: ignore[union-attr,attr-defined]
        )

    def login(  # type: ignore[override]
        self, request: HttpRequest, extra_context: dict[str, object] | None = None
    ) -> HttpResponse:
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(request.get_full_path())


portal_admin_site = PortalAdminSite(name="operator")
