"""Operator console pages for accounts and the conditions of use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from portal.accounts import selectors
from portal.accounts.actions import help_desk
from portal.accounts.actions.console import check_save_account
from portal.accounts.models import TermsVersion, User
from portal.accounts.throttle import Hold
from portal.clinics.admin import ActingUserMixin, OperatorPermissions, reason_field
from portal.core.acting import actor_of
from portal.core.admin import portal_admin_site
from portal.core.console_views import reasoned_change, reasoned_reading, task_page


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


# --- Help-desk tasks on one account -------------------------------------------------------------


def _account_crumbs(account: User) -> list[tuple[str, str]]:
    return [
        ("Accounts", reverse("operator:accounts_user_changelist")),
        (account.username, reverse("operator:accounts_user_change", args=[account.pk])),
    ]


def _help_desk_crumbs(account: User) -> list[tuple[str, str]]:
    return [
        *_account_crumbs(account),
        ("Help desk", reverse("operator:accounts_user_help_desk", args=[account.pk])),
    ]


def _hold_in_words(hold: Hold | None) -> str:
    if hold is None:
        return "Not locked."
    until = f"{timezone.localtime(hold.until):%Y-%m-%d %H:%M %Z}"
    if hold.locked:
        return f"Locked after too many failed attempts, until {until}."
    return f"Slowed down after failed attempts: the next try may be made at {until}."


def _second_step_in_words(account: User) -> str:
    if selectors.has_second_factor(account):
        return "An authenticator app is set up."
    if account.second_step_reset_at is not None:
        when = f"{timezone.localtime(account.second_step_reset_at):%Y-%m-%d %H:%M %Z}"
        return f"Reset by the help desk on {when}: the person sets up a new authenticator app at their next sign-in."
    if selectors.second_factor_required(account):
        return "None yet: the person sets up an authenticator app at their next sign-in."
    return "None (a patient may add one under Account security)."


def _facts(account: User) -> list[tuple[str, str]]:
    confirmed = account.email_confirmed_at
    return [
        ("Account", f"{account.username}: {account.display_name}, {account.get_kind_display().lower()}"),
        ("Active", "Yes" if account.is_active else "No: switched off"),
        ("E-mail address", account.contact_email or "None on file"),
        (
            "E-mail address confirmed",
            f"{timezone.localtime(confirmed):%Y-%m-%d %H:%M %Z}" if confirmed else "Not yet",
        ),
        ("Sign-in", _hold_in_words(selectors.sign_in_hold_of(account))),
        ("Second step", _second_step_in_words(account)),
    ]


class AccountHelpDesk:
    """The help desk's pages for one account (their actions: portal.accounts.actions.help_desk)."""

    admin_site: Any

    def help_desk_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        pages = [
            ("", self.help_desk, "accounts_user_help_desk"),
            ("unlock/", self.unlock, "accounts_user_unlock"),
            ("reset-second-step/", self.reset_second_step, "accounts_user_reset_second_step"),
            ("resend-confirmation/", self.resend_confirmation, "accounts_user_resend_confirmation"),
            ("send-password-reset/", self.send_password_reset, "accounts_user_send_password_reset"),
            ("sign-ins/", self.sign_ins, "accounts_user_sign_ins"),
        ]
        return [
            path(f"<int:account_id>/help-desk/{route}", wrap(view), name=name) for route, view, name in pages
        ]

    def help_desk(self, request: HttpRequest, account_id: int) -> HttpResponse:
        account = selectors.account_for_console(account_id)
        return task_page(
            request,
            title=f"Help desk: {account.username}",
            crumbs=_account_crumbs(account),
            template="admin/portal/account_help_desk.html",
            account=account,
            facts=_facts(account),
            hold=selectors.sign_in_hold_of(account),
            has_second_step=selectors.has_second_factor(account),
            registration_email=selectors.latest_registration_email(account),
            yours=account.pk == request.user.pk,
        )

    def _change(
        self,
        request: HttpRequest,
        account_id: int,
        act: Callable[..., None],
        *,
        title: str,
        done: str,
        **page: Any,
    ) -> HttpResponse:
        account = selectors.account_for_console(account_id)
        return reasoned_change(
            request,
            act=lambda by, reason: act(by=by, account=account, reason=reason),
            done=done,
            then=reverse("operator:accounts_user_help_desk", args=[account.pk]),
            title=title,
            crumbs=_help_desk_crumbs(account),
            facts=_facts(account),
            **page,
        )

    def unlock(self, request: HttpRequest, account_id: int) -> HttpResponse:
        return self._change(
            request,
            account_id,
            help_desk.check_unlock_account,
            title="Unlock sign-in",
            done="Unlocked: the person can sign in again now.",
            intro=[
                "Clears the failed attempts counted against this username, and the lock or wait they "
                "caused. A lock on a network address (many failures from one place) stays.",
            ],
            button="Unlock sign-in",
        )

    def reset_second_step(self, request: HttpRequest, account_id: int) -> HttpResponse:
        return self._change(
            request,
            account_id,
            help_desk.check_reset_second_step,
            title="Reset the second step",
            done="Reset: the person's sessions ended, and they set up a new authenticator app at their next sign-in.",
            intro=[
                "For a lost or replaced phone. Removes the authenticator app and the recovery codes, and "
                "ends every session of the account. At the next sign-in, after the password, the person "
                "must set up a new authenticator app. Check who you are talking to first: whoever knows "
                "the password can then choose the new app.",
            ],
            button="Reset the second step",
        )

    def resend_confirmation(self, request: HttpRequest, account_id: int) -> HttpResponse:
        return self._change(
            request,
            account_id,
            help_desk.check_resend_confirmation,
            title="Send the confirmation link again",
            done="Sent: a new confirmation link is on its way (the earlier ones no longer work).",
            intro=[
                "A new account works once its e-mail address is confirmed. This sends a new confirmation "
                "link, good for the usual hours, to the address given at Create New Account; earlier "
                "links stop working.",
            ],
            button="Send the confirmation link",
        )

    def send_password_reset(self, request: HttpRequest, account_id: int) -> HttpResponse:
        return self._change(
            request,
            account_id,
            help_desk.check_send_password_reset,
            title="Send a password-reset link",
            done="Sent: a password-reset link is on its way.",
            intro=[
                "Sends the link the Forgot password page sends, to the account's e-mail address (within "
                "days of an e-mail change, to the address from before it, as the page does). The link "
                "works once; the second step is still asked after it.",
            ],
            button="Send a password-reset link",
        )

    def sign_ins(self, request: HttpRequest, account_id: int) -> HttpResponse:
        account = selectors.account_for_console(account_id)
        return reasoned_reading(
            request,
            read=lambda by, reason: help_desk.check_read_sign_ins(by=by, account=account, reason=reason),
            template="admin/portal/sign_ins.html",
            title=f"Sign-in history: {account.username}",
            crumbs=_help_desk_crumbs(account),
            intro=["The latest sign-ins and failed attempts on this account, newest first."],
            button="Show the sign-in history",
            account=account,
        )


@admin.register(User, site=portal_admin_site)
class UserAdmin(AccountHelpDesk, ActingUserMixin, OperatorPermissions, admin.ModelAdmin[User]):
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

    def get_urls(self) -> list[URLPattern]:
        return [*self.help_desk_urls(), *super().get_urls()]

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
