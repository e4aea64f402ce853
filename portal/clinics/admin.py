"""Operator console pages for who is who: hospitals, clinics, teams, staff, patients."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

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
from portal.core.admin import portal_admin_site


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


class ClinicInline(OperatorPermissions, admin.TabularInline[Clinic, Hospital]):
    model = Clinic
    extra = 0


@admin.register(Hospital, site=portal_admin_site)
class HospitalAdmin(OperatorPermissions, admin.ModelAdmin[Hospital]):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]
    inlines = [ClinicInline]


@admin.register(Clinic, site=portal_admin_site)
class ClinicAdmin(OperatorPermissions, admin.ModelAdmin[Clinic]):
    list_display = ["name", "hospital"]
    list_filter = ["hospital"]


class MembershipInline(OperatorPermissions, admin.TabularInline[TeamMembership, StaffMember]):
    model = TeamMembership
    extra = 1
    autocomplete_fields = ["care_team"]


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


@admin.register(StaffMember, site=portal_admin_site)
class StaffMemberAdmin(OperatorPermissions, admin.ModelAdmin[StaffMember]):
    list_display = ["last_name", "first_name", "role", "user"]
    list_filter = ["role"]
    search_fields = ["last_name", "first_name", "user__username"]
    inlines = [MembershipInline]
    raw_id_fields = ["user"]


class PatientTeamInline(OperatorPermissions, admin.TabularInline[PatientCareTeam, Patient]):
    model = PatientCareTeam
    extra = 1
    autocomplete_fields = ["care_team"]


@admin.register(Patient, site=portal_admin_site)
class PatientAdmin(OperatorPermissions, admin.ModelAdmin[Patient]):
    # Operators manage who may message which team; they see no clinical content here.
    list_display = ["last_name", "first_name", "dod_id", "user"]
    search_fields = ["last_name", "dod_id"]
    raw_id_fields = ["user"]
    inlines = [PatientTeamInline]
