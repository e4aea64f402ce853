"""The test PKI, made once per run: a root, an intermediate, an OCSP responder and a
CRL served over HTTP on loopback, and the cards every test tries (testpki.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from portal.smartcard.testpki import CardPKI, build_test_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CardPKI]:
    built = build_test_pki()
    built.write_trust_dir(tmp_path_factory.mktemp("trust"))
    yield built
    built.service.stop()


@pytest.fixture(autouse=True)
def card_settings(settings: Any, pki: CardPKI, tmp_path: Path) -> Iterator[Any]:
    """Trust the test root; every test starts with an empty revocation cache and a working CA."""
    settings.PORTAL_CARD_TRUST_DIR = str(pki.write_trust_dir(tmp_path / "trust"))
    settings.PORTAL_CARD_REVOCATION_FAILURE = "refuse"
    settings.PORTAL_CARD_POLICIES = []
    settings.PORTAL_CARD_PROXIES = []
    pki.service.ocsp_up = True
    pki.service.crl_up = True
    cache.clear()
    yield settings
    cache.clear()
