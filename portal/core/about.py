"""What a conversation can be about: an item of another domain (a lab result, a note).

"Ask my care team about this" on a result opens a new message whose subject names the
result, and the conversation keeps a link back to it for the patient and for staff. The
messaging wing and the health record never import each other: the domain that owns the
item registers its kind here (in its AppConfig.ready()), with how to find one for a user
(through its own door: someone else's id is the door's 404) and where it opens; messaging
stores only the kind and the id, and asks here.

A reference travels as `kind:id` (`lab_report:42`): ids only, never words, in URLs and forms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.http import Http404

if TYPE_CHECKING:
    from portal.accounts.models import User
    from portal.core.acting import Actor


@dataclass(frozen=True)
class Item:
    """One item, as its domain's door gave it to a user."""

    kind: str
    item_id: int
    patient_id: int
    subject: str  # a suggested subject line: the item's name and date
    category: str  # the message category it belongs to (messaging's `Category` value)

    @property
    def reference(self) -> str:
        return f"{self.kind}:{self.item_id}"


@dataclass(frozen=True)
class Kind:
    """A kind of item a conversation can be about, registered by the domain that owns it."""

    name: str  # `lab_report`: letters and underscores
    noun: str  # "lab result": what the link back says it opens
    # Through the domain's door (Http404 if not the user's): the item's patient id. Cheap, for
    # every save of a draft that carries the reference.
    check: Callable[[User, int], int]
    # The item with its name and date for a subject line: a read of the record, audited.
    describe: Callable[[Actor, int], Item]
    patient_url: Callable[[int], str]  # item id -> the patient's page of it
    staff_url: Callable[[int, int], str]  # (patient id, item id) -> the same page for staff


@dataclass(frozen=True)
class Link:
    noun: str
    url: str


_kinds: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    _kinds[kind.name] = kind
    return kind


def parse(reference: str) -> tuple[str, int] | None:
    """`lab_report:42` -> ("lab_report", 42); anything else (an unknown kind too) -> None."""
    name, _, raw = reference.strip().partition(":")
    if name not in _kinds or not raw.isdigit() or len(raw) > 18:
        return None
    return name, int(raw)


def describe(by: Actor, reference: str) -> Item | None:
    """The item `reference` names, as `by` may see it; None when it names no known kind.

    An item of a known kind that `by` may not see raises the domain door's Http404."""
    parsed = parse(reference)
    if parsed is None:
        return None
    name, item_id = parsed
    return _kinds[name].describe(by, item_id)


def check(user: User, reference: str, *, patient_id: int) -> tuple[str, int] | None:
    """(kind, id) of the item `reference` names if it is `patient_id`'s and `user` may see it.

    None for a reference to no known kind; the door's Http404 for an item `user` may not see;
    Http404 too for an item of another patient than the conversation's."""
    parsed = parse(reference)
    if parsed is None:
        return None
    name, item_id = parsed
    if _kinds[name].check(user, item_id) != patient_id:
        raise Http404
    return parsed


def link(name: str, item_id: int | None, *, patient_id: int, for_staff: bool) -> Link | None:
    """Where the item a conversation is about opens, for its patient or for staff."""
    kind = _kinds.get(name)
    if kind is None or item_id is None:
        return None
    url = kind.staff_url(patient_id, item_id) if for_staff else kind.patient_url(item_id)
    return Link(noun=kind.noun, url=url)
