"""The doors to medications' objects: the only code that turns an id from a request into one.

Each fails closed with the same audited 404 as for an id that does not exist. A patient's
prescriptions and requests are reached through the patient door (`patients_visible_to`:
the patient, and the staff of their care teams); a renewal is answered by its care team
only, and only while the patient is one of theirs (the patient door too); a pharmacy's
queue and its requests are open to the staff who work at that pharmacy now only.
"""

from __future__ import annotations

from django.db.models import QuerySet

from portal.accounts.models import User
from portal.clinics.access import patients_visible_to, teams_of
from portal.core.acting import refuse
from portal.medications.models import Pharmacy, Prescription, RefillRequest, RenewalRequest


def access_prescription(user: User, prescription_id: int, *, lock: bool = False) -> Prescription:
    query = Prescription.objects.filter(pk=prescription_id, patient__in=patients_visible_to(user))
    found = (query.select_for_update() if lock else query).select_related("pharmacy").first()
    if found is None:
        raise refuse(user, "prescription", prescription_id)
    return found


def access_refill_request(user: User, request_id: int) -> RefillRequest:
    query = RefillRequest.objects.filter(pk=request_id, patient__in=patients_visible_to(user))
    found = query.select_related("prescription", "pharmacy").first()
    if found is None:
        raise refuse(user, "refill_request", request_id)
    return found


def access_renewal(user: User, renewal_id: int) -> RenewalRequest:
    """A renewal request, for its patient or a member of the care team it went to, built on the
    patient door: staff reach it only while the patient is one they may see now (on one of
    their teams), so a patient who left the team is out of reach as their other data is."""
    query = RenewalRequest.objects.filter(pk=renewal_id, patient__in=patients_visible_to(user))
    if user.is_authenticated and user.is_staff_member:
        query = query.filter(care_team__in=teams_of(user))
    found = query.select_related("prescription", "care_team", "patient").first()
    if found is None:
        raise refuse(user, "renewal_request", renewal_id)
    return found


def pharmacies_of(user: User) -> QuerySet[Pharmacy]:
    """The pharmacies `user` works at now (none for anyone who is not active staff)."""
    if not (user.is_authenticated and user.is_active and user.is_staff_member):
        return Pharmacy.objects.none()
    return Pharmacy.objects.filter(staff_links__staff_member__user=user)


def access_pharmacy(user: User, pharmacy_id: int) -> Pharmacy:
    found = pharmacies_of(user).filter(pk=pharmacy_id).first()
    if found is None:
        raise refuse(user, "pharmacy", pharmacy_id)
    return found


def access_queue_request(user: User, request_id: int, *, lock: bool = False) -> RefillRequest:
    """A refill request in the queue of a pharmacy `user` works at."""
    query = RefillRequest.objects.filter(pk=request_id, pharmacy__in=pharmacies_of(user))
    if lock:
        query = query.select_for_update(of=("self",))
    found = query.select_related("prescription", "pharmacy", "patient").first()
    if found is None:
        raise refuse(user, "refill_request", request_id)
    return found
