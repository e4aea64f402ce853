"""The client address: X-Forwarded-For is believed only from our own proxies."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory, override_settings

from portal.core.middleware import ClientAddressMiddleware, client_address

PROXIES = ["10.0.0.0/24", "2001:db8::1"]


def _request(remote: str | None, forwarded: str | None = None) -> HttpRequest:
    extra = {} if forwarded is None else {"HTTP_X_FORWARDED_FOR": forwarded}
    request = RequestFactory().get("/", **extra)
    if remote is None:
        del request.META["REMOTE_ADDR"]
    else:
        request.META["REMOTE_ADDR"] = remote
    return request


@override_settings(PORTAL_TRUSTED_PROXIES=[])
def test_without_trusted_proxies_x_forwarded_for_is_ignored() -> None:
    assert client_address(_request("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


@override_settings(PORTAL_TRUSTED_PROXIES=PROXIES)
def test_from_an_untrusted_address_x_forwarded_for_is_ignored() -> None:
    """A client talking to us directly cannot name its own address."""
    assert client_address(_request("203.0.113.9", "10.0.0.5, 198.51.100.1")) == "203.0.113.9"


@override_settings(PORTAL_TRUSTED_PROXIES=PROXIES)
def test_from_a_trusted_proxy_the_hop_it_saw_is_the_client() -> None:
    assert client_address(_request("10.0.0.5", "198.51.100.1")) == "198.51.100.1"


@override_settings(PORTAL_TRUSTED_PROXIES=PROXIES)
def test_forged_leftmost_hops_are_ignored() -> None:
    """The client wrote everything left of what our proxy appended."""
    forged = "1.2.3.4, 10.0.0.7, 198.51.100.1"
    assert client_address(_request("10.0.0.5", forged)) == "198.51.100.1"


@override_settings(PORTAL_TRUSTED_PROXIES=PROXIES)
def test_a_chain_of_our_own_proxies_is_skipped() -> None:
    assert client_address(_request("10.0.0.5", "198.51.100.1, 10.0.0.9, 10.0.0.8")) == "198.51.100.1"


@override_settings(PORTAL_TRUSTED_PROXIES=PROXIES)
def test_ipv6_proxies_and_clients() -> None:
    assert client_address(_request("2001:db8::1", "2001:DB8::abcd")) == "2001:db8::abcd"


@override_settings(PORTAL_TRUSTED_PROXIES=PROXIES)
def test_a_trusted_proxy_without_x_forwarded_for_is_the_client() -> None:
    assert client_address(_request("10.0.0.5")) == "10.0.0.5"
    assert client_address(_request("10.0.0.5", "10.0.0.6")) == "10.0.0.5"


@override_settings(PORTAL_TRUSTED_PROXIES=PROXIES)
@pytest.mark.parametrize("garbage", ["not-an-ip", "198.51.100.1:443", "<script>", "999.1.1.1"])
def test_garbage_in_the_nearest_hop_gives_no_address(garbage: str) -> None:
    """A malformed value is never recorded as an address (the audit log takes IPs only)."""
    assert client_address(_request("10.0.0.5", f"198.51.100.1, {garbage}")) is None


@override_settings(PORTAL_TRUSTED_PROXIES=[])
def test_missing_or_malformed_remote_addr_gives_no_address() -> None:
    assert client_address(_request(None)) is None
    assert client_address(_request("")) is None
    assert client_address(_request("unix:/run/portal.sock")) is None


@override_settings(PORTAL_TRUSTED_PROXIES=PROXIES)
def test_the_middleware_puts_the_address_on_the_request() -> None:
    seen: list[str | None] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(request.client_address)  # type: ignore[attr-defined]
        return HttpResponse("ok")

    middleware = ClientAddressMiddleware(view)
    middleware(_request("10.0.0.5", "6.6.6.6, 198.51.100.1"))
    middleware(_request("203.0.113.9", "198.51.100.1"))
    assert seen == ["198.51.100.1", "203.0.113.9"]
