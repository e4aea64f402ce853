"""Guards on the code itself: views never query messaging models directly."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent
THIN = [*sorted((APP / "views").glob("*.py")), APP / "forms.py", *sorted((APP / "templatetags").glob("*.py"))]
FORBIDDEN = {"objects", "_default_manager", "_base_manager", "raw", "extra"}


def test_views_forms_and_tags_never_touch_a_manager() -> None:
    """Every read and write in views goes through access.py, actions.py or selectors.py (one door)."""
    offences = []
    for path in THIN:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN:
                offences.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert offences == []


def test_the_guard_sees_an_offence() -> None:
    """The rule is not vacuous: it catches Message.objects in a snippet."""
    tree = ast.parse("Message.objects.filter(pk=1)")
    assert any(isinstance(n, ast.Attribute) and n.attr == "objects" for n in ast.walk(tree))
