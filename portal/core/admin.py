"""The operator console (Django admin), open only to verified administrators."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME, get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp.admin import OTPAdminSite

from portal.audit.denials import refused_accounts


def may_use_console(user: Any) -> bool:
    """An active account with console access, the administrator's role, and a session verified
    by the second step (or a card): the console's one door, and what the portal's menu asks."""
    # is_verified comes from django_otp's middleware; a page rendered without it (an error
    # page made before the middleware ran) has none, and offers no console.
    verified = getattr(user, "is_verified", None)
    return bool(
        user.is_authenticated
        and user.is_active
        and user.is_staff
        and getattr(user, "is_administrator", False)
        and verified is not None
        and verified()
    )


class PortalAdminSite(OTPAdminSite):
    site_title = "Operator console"
    index_title = "Operator console"
    login_template = None
    index_template = "core/admin_index.html"

    def index(self, request: HttpRequest, extra_context: dict[str, object] | None = None) -> HttpResponse:
        """The console's first page also lists the accounts refused access in the last hour:
        a burst from one account is someone trying ids that are not theirs."""
        refused = refused_accounts(since=timezone.now() - timedelta(hours=1))
        # Each account by its username (one query), which is what a help desk knows people by.
        usernames = dict(
            get_user_model()
            ._default_manager.filter(pk__in=[row.actor_id for row in refused])
            .values_list("pk", "username")
        )
        rows = [(row, usernames.get(row.actor_id, "")) for row in refused]
        return super().index(request, {**(extra_context or {}), "refused_accounts": rows})

    @property
    def site_header(self) -> str:  # type: ignore[override]
        return f"{settings.PORTAL_NAME} operator console"

    def has_permission(self, request: HttpRequest) -> bool:
        return may_use_console(request.user)

    def get_urls(self) -> list[URLPattern | URLResolver]:
        from portal.core import console_views as views

        wrap = self.admin_view
        return [
            path("help-desk/", wrap(views.help_desk), name="help_desk"),
            path("help-desk/audit-chain/", wrap(views.audit_chain), name="audit_chain"),
            path("help-desk/email/", wrap(views.email_log), name="email_log"),
            path("help-desk/email/requeue/", wrap(views.email_requeue), name="email_requeue"),
            path(
                "help-desk/email/<int:email_id>/send-again/",
                wrap(views.email_send_again),
                name="email_send_again",
            ),
            *super().get_urls(),
        ]

    def login(  # type: ignore[override]
        self, request: HttpRequest, extra_context: dict[str, object] | None = None
    ) -> HttpResponse:
        """The console has no sign-in form: the portal's own sign-in (with its second step) is the door.

        Someone already signed in who may not use the console is refused here: the
        sign-in page sends a signed-in person straight back to `next`, so a redirect
        to it would loop.
        """
        from django.contrib.auth.views import redirect_to_login

        index = reverse("operator:index", current_app=self.name)
        next_url = request.GET.get(REDIRECT_FIELD_NAME, "")
        if not url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            next_url = index
        if self.has_permission(request):
            return redirect(next_url)
        if request.user.is_authenticated:
            raise PermissionDenied
        return redirect_to_login(next_url)

    def password_change(  # type: ignore[override]
        self, request: HttpRequest, extra_context: dict[str, object] | None = None
    ) -> HttpResponse:
        # The portal's own page audits the change and signs out the other sessions.
        return redirect("accounts:change_password")

    # The console's "Log out" is routed to the portal's own sign-out (audited, back to the
    # portal's sign-in page) by portal/urls.py, which sits above both.


portal_admin_site = PortalAdminSite(name="operator")
