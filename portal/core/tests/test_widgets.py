"""The widgets written out in Python give exactly the markup of Django's own templates."""

from __future__ import annotations

import uuid

import pytest
from django import forms

from portal.core import widgets

HOSTILE = '</textarea><script>alert("x")</script> & "quotes"'


class Django(forms.Form):
    body = forms.CharField(
        max_length=10, help_text="Hint", widget=forms.Textarea(attrs={"class": "usa-textarea"})
    )
    token = forms.UUIDField(widget=forms.HiddenInput)
    optional = forms.CharField(required=False, widget=forms.Textarea)


class Ours(forms.Form):
    body = forms.CharField(
        max_length=10, help_text="Hint", widget=widgets.Textarea(attrs={"class": "usa-textarea"})
    )
    token = forms.UUIDField(widget=widgets.HiddenInput)
    optional = forms.CharField(required=False, widget=widgets.Textarea)


@pytest.mark.parametrize(
    "data",
    [
        None,  # an empty form, as a thread page first shows it
        {"body": HOSTILE, "token": str(uuid.UUID(int=7)), "optional": ""},  # posted back, too long
        {"body": "", "token": "not a token", "optional": "  kept  "},
    ],
)
def test_same_markup_as_django(data: dict[str, str] | None) -> None:
    theirs, ours = (
        Django(data, initial={"token": uuid.UUID(int=1)}),
        Ours(data, initial={"token": uuid.UUID(int=1)}),
    )
    if data is not None:
        assert not theirs.is_valid() and not ours.is_valid()
    for name in ("body", "token", "optional"):
        extra = {"aria-describedby": "id_body-hint id_body-error", "aria-invalid": "true", "required": True}
        for attrs in (None, extra, {"required": False, "data-x": 3}):
            assert str(ours[name].as_widget(attrs=attrs)) == str(theirs[name].as_widget(attrs=attrs))


def test_what_is_typed_stays_inert() -> None:
    html = str(Ours({"body": HOSTILE, "token": "t"})["body"])
    assert "<script>" not in html and "&lt;/textarea&gt;&lt;script&gt;" in html
