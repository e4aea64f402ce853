"""The medications forms: parse and say what is wrong in words; the rules are in actions."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from portal.core.days import DayField
from portal.medications.actions import NOTE_MAX, REASON_MAX
from portal.medications.models import RefillRequest
from portal.medications.selectors import pickup_pharmacies


class RefillForm(forms.Form):
    prescriptions = forms.TypedMultipleChoiceField(
        coerce=int,
        label="Prescriptions to refill",
        error_messages={"required": "Choose at least one prescription to refill."},
    )
    delivery = forms.ChoiceField(
        label="How do you want to get it?",
        choices=RefillRequest.Delivery.choices,
        widget=forms.RadioSelect(attrs={"class": "usa-radio__input"}),
        error_messages={"required": "Choose pick-up at a pharmacy or mail order."},
    )
    pharmacy = forms.TypedChoiceField(
        label="Pharmacy to pick up at",
        coerce=int,
        required=False,
        empty_value=None,
        widget=forms.Select(attrs={"class": "usa-select"}),
    )

    def __init__(self, *args: Any, refillable: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_refillable(refillable)
        self.fields["prescriptions"].error_messages["invalid_choice"] = (
            "One of the prescriptions you chose cannot be refilled now: see the reason beside it."
        )
        pickup = pickup_pharmacies()
        cast(forms.ChoiceField, self.fields["pharmacy"]).choices = [("", "- Choose a pharmacy -")] + [
            (p.pk, f"{p.name}{' (' + p.pickup_place + ')' if p.pickup_place else ''}") for p in pickup
        ]

    def set_refillable(self, refillable: list[int]) -> None:
        cast(forms.ChoiceField, self.fields["prescriptions"]).choices = [(pk, str(pk)) for pk in refillable]


class RenewalForm(forms.Form):
    note = forms.CharField(
        label="A note for your care team",
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"class": "usa-textarea", "rows": 4}),
        help_text="For example, how you have been doing on this medication.",
        error_messages={"max_length": f"Shorten the note to {NOTE_MAX:,} characters or fewer."},
    )


class RenewalAnswerForm(forms.Form):
    answer = forms.ChoiceField(
        label="Your answer",
        choices=[("renewed", "Renewed"), ("needs_visit", "Needs a visit"), ("declined", "Declined")],
        widget=forms.RadioSelect(attrs={"class": "usa-radio__input"}),
        error_messages={"required": "Choose an answer: renewed, needs a visit, or declined."},
    )


class ShipForm(forms.Form):
    carrier = forms.CharField(
        label="Carrier", max_length=40, widget=forms.TextInput(attrs={"class": "usa-input"})
    )
    tracking_number = forms.CharField(
        label="Tracking number", max_length=60, widget=forms.TextInput(attrs={"class": "usa-input"})
    )
    shipped_on = DayField(
        label="Shipped on",
        what="the day it was shipped",
        error_messages={"required": "Enter the date it was shipped."},
    )


class RefuseForm(forms.Form):
    reason = forms.CharField(
        label="Reason (the patient reads it)",
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"class": "usa-textarea", "rows": 3}),
        error_messages={"required": "Enter the reason the patient will read."},
    )
