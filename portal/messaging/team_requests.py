"""Messaging's side of portal.core.team_requests: a patient's request to a care team opens a
conversation through the ordinary actions (a draft saved and sent: sealed, audited, the team
notified), so it is in the team's pool like any message of its category."""

from __future__ import annotations

import uuid

from portal.core.acting import Actor
from portal.core.team_requests import TeamRequest
from portal.messaging.actions.drafts import check_save_draft
from portal.messaging.actions.sending import check_send_draft


def open_request_thread(by: Actor, request: TeamRequest) -> int:
    draft = check_save_draft(
        by=by,
        send_token=uuid.uuid4(),
        care_team_id=request.care_team_id,
        thread_id=None,
        category=request.category,
        subject=request.subject,
        body=request.body,
        about_reference=request.about,
    )
    message = check_send_draft(by=by, draft_id=draft.pk, saved=draft)
    return message.thread_id
