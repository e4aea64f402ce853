"""What secure messaging puts on a staff member's work queue (`portal.clinics.work_queue`).

Per care team: conversations waiting for an answer, overdue, and assigned to them,
each a link to the team's pool filtered that way; across their teams, the
conversations assigned to them (answered ones too, until completed); and the
conversations colleagues assigned to them that they have not opened since. The
counts name nobody; the new assignments name the patient and the subject, so the
page's read of them is audited with their thread ids.
"""

from __future__ import annotations

from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.dateformat import format as format_date

from portal.clinics.models import CareTeam
from portal.clinics.work_queue import Count, Notice, Work
from portal.core.acting import Actor
from portal.messaging import actions, selectors


def messaging_work(by: Actor, teams: list[CareTeam]) -> Work | None:
    user = by.user
    if not user.is_staff_member:
        return None
    counts = selectors.team_counts(user, teams) if teams else {}
    per_team: dict[int, list[Count]] = {}
    team_links: dict[int, list[tuple[str, str]]] = {}
    for team in teams:
        pool = reverse("messaging_staff:team", args=[team.pk])
        found = counts[team.pk]
        per_team[team.pk] = [
            Count(found.waiting, "waiting for an answer", f"{pool}?view=waiting"),
            Count(found.overdue, "overdue", f"{pool}?view=overdue", alarm=found.overdue > 0),
            Count(found.mine, "assigned to you", f"{pool}?view=mine"),
        ]
        team_links[team.pk] = [
            ("All conversations", f"{pool}?view=all"),
            ("Quick texts", reverse("messaging_staff:quick_texts", args=[team.pk])),
        ]
    mine = sum(found.mine for found in counts.values())
    rows, total = selectors.new_assignments(user)
    actions.do_record_work_queue_read(by=by, thread_ids=[row.notice.thread_id for row in rows])
    return Work(
        name="Messages",
        per_team=per_team,
        team_links=team_links,
        mine=[
            Count(
                mine,
                f"open conversation{pluralize(mine)} assigned to you, in all your teams",
                reverse("messaging_staff:assigned"),
            )
        ],
        notices=[_notice(row) for row in rows],
        notices_total=total,
        notices_heading="Conversations assigned to you",
        seen_url=reverse("messaging_staff:assignments_seen"),
    )


def _notice(row: selectors.AssignmentRow) -> Notice:
    thread = row.notice.thread
    patient = thread.patient
    return Notice(
        lead=f"{row.notice.assigned_by.display_name} assigned you",
        link_text=row.subject,
        url=reverse("messaging_staff:thread", args=[thread.pk]),
        detail=f"{patient.display_name}, born {format_date(patient.birth_date, 'M j, Y')}, {thread.care_team.name}",
        at=row.notice.created_at,
    )
