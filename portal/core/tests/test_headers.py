"""Security headers and cookies on every page, and pages a strict CSP can render."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser

import pytest
from django.http import HttpResponse
from django.test import Client

from conftest import sign_in
from portal.accounts.models import User

PAGES_SIGNED_OUT = ["/account/sign-in/", "/help/", "/account/register/", "/account/password-reset/"]


def _directives(response: HttpResponse) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parts = [part.strip().split() for part in policy.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


def assert_security_headers(response: HttpResponse) -> None:
    directives = _directives(response)
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert response["Cache-Control"] == "no-store"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES_SIGNED_OUT)
def test_signed_out_pages_carry_the_security_headers(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert_security_headers(response)


def test_signed_in_pages_carry_the_security_headers(signed_in: Callable[[User], Client], paula: User) -> None:
    client = signed_in(paula)
    for path in ["/", "/help/", "/account/security/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_security_headers(response)


@pytest.mark.django_db
def test_not_found_pages_and_downloads_are_not_stored_either(client: Client) -> None:
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    assert_security_headers(missing)
    download = client.get("/help/portal-help.txt")
    assert download["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_static_files_may_be_cached(client: Client) -> None:
    """Only our own pages are no-store: CSS and JavaScript hold no health data."""
    response = client.get("/static/portal/css/portal.css")
    assert response.status_code == 200
    assert response["Cache-Control"] != "no-store"


@pytest.mark.django_db
def test_csrf_cookie_is_http_only_and_same_site_lax(client: Client) -> None:
    client.get("/account/sign-in/")
    cookie = client.cookies["csrftoken"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_session_cookie_is_http_only_and_same_site_lax(client: Client, paula: User) -> None:
    response = sign_in(client, paula)
    assert response.status_code == 302
    cookie = client.cookies["portal_session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    # Gone when the browser closes: no persistent session cookie.
    assert cookie["expires"] == ""
    assert cookie["max-age"] == ""


class _InlineFinder(HTMLParser):
    """Collects inline scripts, style attributes, <style> elements and on* handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if "style" in names:
            self.problems.append(f"style= on <{tag}>")
        self.problems += [f"{name}= on <{tag}>" for name in names if name.startswith("on")]
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script":
            self.scripts += 1
            self._in_script = True
            if not dict(attrs).get("src"):
                self.problems.append("<script> without src")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append(f"inline script body {data.strip()[:40]!r}")


def _inline_problems(response: HttpResponse) -> tuple[list[str], int]:
    finder = _InlineFinder()
    finder.feed(response.content.decode())
    finder.close()
    return finder.problems, finder.scripts


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/account/sign-in/", "/help/"])
def test_signed_out_pages_have_no_inline_script_or_style(client: Client, path: str) -> None:
    problems, scripts = _inline_problems(client.get(path))
    assert problems == []
    assert scripts > 0  # the parser did see the page's (external) scripts


def test_home_has_no_inline_script_or_style(signed_in: Callable[[User], Client], paula: User) -> None:
    response = signed_in(paula).get("/")
    assert response.status_code == 200
    problems, scripts = _inline_problems(response)
    assert problems == []
    assert scripts > 0


def test_the_finder_does_catch_inline_script_and_style() -> None:
    """The checker above is not vacuous."""
    page = HttpResponse('<p style="color:red">x</p><script>alert(1)</script><a onclick="x()">y</a>')
    problems, _ = _inline_problems(page)
    assert len(problems) == 4
