from __future__ import annotations

from datetime import date

from django import forms

from portal.appointments.actions import REASON_MAX, day_out_of_range
from portal.appointments.models import Mode
from portal.core.days import DayField

PARTS = [("morning", "Morning"), ("afternoon", "Afternoon")]
WEEKDAYS = [
    ("0", "Monday"),
    ("1", "Tuesday"),
    ("2", "Wednesday"),
    ("3", "Thursday"),
    ("4", "Friday"),
    ("5", "Saturday"),
    ("6", "Sunday"),
]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason for the visit (optional)",
        required=False,
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": REASON_MAX, "data-count": REASON_MAX}),
        error_messages={"max_length": f"Say it in {REASON_MAX} characters or fewer."},
    )


class RequestForm(ReasonForm):
    day_1 = DayField(
        what="your first choice of day",
        label="First choice of day",
        required=True,
        error_messages={"required": "Give at least one day, for example: 04/28/2027."},
    )
    part_1 = forms.ChoiceField(label="Part of the day", choices=PARTS)
    day_2 = DayField(what="your second choice of day", label="Second choice (optional)", required=False)
    part_2 = forms.ChoiceField(label="Part of the day", choices=PARTS, required=False)
    day_3 = DayField(what="your third choice of day", label="Third choice (optional)", required=False)
    part_3 = forms.ChoiceField(label="Part of the day", choices=PARTS, required=False)


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label="Why (the patient reads this)", max_length=REASON_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )


class TemplateForm(forms.Form):
    appointment_type = forms.TypedChoiceField(label="Appointment type", coerce=int)
    weekdays = forms.MultipleChoiceField(
        label="Weekdays",
        choices=WEEKDAYS,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one weekday."},
    )
    starts_at = forms.TimeField(
        label="From",
        widget=forms.TimeInput(attrs={"type": "time"}),
        error_messages={"invalid": "Write the time as HH:MM."},
    )
    ends_at = forms.TimeField(
        label="Until",
        widget=forms.TimeInput(attrs={"type": "time"}),
        error_messages={"invalid": "Write the time as HH:MM."},
    )
    slot_minutes = forms.IntegerField(label="Slot length (minutes)", min_value=5, max_value=240, initial=20)
    mode = forms.ChoiceField(label="How", choices=Mode.choices)
    provider = forms.TypedChoiceField(
        label="Who sees the patients",
        coerce=int,
        empty_value=None,
        required=False,
        help_text="Patients see the provider's name on the times and on their booking.",
        error_messages={"invalid_choice": "Choose one of this team's providers, or any of the team."},
    )


class BlockDayForm(forms.Form):
    day = DayField(
        what="the day to close",
        label="Day to close",
        error_messages={"required": "Give the day to close."},
    )
    label = forms.CharField(
        label="Why (for staff: holiday, training)",
        max_length=100,
        required=False,
        error_messages={"max_length": "Say it in 100 characters or fewer."},
    )

    def clean_day(self) -> date:
        day: date = self.cleaned_data["day"]
        error = day_out_of_range(day)
        if error:
            raise forms.ValidationError(error)
        return day
