"""Operator console pages for who is who: hospitals, clinics, teams, staff, patients.

Who may see whom (team memberships, a patient's care teams, staff roles, the link
from a patient's record to an account) changes only through the actions in
`portal.clinics.actions`, each with a reason code and its audit event; the forms
here ask for the reason and the admin's save hooks call the actions. Identity
from the EHR is read-only here.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from portal.clinics import actions
from portal.clinics.actions import ChangeReason
from portal.clinics.models import (
    CareTeam,
    Clinic,
    Hospital,
    Patient,
    PatientCareTeam,
    StaffMember,
    TeamMembership,
)
from portal.clinics.open_work import open_work_of
from portal.clinics.selectors import care_teams_for_console, patient_for_console
from portal.core.acting import Actor, Refused, actor_of
from portal.core.admin import portal_admin_site
from portal.core.console_views import before_id, reasoned_reading

REASON_CHOICES = [("", "Choose the reason"), *ChangeReason.choices]


def reason_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label="Reason for this change",
        choices=REASON_CHOICES,
        help_text="Recorded in the audit log with the change.",
        error_messages={"required": "Choose the reason for this change."},
    )


class ActingUserMixin:
    """Hands the signed-in administrator to the form and its inline formsets, so they can
    refuse a change an administrator may not make to their own access."""

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)  # type: ignore[misc]
        return type(form.__name__, (form,), {"acting_user": request.user})


class ActingUserInline:
    """The same, for an inline's formset."""

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)  # type: ignore[misc]
        return type(formset.__name__, (formset,), {"acting_user": request.user})


def _reason_of(form: forms.BaseForm) -> str:
    return str(form.cleaned_data.get("change_reason", ""))


class OperatorPermissions:
    """In the operator console a verified administrator may do what the page offers;
    the console's own door (PortalAdminSite.has_permission) is the only rule."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return portal_admin_site.has_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return portal_admin_site.has_permission(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return portal_admin_site.has_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return portal_admin_site.has_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Records are never deleted from the console: deactivate them instead.
        return False


class LinkDeletable:
    """Memberships and a patient's care teams are links, not records: they may be removed."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return portal_admin_site.has_permission(request)


class CareTeamChoice:
    """A care team chosen from a plain, labelled list ("Team Blue, Family Health, Fort Test
    Medical Center"): a name alone is ambiguous across clinics, and the autocomplete box the
    admin offers instead has no accessible name."""

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name != "care_team":
            return super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]
        kwargs["queryset"] = care_teams_for_console()
        field = super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]
        field.label_from_instance = care_team_label
        field.empty_label = "Choose a care team"
        # A membership names an existing team: no pop-ups to add or change teams from here.
        field.widget = getattr(field.widget, "widget", field.widget)
        return field


def care_team_label(team: CareTeam) -> str:
    off = "" if team.is_active else " (switched off)"
    return f"{team.name}, {team.clinic.name}, {team.clinic.hospital.name}{off}"


# Stacked, not tabular, inlines: each field has its own label (a table's column heading is no
# label to a screen reader), and they fit a phone.
class ClinicInline(OperatorPermissions, admin.StackedInline[Clinic, Hospital]):
    model = Clinic
    extra = 0

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("hospital")


@admin.register(Hospital, site=portal_admin_site)
class HospitalAdmin(OperatorPermissions, admin.ModelAdmin[Hospital]):
    list_display = ["name", "code", "time_zone"]
    search_fields = ["name", "code"]
    inlines = [ClinicInline]


@admin.register(Clinic, site=portal_admin_site)
class ClinicAdmin(OperatorPermissions, admin.ModelAdmin[Clinic]):
    list_display = ["name", "hospital"]
    list_filter = ["hospital"]


class MembershipFormSet(BaseInlineFormSet[TeamMembership, StaffMember, forms.ModelForm[TeamMembership]]):
    acting_user: Any = None

    def clean(self) -> None:
        super().clean()
        adds = [f for f in self.forms if f.has_changed() and not getattr(f, "cleaned_data", {}).get("DELETE")]
        if (
            adds
            and self.instance.user_id is not None
            and self.instance.user_id == getattr(self.acting_user, "pk", None)
        ):
            raise ValidationError(actions.SELF_MEMBERSHIP)


class MembershipInline(
    ActingUserInline,
    CareTeamChoice,
    LinkDeletable,
    OperatorPermissions,
    admin.StackedInline[TeamMembership, StaffMember],
):
    model = TeamMembership
    formset = MembershipFormSet
    extra = 1
    fields = ["care_team"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("staff_member", "care_team")


class CareTeamForm(forms.ModelForm[CareTeam]):
    class Meta:
        model = CareTeam
        fields = ["clinic", "name", "is_active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk and self.instance.is_active and data.get("is_active") is False:
            # Nobody can open a switched-off team's work: none may be left waiting.
            reasons = open_work_of(self.instance)
            if reasons:
                raise forms.ValidationError(reasons)
        return data


@admin.register(CareTeam, site=portal_admin_site)
class CareTeamAdmin(OperatorPermissions, admin.ModelAdmin[CareTeam]):
    form = CareTeamForm
    list_display = ["name", "clinic", "is_active"]
    list_filter = ["clinic", "is_active"]
    search_fields = ["name"]


class StaffMemberForm(forms.ModelForm[StaffMember]):
    acting_user: Any = None
    change_reason = reason_field()

    class Meta:
        model = StaffMember
        fields = ["user", "first_name", "last_name", "role", "npi"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        account = data.get("user") or (self.instance.user if self.instance.user_id else None)
        role = data.get("role")
        gives_role = self.instance.pk is None or role != self.initial.get("role")
        mine = account is not None and account.pk == getattr(self.acting_user, "pk", None)
        if mine and gives_role and role not in actions.NON_CLINICAL_ROLES:
            self.add_error("role", actions.SELF_ROLE)
        return data


class ReasonedSaves:
    """Saves of the record and its inline links go through the actions, with the form's reason."""

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        by, reason = actor_of(request), _reason_of(form)
        for inline_form in formset.forms:
            obj = inline_form.instance
            if inline_form in formset.deleted_forms:
                if obj.pk is not None:
                    self._remove_link(by, obj, reason)
            elif inline_form.has_changed() and inline_form.is_valid():
                if obj.pk is not None:  # a changed link is the old one removed and a new one added
                    old = type(obj).objects.get(pk=obj.pk)
                    self._remove_link(by, old, reason)
                self._add_link(by, form.instance, inline_form.cleaned_data, reason)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def _add_link(self, by: Actor, parent: Model, data: dict[str, Any], reason: str) -> None:
        raise NotImplementedError

    def _remove_link(self, by: Actor, link: Model, reason: str) -> None:
        raise NotImplementedError


@admin.register(StaffMember, site=portal_admin_site)
class StaffMemberAdmin(ActingUserMixin, ReasonedSaves, OperatorPermissions, admin.ModelAdmin[StaffMember]):
    form = StaffMemberForm
    list_display = ["last_name", "first_name", "role", "npi", "user"]
    list_filter = ["role"]
    search_fields = ["last_name", "first_name", "user__username", "npi"]
    inlines = [MembershipInline]
    raw_id_fields = ["user"]

    def save_model(self, request: HttpRequest, obj: StaffMember, form: Any, change: bool) -> None:
        role_before = form.initial.get("role") if change else None
        npi_before = form.initial.get("npi") if change else None
        actions.check_save_staff_member(
            by=actor_of(request),
            staff_member=obj,
            role_before=role_before,
            reason=_reason_of(form),
            npi_before=npi_before,
        )

    def _add_link(self, by: Actor, parent: Model, data: dict[str, Any], reason: str) -> None:
        assert isinstance(parent, StaffMember)  # noqa: S101
        actions.check_add_membership(by=by, staff_member=parent, care_team=data["care_team"], reason=reason)

    def _remove_link(self, by: Actor, link: Model, reason: str) -> None:
        assert isinstance(link, TeamMembership)  # noqa: S101
        actions.check_remove_membership(by=by, membership=link, reason=reason)


class PatientTeamInline(
    CareTeamChoice, LinkDeletable, OperatorPermissions, admin.StackedInline[PatientCareTeam, Patient]
):
    model = PatientCareTeam
    extra = 1
    fields = ["care_team"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("patient", "care_team")


class PatientForm(forms.ModelForm[Patient]):
    change_reason = reason_field()

    class Meta:
        model = Patient
        fields = ["email", "mobile_phone"]


class LinkAccountForm(forms.Form):
    username = forms.CharField(label="Username of the patient's account", max_length=150)
    change_reason = reason_field()


class UnlinkAccountForm(forms.Form):
    change_reason = reason_field()


@admin.register(Patient, site=portal_admin_site)
class PatientAdmin(ActingUserMixin, ReasonedSaves, OperatorPermissions, admin.ModelAdmin[Patient]):
    # Operators manage who may message which team; they see no clinical content here.
    # Identity is the EHR's, and the account link changes only through its own audited pages.
    form = PatientForm
    list_display = ["last_name", "first_name", "dod_id", "user"]
    search_fields = ["last_name", "dod_id"]
    readonly_fields = ["dod_id", "first_name", "middle_name", "last_name", "birth_date", "account"]
    fields = [*readonly_fields, "email", "mobile_phone", "change_reason"]
    inlines = [PatientTeamInline]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # records come from the EHR import

    @admin.display(description="Account")
    def account(self, obj: Patient) -> str:
        if obj.user_id is None:
            link = reverse("operator:clinics_patient_link", args=[obj.pk])
            return format_html('None. <a href="{}">Link an account</a>', link)
        account = reverse("operator:accounts_user_change", args=[obj.user_id])
        link = reverse("operator:clinics_patient_unlink", args=[obj.pk])
        return format_html('<a href="{}">{}</a> (<a href="{}">Unlink</a>)', account, obj.user, link)

    def save_model(self, request: HttpRequest, obj: Patient, form: Any, change: bool) -> None:
        obj.save(update_fields=["email", "mobile_phone"])

    def _add_link(self, by: Actor, parent: Model, data: dict[str, Any], reason: str) -> None:
        assert isinstance(parent, Patient)  # noqa: S101
        actions.check_add_patient_team(by=by, patient=parent, care_team=data["care_team"], reason=reason)

    def _remove_link(self, by: Actor, link: Model, reason: str) -> None:
        assert isinstance(link, PatientCareTeam)  # noqa: S101
        actions.check_remove_patient_team(by=by, link=link, reason=reason)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:patient_id>/link-account/", wrap(self.link_account), name="clinics_patient_link"),
            path(
                "<int:patient_id>/unlink-account/", wrap(self.unlink_account), name="clinics_patient_unlink"
            ),
            path("<int:patient_id>/who-looked/", wrap(self.who_looked), name="clinics_patient_access"),
            *super().get_urls(),
        ]

    def link_account(self, request: HttpRequest, patient_id: int) -> HttpResponse:
        return self._account_page(request, patient_id, LinkAccountForm, "Link an account to this record")

    def unlink_account(self, request: HttpRequest, patient_id: int) -> HttpResponse:
        return self._account_page(request, patient_id, UnlinkAccountForm, "Unlink this record's account")

    def _account_page(
        self, request: HttpRequest, patient_id: int, form_class: type[forms.Form], title: str
    ) -> HttpResponse:
        patient = get_object_or_404(Patient, pk=patient_id)
        form = form_class(request.POST or None)
        if request.method == "POST" and form.is_valid():
            by, reason = actor_of(request), form.cleaned_data["change_reason"]
            try:
                if "username" in form.cleaned_data:
                    actions.check_link_patient_account(
                        by=by, patient=patient, username=form.cleaned_data["username"], reason=reason
                    )
                else:
                    actions.check_unlink_patient_account(by=by, patient=patient, reason=reason)
            except Refused as refused:
                form.add_error(refused.field if refused.field in form.fields else None, refused.message)
            else:
                messages.success(request, "Done. The change is in the audit log.")
                return HttpResponseRedirect(reverse("operator:clinics_patient_change", args=[patient.pk]))
        context = {**self.admin_site.each_context(request), "title": title, "form": form, "patient": patient}
        return render(
            request, "clinics/admin/patient_account.html", context, status=400 if form.errors else 200
        )

    def who_looked(self, request: HttpRequest, patient_id: int) -> HttpResponse:
        """Who looked at or changed this patient's data (`manage.py audit_show --patient`)."""
        patient = patient_for_console(patient_id)
        older_than = before_id(request)

        def read(by: Actor, reason: str) -> dict[str, Any]:
            rows = actions.check_read_record_access(
                by=by, patient=patient, reason=reason, before_id=older_than
            )
            more = len(rows) > actions.RECORD_ACCESS_PAGE
            rows = rows[: actions.RECORD_ACCESS_PAGE]
            return {"rows": rows, "older": rows[-1].event_id if more else None}

        return reasoned_reading(
            request,
            read=read,
            template="admin/portal/record_access.html",
            title=f"Who looked at the record of {patient.display_name}",
            crumbs=[
                ("Patient records", reverse("operator:clinics_patient_changelist")),
                (str(patient), reverse("operator:clinics_patient_change", args=[patient.pk])),
            ],
            intro=[
                "Every view and change of this patient's data, newest first: who, what, when and from "
                "where, as the audit log has it. What was in a message or a record is not shown; "
                "reading this list is itself recorded for the patient.",
            ],
            button="Show who looked",
            patient=patient,
        )
