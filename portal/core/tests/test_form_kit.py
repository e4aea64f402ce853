"""The forms kit every form page shares: the error summary and the show-password button.

"There is a problem" sits above every form with errors, one link per error to its field
(`#id_<name>`; the first radio of a group), the errors that belong to no field listed too.
A test reads every template so a new form page cannot forget it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django import forms
from django.template import Context, Template
from django.test import Client

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
RENDERS_ERRORS = re.compile(r"\.errors\b|{%\s*field\s")
INCLUDES = re.compile(r"""{%\s*include\s+["']([^"']+)["']""")


def _templates() -> dict[str, str]:
    return {str(p.relative_to(TEMPLATES)): p.read_text() for p in TEMPLATES.rglob("*.html")}


def test_every_form_page_that_shows_field_errors_has_the_error_summary() -> None:
    """A page renders field errors itself (`.errors`, `{% field %}`) or through a partial it
    includes (the date of birth, a day of a range); every such page calls `{% error_summary %}`."""
    templates = _templates()
    erring = {name for name, text in templates.items() if RENDERS_ERRORS.search(text)}
    changed = True
    while changed:  # a page that includes a partial that shows errors shows errors too
        before = len(erring)
        erring |= {
            name for name, text in templates.items() if any(i in erring for i in INCLUDES.findall(text))
        }
        changed = len(erring) != before
    pages = {name for name in erring if "{% extends" in templates[name]}
    assert {"accounts/sign_in.html", "messaging/compose.html", "records/download.html"} <= pages
    assert "admin/portal/task.html" in pages  # the console's task pages use portal templates too
    missing = sorted(name for name in pages if "{% error_summary" not in templates[name])
    assert missing == []


class Sample(forms.Form):
    name = forms.CharField(error_messages={"required": "Enter your name."})
    colour = forms.ChoiceField(
        choices=[("red", "Red"), ("blue", "Blue")],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose a colour."},
    )
    token = forms.CharField(widget=forms.HiddenInput, error_messages={"required": "Start again."})

    def clean(self) -> dict[str, Any]:
        self.add_error(None, "The form as a whole has a problem.")
        return super().clean() or {}


def summary_of(*forms_: forms.Form) -> str:
    template = Template("{% load portal %}{% error_summary a b %}")
    return template.render(Context({"a": forms_[0], "b": forms_[1] if len(forms_) > 1 else None}))


def test_summary_links_each_error_to_its_field() -> None:
    form = Sample(data={})
    html = summary_of(form)
    assert 'role="alert" tabindex="-1"' in html
    assert "There is a problem" in html
    assert '<a href="#id_name">Enter your name.</a>' in html
    assert '<a href="#id_colour_0">Choose a colour.</a>' in html
    assert "<li>The form as a whole has a problem.</li>" in html
    assert "<li>Start again.</li>" in html  # a hidden field has nothing to focus


def test_summary_covers_several_forms_and_uses_their_prefixes() -> None:
    html = summary_of(Sample(data={}, prefix="reply"), Sample(data={}, prefix="note"))
    assert '<a href="#id_reply-name">' in html and '<a href="#id_note-name">' in html


def test_no_summary_without_errors() -> None:
    assert "There is a problem" not in summary_of(Sample())
    valid = forms.Form(data={})
    assert "There is a problem" not in summary_of(valid)  # type: ignore[arg-type]


def test_sign_in_with_nothing_typed_lists_both_fields_at_the_top(client: Client, db: Any) -> None:
    page = client.post("/account/sign-in/", {"username": "", "password": ""}).content.decode()
    summary = page.split("data-error-summary>", 1)[1].split("</ul>", 1)[0]
    assert '<a href="#id_username">Enter your username.</a>' in summary
    assert '<a href="#id_password">Enter your password.</a>' in summary
    assert page.index("data-error-summary") < page.index('<form class="usa-form')


def test_every_password_field_has_a_show_password_button(client: Client, db: Any) -> None:
    page = client.get("/account/sign-in/").content.decode()
    button = re.search(r"<button[^>]*data-show-password[^>]*>Show password</button>", page)
    assert button is not None
    assert 'aria-controls="id_password"' in button.group(0)
    assert 'aria-pressed="false"' in button.group(0)
    assert 'type="button"' in button.group(0)
    assert "Show password" not in client.get("/help/").content.decode()


def test_base_pages_load_the_forms_script(client: Client, db: Any) -> None:
    page = client.get("/account/sign-in/").content.decode()
    assert "/static/portal/js/forms.js" in page
