"""Appointments' periodic jobs, found by `portal.core.jobs.autodiscover`."""

from __future__ import annotations

from portal.appointments.actions import offer_to_the_next
from portal.appointments.reminders import send_due_reminders
from portal.appointments.slots import make_slots_for_every_team
from portal.core import jobs

jobs.register("appointments.slots", jobs.every(minutes=60), make_slots_for_every_team)
jobs.register("appointments.reminders", jobs.every(minutes=5), send_due_reminders)
jobs.register("appointments.waitlist", jobs.every(minutes=1), offer_to_the_next)
