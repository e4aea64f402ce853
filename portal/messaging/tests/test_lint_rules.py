"""Guards on the code itself: views never query messaging models directly.

A ruff rule cannot see that `thread.messages.filter()` is a query (it does not
know the models), so the guard is this test: it parses the views, forms and
template tags, and fails on any manager (`Message.objects`) or related manager
of a messaging model (`thread.messages.filter(...)`, `patient.message_threads.all()`).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.apps import apps

APP = Path(__file__).resolve().parent.parent
THIN = [*sorted((APP / "views").glob("*.py")), APP / "forms.py", *sorted((APP / "templatetags").glob("*.py"))]
MANAGERS = {"objects", "_default_manager", "_base_manager", "raw", "extra"}
QUERYSET_METHODS = {
    "all", "filter", "exclude", "get", "first", "last", "count", "exists", "create", "update", "delete",
    "order_by", "select_related", "prefetch_related", "values", "values_list", "aggregate", "annotate",
    "get_or_create", "update_or_create", "bulk_create", "bulk_update", "iterator", "in_bulk", "add",
    "remove", "set", "clear", "only", "defer", "select_for_update",
}  # fmt: skip


def related_managers() -> set[str]:
    """Names of every related manager that leads to a messaging model (`messages`, `drafts`, ...)."""
    names = set()
    for model in apps.get_models():
        for field in model._meta.get_fields():
            reverse = field.auto_created and not field.concrete and field.related_model is not None
            labels = {model._meta.app_label, getattr(field.related_model, "_meta", model._meta).app_label}
            if reverse and "messaging" in labels:
                names.add(field.get_accessor_name())
    return {name for name in names if name and not name.endswith("+")}


def offences_in(source: str, name: str = "<snippet>") -> list[str]:
    related = related_managers()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute):
            continue
        if node.attr in MANAGERS:
            found.append(f"{name}:{node.lineno} .{node.attr}")
        elif (
            node.attr in QUERYSET_METHODS
            and isinstance(node.value, ast.Attribute)
            and node.value.attr in related
        ):
            found.append(f"{name}:{node.lineno} .{node.value.attr}.{node.attr}")
    return found


def test_views_forms_and_tags_never_touch_a_manager() -> None:
    """Every read and write in views goes through access.py, actions.py or selectors.py (one door)."""
    offences = [offence for path in THIN for offence in offences_in(path.read_text(), path.name)]
    assert offences == []


@pytest.mark.parametrize(
    "snippet",
    [
        "Message.objects.filter(pk=1)",
        "thread.messages.filter(author_kind='staff')",
        "draft.attachments.all()",
        "request.user.patient.message_threads.count()",
        "found.internal_notes.create(body=b'')",
        "Thread._default_manager.get(pk=1)",
    ],
)
def test_the_guard_sees_each_kind_of_offence(snippet: str) -> None:
    assert offences_in(snippet) != []


@pytest.mark.parametrize(
    "snippet",
    ["messages.success(request, 'Sent.')", "view.messages", "[m.pk for m in view.messages]"],
)
def test_the_guard_lets_the_django_messages_module_and_plain_lists_be(snippet: str) -> None:
    assert offences_in(snippet) == []
