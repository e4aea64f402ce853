"""Calendar files (`.ics`) of a booking, made with `icalendar`.

The event's UID stays the same for the life of the visit (moves included) and SEQUENCE counts
its changes, so a calendar that imported the first file updates or removes that same event.
Times carry the clinic's zone (TZID, with its VTIMEZONE).

One file, whether it is attached to the booked, moved or cancelled e-mail or downloaded from
the booking's page: it says what the e-mail says and nothing more. The summary is
"Appointment", the location the hospital; never the clinic (a clinic such as "Behavioral
Health" says too much), the type, the reason or the provider. A calendar is a side channel as
an inbox is: shared with family or colleagues, synced to other services, shown on a locked
phone. The booking's page, behind sign-in, has the rest; the event links to it. The downloaded
file does not say more than the attached one because both are the same event (same UID): a
later e-mail's file would replace the richer words with fewer, and the calendar would change
under the patient for no reason.
"""

from __future__ import annotations

from email.utils import parseaddr
from functools import cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event, Timezone, vCalAddress

from portal.appointments.models import Appointment, TeamSchedule
from portal.appointments.slots import zone_of

CONTENT_TYPE = "text/calendar; method={method}; charset=utf-8"
END = b"END:VCALENDAR\r\n"  # how a written calendar ends


def method_of(*, cancelled: bool) -> str:
    return "CANCEL" if cancelled else "REQUEST"


def calendar_file(appointment: Appointment, schedule: TeamSchedule, *, cancelled: bool = False) -> bytes:
    zone = zone_of(schedule)
    hospital = appointment.care_team.clinic.hospital.name
    calendar = Calendar()
    calendar.add("prodid", "-//MHS Patient Portal//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method_of(cancelled=cancelled))
    event = Event()
    event.add("uid", f"{appointment.calendar_uid}@appointments.portal")
    event.add("sequence", appointment.sequence)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", appointment.starts_at.astimezone(zone))
    event.add("dtend", appointment.ends_at.astimezone(zone))
    event.add("summary", "Appointment")
    event.add("location", hospital)
    link = settings.PORTAL_BASE_URL + reverse("appointments:detail", args=[appointment.pk])
    said = f"Sign in to see the details or change it: {link}"
    if schedule.phone:
        said += f"\nAppointment line: {schedule.phone}"
    event.add("description", said)
    event.add("url", link)
    # iTIP (RFC 5546) wants an ORGANIZER on a REQUEST and a CANCEL: the hospital, at the
    # portal's sending address (no attendee is named, so no reply is asked for).
    organizer = vCalAddress(f"mailto:{parseaddr(settings.DEFAULT_FROM_EMAIL)[1]}")
    organizer.params["cn"] = hospital
    event.add("organizer", organizer)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    calendar.add_component(event)
    # The zone's VTIMEZONE after the event, as `add_component` would place it: the same bytes.
    written = calendar.to_ical()
    return written[: -len(END)] + _vtimezone(zone.key) + END


@cache
def _vtimezone(tzid: str) -> bytes:
    """The zone's VTIMEZONE as `icalendar` writes it (its rules from 1970 to 2038, as
    `add_missing_timezones` makes them), made and written once per process: its hundred-odd
    dates took twenty times as long to make, then four times as long to write, as the rest."""
    return Timezone.from_tzinfo(ZoneInfo(tzid), tzid).to_ical()
