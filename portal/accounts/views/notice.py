"""The DoD Notice and Consent Banner page, before any sign-in (see accounts/consent.py).

The agreement is not audited: it is made before anyone is known (no user, no patient),
and every sign-in that follows is audited and could only happen after it. An event per
click from anonymous browsers would let anyone grow the append-only chain at will.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from portal.accounts import consent
from portal.accounts.views.common import safe_next


@require_http_methods(["GET", "POST"])
def notice(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.method == "POST":
        response = redirect(next_url)
        consent.remember_agreement(response)
        return response
    return render(request, "accounts/notice.html", {"blocks": consent.banner_blocks(), "next": next_url})
