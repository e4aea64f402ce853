"""The reason every help-desk task of the operator console asks for."""

from __future__ import annotations

from django import forms

from portal.core.console import REASON_REQUIRED, ConsoleReason


class ConsoleReasonForm(forms.Form):
    reason = forms.ChoiceField(
        label="Reason",
        choices=[("", "Choose the reason"), *ConsoleReason.choices],
        help_text="Recorded in the audit log with what you do, your name and the time.",
        error_messages={"required": REASON_REQUIRED, "invalid_choice": REASON_REQUIRED},
    )

    def full_clean(self) -> None:
        super().full_clean()
        # A screen reader hears the error with the field, not only somewhere above it.
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs.update(
                    {"aria-invalid": "true", "aria-describedby": f"id_{name}_error id_{name}_helptext"}
                )
