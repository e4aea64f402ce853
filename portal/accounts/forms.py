from __future__ import annotations

import re
from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.core.days import DayField

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9.@+_-]{3,150}$")


def password_field(label: str, *, autocomplete: str, meter: bool = False) -> forms.CharField:
    # strip=False and no max_length: the password is checked exactly as typed,
    # never trimmed or truncated; a length problem gets its own message.
    attrs = {"autocomplete": autocomplete, "class": "usa-input", "spellcheck": "false"}
    if meter:
        attrs["data-strength-meter"] = "true"
    return forms.CharField(
        label=label, strip=False, widget=forms.PasswordInput(attrs=attrs, render_value=True)
    )


class SignInForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "class": "usa-input"}
        ),
        error_messages={"required": "Enter your username."},
    )
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "class": "usa-input"}),
        error_messages={"required": "Enter your password."},
    )


class SecondFactorForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "text",
                "class": "usa-input usa-input--medium",
            }
        ),
        error_messages={"required": "Enter the 6-digit code from your app, or a recovery code."},
    )


class TotpConfirmForm(forms.Form):
    code = forms.CharField(
        label="6-digit code from your app",
        max_length=10,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "class": "usa-input usa-input--small",
            }
        ),
        error_messages={"required": "Enter the 6-digit code your app shows."},
    )

    def clean_code(self) -> str:
        code = re.sub(r"\s", "", self.cleaned_data["code"])
        if not re.fullmatch(r"\d{6}", code):
            raise ValidationError("The code is 6 digits, like 123456. Check your app and try again.")
        return code


class BirthDateForm(forms.Form):
    """The date of birth as one text input, month first (04/28/1986), like every date of the portal."""

    birth_date = DayField(label="Date of birth", what="your date of birth")

    def clean_birth_date(self) -> date:
        birth_date: date = self.cleaned_data["birth_date"]
        if birth_date > timezone.localdate():
            raise ValidationError("Your date of birth cannot be in the future: check the year.")
        return birth_date


class RegisterIdentityForm(BirthDateForm):
    dod_id = forms.CharField(
        label="DoD ID number",
        max_length=20,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "class": "usa-input usa-input--medium"}
        ),
        error_messages={"required": "Enter your 10-digit DoD ID number."},
    )
    last_name = forms.CharField(
        label="Last name",
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "family-name", "class": "usa-input"}),
        error_messages={"required": "Enter your last name."},
    )

    def clean_dod_id(self) -> str:
        dod_id = re.sub(r"[\s-]", "", self.cleaned_data["dod_id"])
        if not re.fullmatch(r"\d{10}", dod_id):
            raise ValidationError("A DoD ID number is 10 digits, found on the back of your ID card.")
        return dod_id


class NewAccountForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        help_text="3 to 150 letters, digits or . @ + _ -",
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "class": "usa-input"}
        ),
        error_messages={"required": "Choose a username."},
    )
    email = forms.EmailField(
        label="E-mail address",
        help_text="We send a link to confirm it.",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "class": "usa-input"}),
        error_messages={
            "required": "Enter your e-mail address.",
            "invalid": "Enter an e-mail address like name@example.com.",
        },
    )
    password = password_field("Password", autocomplete="new-password", meter=True)
    password_confirm = password_field("Type the password again", autocomplete="new-password")

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        if not USERNAME_PATTERN.fullmatch(username):
            raise ValidationError("Use 3 to 150 letters, digits or the characters . @ + _ - (no spaces).")
        return username

    def clean(self) -> dict[str, Any]:
        from django.contrib.auth.password_validation import validate_password

        from portal.accounts.models import User

        data = super().clean() or {}
        password = data.get("password")
        if password:
            # Every rule's problem at once, next to the other fields' problems: the username as
            # typed (even one with its own problem) is what the password must not contain.
            typed_username = str(self.data.get("username", "")).strip()
            try:
                validate_password(password, user=User(username=typed_username))
            except ValidationError as error:
                self.add_error("password", error)
        if password and password != data.get("password_confirm"):
            self.add_error("password_confirm", "The two passwords are not the same. Type them again.")
        return data


class SetPasswordForm(forms.Form):
    password = password_field("New password", autocomplete="new-password", meter=True)
    password_confirm = password_field("Type the new password again", autocomplete="new-password")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self) -> dict[str, Any]:
        from django.contrib.auth.password_validation import validate_password

        data = super().clean() or {}
        password = data.get("password")
        if password:
            try:
                validate_password(password, user=self.user)
            except ValidationError as error:
                self.add_error("password", error)
            if password != data.get("password_confirm"):
                self.add_error("password_confirm", "The two passwords are not the same. Type them again.")
        return data


class ChangePasswordForm(SetPasswordForm):
    current_password = forms.CharField(
        label="Current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "class": "usa-input"}),
        error_messages={"required": "Enter your current password."},
    )
    field_order = ["current_password", "password", "password_confirm"]

    def clean_current_password(self) -> str:
        from portal.accounts.passwords import normalize

        current = self.cleaned_data["current_password"]
        if not self.user.check_password(normalize(current)):
            raise ValidationError("Your current password is not right.")
        return str(current)


class PasswordResetRequestForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "class": "usa-input"}
        ),
        error_messages={"required": "Enter your username."},
    )


def normalize_phone(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    if value.strip().startswith("+") and not digits.startswith("1"):
        if 8 <= len(digits) <= 15:
            return "+" + digits
        raise ValidationError("An international number has 8 to 15 digits after the +.")
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        raise ValidationError("Enter a 10-digit mobile number, like 555-555-0123.")
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"


class ContactForm(forms.Form):
    email = forms.EmailField(
        label="E-mail address",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "class": "usa-input"}),
        error_messages={
            "required": "Enter your e-mail address.",
            "invalid": "Enter an e-mail address like name@example.com.",
        },
    )
    mobile_phone = forms.CharField(
        label="Mobile phone",
        required=False,
        max_length=30,
        widget=forms.TextInput(
            attrs={"autocomplete": "tel", "inputmode": "tel", "class": "usa-input usa-input--medium"}
        ),
    )

    def clean_mobile_phone(self) -> str:
        value = self.cleaned_data["mobile_phone"].strip()
        return normalize_phone(value) if value else ""


class ConfirmItsYouForm(forms.Form):
    """The password again, and the authenticator code when the person has one."""

    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "class": "usa-input"}),
        error_messages={"required": "Enter your password."},
    )
    code = forms.CharField(
        label="Code from your authenticator app",
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "text",
                "spellcheck": "false",
                "class": "usa-input usa-input--medium",
            }
        ),
        error_messages={"required": "Enter the 6-digit code from your app, or a recovery code."},
    )

    def __init__(self, *args: Any, with_code: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not with_code:
            del self.fields["code"]
