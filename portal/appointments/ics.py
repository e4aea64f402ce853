"""Calendar files (`.ics`) of a booking, made with `icalendar`.

The event's UID stays the same for the life of the visit (moves included) and SEQUENCE counts
its changes, so a calendar that imported the first file updates or removes that same event.
Times carry the clinic's zone (TZID, with its VTIMEZONE). The summary names the clinic only.
"""

from __future__ import annotations

from django.utils import timezone
from icalendar import Calendar, Event

from portal.appointments.models import Appointment, TeamSchedule
from portal.appointments.slots import zone_of


def calendar_file(appointment: Appointment, schedule: TeamSchedule, *, cancelled: bool = False) -> bytes:
    zone = zone_of(schedule)
    clinic = appointment.care_team.clinic.name
    calendar = Calendar()
    calendar.add("prodid", "-//MHS Patient Portal//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = Event()
    event.add("uid", f"{appointment.calendar_uid}@appointments.portal")
    event.add("sequence", appointment.sequence)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", appointment.starts_at.astimezone(zone))
    event.add("dtend", appointment.ends_at.astimezone(zone))
    event.add("summary", f"Appointment: {clinic}")
    if schedule.address:
        event.add("location", schedule.address)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
