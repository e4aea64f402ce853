"""Operator console pages for accounts and the conditions of use."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from portal.accounts.actions.console import check_save_account
from portal.accounts.models import TermsVersion, User
from portal.clinics.admin import ActingUserMixin, OperatorPermissions, reason_field
from portal.core.acting import actor_of
from portal.core.admin import portal_admin_site


class UserForm(forms.ModelForm[User]):
    change_reason = reason_field()

    class Meta:
        model = User
        fields = ["username", "kind", "email", "is_active", "is_staff"]

    acting_user: Any = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        mine = self.instance.pk is not None and self.instance.pk == getattr(self.acting_user, "pk", None)
        if mine and data.get("is_active") is False:
            self.add_error("is_active", "You cannot switch off your own account. Ask another administrator.")
        return data


@admin.register(User, site=portal_admin_site)
class UserAdmin(ActingUserMixin, OperatorPermissions, admin.ModelAdmin[User]):
    form = UserForm
    list_display = ["username", "kind", "is_active", "email_confirmed_at", "last_sign_in"]
    list_filter = ["kind", "is_active"]
    search_fields = ["username"]
    # Passwords and second factors are the person's own: set through their links, never here.
    fields = [
        "username", "kind", "email", "is_active", "is_staff", "email_confirmed_at", "last_sign_in", "change_reason"
    ]  # fmt: skip
    readonly_fields = ["email_confirmed_at", "last_sign_in"]

    @admin.display(description="last sign-in", ordering="last_login")
    def last_sign_in(self, obj: User) -> Any:
        return obj.last_login

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        # Active and console access are state that opens doors: on the record, with the reason.
        before = (
            {"is_active": form.initial["is_active"], "is_staff": form.initial["is_staff"]} if change else None
        )
        check_save_account(
            by=actor_of(request), account=obj, before=before, reason=form.cleaned_data["change_reason"]
        )


@admin.register(TermsVersion, site=portal_admin_site)
class TermsVersionAdmin(OperatorPermissions, admin.ModelAdmin[TermsVersion]):
    list_display = ["version", "title", "published_at"]
    # One labelled date-and-time box, not the admin's two unlabelled ones.
    formfield_overrides = {  # noqa: RUF012 - the admin's own class attribute
        models.DateTimeField: {
            "form_class": forms.DateTimeField,
            "widget": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        }
    }

    def has_change_permission(self, request: HttpRequest, obj: TermsVersion | None = None) -> bool:
        # A published version is what people accepted: publish a new one instead.
        return obj is None and super().has_change_permission(request, obj)
