"""Search over a patient's own messages: words are matched after decryption, never stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from portal.accounts.models import User
from portal.clinics.access import patient_of
from portal.messaging.models import Message, Thread
from portal.messaging.selectors.mailbox import (
    ThreadRow,
)
from portal.vault.crypto import Binding, keyring
from portal.vault.reading import read_sealed, read_sealed_value


@dataclass(frozen=True)
class SearchQuery:
    words: str = field(default="", repr=False)
    team_id: int | None = None
    category: str = ""
    since: datetime | None = None
    until: datetime | None = None


def search_messages(user: User, query: SearchQuery, *, limit: int = 100) -> list[ThreadRow]:
    """Decrypt and scan one patient's own messages (never another's): every word must appear.

    The database narrows by team, category and date first; only this patient's
    rows are decrypted, with the one data key loaded once. A conversation stops
    being scanned at its first matching message; conversations come newest first.
    """
    patient = patient_of(user)
    threads = Thread.objects.filter(patient=patient).select_related("care_team")
    if query.team_id is not None:
        threads = threads.filter(care_team_id=query.team_id)
    if query.category:
        threads = threads.filter(category=query.category)
    messages = Message.objects.filter(thread__in=threads)
    if query.since is not None:
        messages = messages.filter(sent_at__gte=query.since)
    if query.until is not None:
        messages = messages.filter(sent_at__lt=query.until)
    words = [w.casefold() for w in query.words.split() if w]
    ring = keyring(patient.pk)
    by_thread = {t.pk: t for t in threads}
    subjects: dict[int, str] = {}
    hits: set[int] = set()
    for thread_id, row_key, body in messages.values_list("thread_id", "row_key", "body"):
        if thread_id in hits:
            continue
        if thread_id not in subjects:
            subjects[thread_id] = read_sealed(ring, by_thread[thread_id], "subject")
        if not words:
            hits.add(thread_id)
            continue
        text = (
            subjects[thread_id]
            + "\n"
            + read_sealed_value(ring, Binding("messaging_message", str(row_key), "body"), body, unreadable="")
        )
        folded = text.casefold()
        if all(word in folded for word in words):
            hits.add(thread_id)
    ordered = sorted(hits, key=lambda t: (by_thread[t].last_message_at, t), reverse=True)[:limit]
    return [ThreadRow(by_thread[t], subjects[t], by_thread[t].patient_unread > 0) for t in ordered]
