from __future__ import annotations

from django import forms

from portal.accounts.forms import BirthDateForm


class CardRegistrationForm(BirthDateForm):
    username = forms.CharField(
        label="Choose a username",
        max_length=150,
        help_text="3 or more letters or digits. You will not need it to sign in with your card.",
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "class": "usa-input"}
        ),
        error_messages={"required": "Choose a username."},
    )
