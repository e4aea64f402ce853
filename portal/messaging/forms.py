from __future__ import annotations

import uuid
from typing import Any

from django import forms

from portal.clinics.models import CareTeam, StaffMember
from portal.core import widgets
from portal.core.days import DayField
from portal.messaging.models import Category, NotificationPreference
from portal.messaging.rules import (
    BODY_MAX,
    FIRST_NAME,
    QUICK_TEXT_MAX,
    QUICK_TEXT_TITLE_MAX,
    SUBJECT_MAX,
)

CHOOSE = [("", "- Select -")]


class ComposeForm(forms.Form):
    care_team = forms.TypedChoiceField(
        label="To",
        coerce=int,
        help_text="Your care teams, the one you wrote to last first.",
        error_messages={
            "required": "Choose the care team to write to.",
            "invalid_choice": "Choose one of your care teams.",
        },
    )
    category = forms.ChoiceField(
        label="Category",
        choices=CHOOSE + list(Category.choices),
        error_messages={
            "required": "Choose what the message is about.",
            "invalid_choice": "Choose a category from the list.",
        },
    )
    subject = forms.CharField(
        label="Subject",
        max_length=SUBJECT_MAX,
        error_messages={
            "required": "Enter a subject.",
            "max_length": f"Shorten the subject to {SUBJECT_MAX} characters or fewer.",
        },
    )
    body = forms.CharField(
        label="Message",
        max_length=BODY_MAX,
        widget=widgets.Textarea(attrs={"class": "usa-textarea", "rows": 10}),
        help_text=f"Up to {BODY_MAX:,} characters.",
        error_messages={
            "required": "Enter your message.",
            "max_length": f"Shorten the message to {BODY_MAX:,} characters or fewer.",
        },
    )
    send_token = forms.UUIDField(widget=widgets.HiddenInput)
    # What the conversation is about (`lab_report:42`, see `portal.core.about`): ids only.
    about = forms.CharField(required=False, max_length=60, widget=widgets.HiddenInput)

    def __init__(self, *args: Any, teams: list[CareTeam], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.offer(teams)
        self.fields["category"].widget.attrs["class"] = "usa-select"
        self.fields["care_team"].widget.attrs["class"] = "usa-select"
        self.fields["subject"].widget.attrs.update({"class": "usa-input"})

    def offer(self, teams: list[CareTeam]) -> None:
        """The teams to choose from. A posted form is checked against the team it names alone
        (the patient's, or none) and shown again with all of them; its errors stay."""
        field = self.fields["care_team"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = CHOOSE + [(team.pk, f"{team.name}, {team.clinic.name}") for team in teams]

    @staticmethod
    def posted_team_id(data: Any) -> int | None:
        """The team id as posted, if it is a number at all (whose team it is, the door says)."""
        raw = str(data.get("care_team", ""))
        return int(raw) if raw.isdigit() else None


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Your reply",
        max_length=BODY_MAX,
        widget=widgets.Textarea(attrs={"class": "usa-textarea", "rows": 6}),
        error_messages={
            "required": "Enter your reply.",
            "max_length": f"Shorten the reply to {BODY_MAX:,} characters or fewer.",
        },
    )
    send_token = forms.UUIDField(widget=widgets.HiddenInput)


class StaffReplyForm(ReplyForm):
    sign = forms.BooleanField(label="Add my saved signature", required=False)


class SignatureForm(forms.Form):
    signature = forms.CharField(
        label="Signature for replies",
        required=False,
        max_length=500,
        help_text="For example your name, role and clinic phone. Leave empty to have none.",
        widget=widgets.Textarea(attrs={"class": "usa-textarea", "rows": 3}),
        error_messages={"max_length": "Shorten the signature to 500 characters or fewer."},
    )


class NoteForm(forms.Form):
    note = forms.CharField(
        label="Internal note",
        help_text="For your care team: the patient never sees it.",
        widget=widgets.Textarea(attrs={"class": "usa-textarea", "rows": 3}),
        error_messages={"required": "Enter the note."},
    )


class AssignForm(forms.Form):
    assignee = forms.TypedChoiceField(label="Assign to", coerce=int)

    def __init__(self, *args: Any, members: list[StaffMember], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(m.pk, m.display_name) for m in members]
        field.widget.attrs["class"] = "usa-select"


class ReassignForm(forms.Form):
    team = forms.TypedChoiceField(label="Move to another team of this clinic", coerce=int)

    def __init__(self, *args: Any, teams: list[CareTeam], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["team"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(t.pk, t.name) for t in teams]
        field.widget.attrs["class"] = "usa-select"


class FolderForm(forms.Form):
    name = forms.CharField(
        label="Folder name",
        max_length=50,
        help_text="Up to 50 letters, digits and spaces.",
        error_messages={
            "required": "Enter a name for the folder.",
            "max_length": "Use 50 characters or fewer.",
        },
        widget=forms.TextInput(attrs={"class": "usa-input"}),
    )


PERIODS = [
    ("", "Any time"),
    ("3", "Last 3 months"),
    ("6", "Last 6 months"),
    ("12", "Last 12 months"),
    ("custom", "Dates I choose"),
]


class SearchForm(forms.Form):
    words = forms.CharField(label="Words in the subject or message", required=False, max_length=200)
    team = forms.TypedChoiceField(label="Care team", coerce=int, required=False, empty_value=None)
    category = forms.ChoiceField(
        label="Category", choices=[("", "Any category"), *Category.choices], required=False
    )
    period = forms.ChoiceField(label="Sent", choices=PERIODS, required=False)
    since = DayField(label="From (custom dates)", required=False, what="the first day")
    until = DayField(label="To (custom dates)", required=False, what="the last day")

    def __init__(self, *args: Any, teams: list[CareTeam], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["team"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "Any team")] + [(t.pk, t.name) for t in teams]
        for name in ("team", "category", "period"):
            self.fields[name].widget.attrs["class"] = "usa-select"
        self.fields["words"].widget.attrs["class"] = "usa-input"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end date must be on or after the start date.")
        return data


class NotificationForm(forms.Form):
    frequency = forms.ChoiceField(
        label="E-mail me about new messages",
        choices=NotificationPreference.Frequency.choices,
        widget=forms.RadioSelect,
    )


class StaffNotificationForm(NotificationForm):
    frequency = forms.ChoiceField(
        label="E-mail me when a patient writes to one of my care teams",
        choices=NotificationPreference.Frequency.choices,
        widget=forms.RadioSelect,
    )
    assignments = forms.BooleanField(
        label="E-mail me when a colleague assigns a conversation to me",
        required=False,
    )


class QuickTextForm(forms.Form):
    title = forms.CharField(
        label="Title",
        max_length=QUICK_TEXT_TITLE_MAX,
        help_text="What your team sees in the list, for example: Lab results normal.",
        widget=forms.TextInput(attrs={"class": "usa-input"}),
        error_messages={
            "required": "Enter a title, so your team can tell the quick texts apart.",
            "max_length": f"Shorten the title to {QUICK_TEXT_TITLE_MAX} characters or fewer.",
        },
    )
    text = forms.CharField(
        label="Text",
        max_length=QUICK_TEXT_MAX,
        help_text=(
            f"Up to {QUICK_TEXT_MAX:,} characters. Write {FIRST_NAME} where the patient's first name goes: "
            "it is filled in when the text is put into a reply. Do not write anything about a patient here."
        ),
        widget=widgets.Textarea(attrs={"class": "usa-textarea", "rows": 6}),
        error_messages={
            "required": "Enter the text to put into replies.",
            "max_length": f"Shorten the text to {QUICK_TEXT_MAX:,} characters or fewer.",
        },
    )


def new_token() -> uuid.UUID:
    return uuid.uuid4()
