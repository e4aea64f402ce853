"""Guards on the code itself, for every app: thin views, and layers that only look down.

Views never query models. A ruff rule cannot see that `thread.messages.filter()`
is a query (it does not know the models), so the guard is this test: it parses
every app's views, forms and template tags, and fails on any manager
(`Message.objects`) or related manager of a portal model
(`thread.messages.filter(...)`, `patient.message_threads.all()`). Reads and
writes go through the app's access.py, selectors.py and actions.py.

Layers: an app imports only from its own layer and the layers below it (see
the README's Layout section). A base app that imported a domain app, or a
domain that imported another domain sideways, would tie the house together
the wrong way round.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.apps import apps

PORTAL = Path(__file__).resolve().parent.parent / "portal"
APPS = sorted(p.name for p in PORTAL.iterdir() if (p / "apps.py").exists())


def thin_files() -> list[Path]:
    files: list[Path] = []
    for app in APPS:
        root = PORTAL / app
        files += [root / "views.py", root / "forms.py"]
        files += sorted((root / "views").glob("*.py")) + sorted((root / "templatetags").glob("*.py"))
    return [f for f in files if f.exists()]


MANAGERS = {"objects", "_default_manager", "_base_manager", "raw", "extra"}
QUERYSET_METHODS = {
    "all", "filter", "exclude", "get", "first", "last", "count", "exists", "create", "update", "delete",
    "order_by", "select_related", "prefetch_related", "values", "values_list", "aggregate", "annotate",
    "get_or_create", "update_or_create", "bulk_create", "bulk_update", "iterator", "in_bulk", "add",
    "remove", "set", "clear", "only", "defer", "select_for_update",
}  # fmt: skip


def related_managers() -> set[str]:
    """Names of every related manager that leads to or from a portal model (`messages`, `drafts`, ...)."""
    names = set()
    for model in apps.get_models():
        for field in model._meta.get_fields():
            reverse = field.auto_created and not field.concrete and field.related_model is not None
            related = getattr(field.related_model, "__module__", "") or ""
            if reverse and (model.__module__.startswith("portal.") or related.startswith("portal.")):
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


def test_every_app_is_covered() -> None:
    assert {"accounts", "clinics", "messaging", "smartcard"} <= set(APPS)
    assert any(f.parent.name == "views" for f in thin_files())


def test_views_forms_and_tags_never_touch_a_manager() -> None:
    """Every read and write in views goes through access.py, actions.py or selectors.py (one door)."""
    offences = [
        offence
        for path in thin_files()
        for offence in offences_in(path.read_text(), str(path.relative_to(PORTAL)))
    ]
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
        "patient.team_links.all()",
        "user.email_links.filter(purpose=1)",
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


# Layers, from the bottom. An app may import from its own layer and any below it.
LAYERS = [
    {"audit"},
    {"core"},
    {"accounts", "clinics"},  # people: accounts and the patients and teams they belong to
    {"vault", "smartcard", "privacy"},  # privacy: break-glass grants sealed by the vault, and their review
    {"messaging", "records", "appointments", "medications"},  # the domains: never each other
    {"home"},  # the home page and the process runner: they gather every domain
]
DOMAINS = LAYERS[4]


def layer_of(app: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if app in layer)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """The portal modules `path` imports, except under `if TYPE_CHECKING:` (names for types only)."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for inner in ast.walk(node)
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return [(line, name) for line, name in found if name.startswith("portal.")]


def test_every_app_has_a_layer() -> None:
    for app in APPS:
        layer_of(app)


def test_no_app_imports_from_an_app_above_it_or_a_domain_beside_it() -> None:
    wrong = []
    for app in APPS:
        for path in (PORTAL / app).rglob("*.py"):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            for line, module in imports_of(path):
                other = module.split(".")[1]
                if other == app or other not in {a for layer in LAYERS for a in layer}:
                    continue
                above = layer_of(other) > layer_of(app)
                sideways = app in DOMAINS and other in DOMAINS
                if above or sideways:
                    wrong.append(f"{path.relative_to(PORTAL)}:{line} imports {module}")
    assert wrong == []
