"""Operator console pages for accounts and the conditions of use."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from portal.accounts.models import TermsVersion, User
from portal.clinics.admin import OperatorPermissions
from portal.core.admin import portal_admin_site


@admin.register(User, site=portal_admin_site)
class UserAdmin(OperatorPermissions, admin.ModelAdmin[User]):
    list_display = ["username", "kind", "is_active", "email_confirmed_at", "last_login"]
    list_filter = ["kind", "is_active"]
    search_fields = ["username"]
    # Passwords and second factors are the person's own: set through their links, never here.
    fields = ["username", "kind", "email", "is_active", "is_staff", "email_confirmed_at", "last_login"]
    readonly_fields = ["email_confirmed_at", "last_login"]


@admin.register(TermsVersion, site=portal_admin_site)
class TermsVersionAdmin(OperatorPermissions, admin.ModelAdmin[TermsVersion]):
    list_display = ["version", "title", "published_at"]

    def has_change_permission(self, request: HttpRequest, obj: TermsVersion | None = None) -> bool:
        # A published version is what people accepted: publish a new one instead.
        return obj is None and super().has_change_permission(request, obj)
