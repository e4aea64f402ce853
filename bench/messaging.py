"""Benchmark of secure messaging: seed, then time the inbox, a thread, send and search.

    PORTAL_VAR_DIR=/tmp/bench-var PORTAL_ENV=test .venv/bin/python bench/messaging.py \
        --patients 100000 --messages 1000000
    DATABASE_URL=postgres://... PORTAL_ENV=test .venv/bin/python bench/messaging.py ...

Seeding writes real ciphertext (each patient's own data key, each subject and
body sealed and bound to its row) with bulk inserts, not through the actions,
so a million messages seed in minutes. Measurements go through Django's test
client with a real signed-in session: the inbox, a thread page, a send (a
real action: draft, seal, audit, notice) and a search over the bench patient's
2,000 messages. Each figure is printed as median and p95, and as a ratio to a
trivial signed-in page (the help page: same middleware, session and layout, no
messaging) timed in the same run. The
inbox is timed once the database holds 10,000 messages and again at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("PORTAL_ENV", "test")

import django  # noqa: E402

django.setup()

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from portal.accounts.models import User  # noqa: E402
from portal.clinics.models import CareTeam, Clinic, Hospital, Patient, PatientCareTeam  # noqa: E402
from portal.messaging.models import Message, Thread  # noqa: E402
from portal.vault.crypto import Binding, Keyring, data_key_context  # noqa: E402
from portal.vault.models import DataKey  # noqa: E402
from portal.vault.providers import get_provider  # noqa: E402

PASSWORD = "a long and quiet meadow for the bench"  # noqa: S105 - a throwaway bench account
BENCH_MESSAGES = 2000
WORDS = [
    "knee",
    "rash",
    "refill",
    "inhaler",
    "appointment",
    "lab",
    "result",
    "fever",
    "cough",
    "pain",
    "sleep",
    "diet",
    "stairs",
    "therapy",
]


def seed_world() -> tuple[list[CareTeam], User, Patient]:
    hospital = Hospital.objects.create(name="Bench Medical Center", code="B001")
    teams = []
    for number in range(10):
        clinic = Clinic.objects.create(hospital=hospital, name=f"Clinic {number}")
        teams += [CareTeam.objects.create(clinic=clinic, name=f"Team {number}-{t}") for t in range(10)]
    user = User.objects.create_user(
        username="bench",
        password=PASSWORD,
        kind=User.Kind.PATIENT,
        email_confirmed_at=timezone.now(),
        contact_verified_at=timezone.now(),
        mfa_offered_at=timezone.now(),
    )
    patient = Patient.objects.create(
        dod_id="9000000000",
        first_name="Bench",
        last_name="Patient",
        birth_date=date(1980, 1, 1),
        email="bench@example.com",
        user=user,
    )
    PatientCareTeam.objects.create(patient=patient, care_team=teams[0])
    from portal.accounts.actions import current_terms
    from portal.accounts.models import TermsAcceptance

    terms = current_terms()
    if terms is not None:
        TermsAcceptance.objects.get_or_create(user=user, terms=terms)
    return teams, user, patient


def seed_patients(count: int) -> list[int]:
    start = Patient.objects.count()
    batch = [
        Patient(dod_id=f"8{n:09d}", first_name="P", last_name=str(n), birth_date=date(1970, 1, 1))
        for n in range(start, start + count)
    ]
    for offset in range(0, len(batch), 5000):
        Patient.objects.bulk_create(batch[offset : offset + 5000])
    return list(Patient.objects.values_list("pk", flat=True))


def rings_for(patient_ids: list[int]) -> dict[int, Keyring]:
    provider = get_provider()
    have = {k.patient_id: k for k in DataKey.objects.filter(patient_id__in=patient_ids)}
    new = []
    for patient_id in patient_ids:
        if patient_id not in have:
            kek_id, wrapped = provider.wrap(
                AESGCM.generate_key(bit_length=256), context=data_key_context(patient_id, 1)
            )
            new.append(DataKey(patient_id=patient_id, version=1, wrapped_key=wrapped, kek_id=kek_id))
    for offset in range(0, len(new), 5000):
        DataKey.objects.bulk_create(new[offset : offset + 5000])
    rows = {k.patient_id: k for k in DataKey.objects.filter(patient_id__in=patient_ids)}
    return {pid: Keyring(pid, [rows[pid]]) for pid in patient_ids}


def seed_messages(
    total: int, *, patient_ids: list[int], teams: list[CareTeam], author: User, bench: Patient
) -> None:
    """Add `total` messages in threads of 5; the bench patient gets hers first, up to 2,000."""
    rng = random.Random(total)
    now = timezone.now()
    made = 0
    while made < total:
        chunk = min(10_000, total - made)
        bench_share = max(
            0, min(chunk, BENCH_MESSAGES - Message.objects.filter(thread__patient=bench).count())
        )
        owners = [bench.pk] * (bench_share // 5) + [
            rng.choice(patient_ids) for _ in range((chunk - bench_share) // 5)
        ]
        rings = rings_for(sorted(set(owners)))
        threads, messages = [], []
        for owner in owners:
            at = now - timedelta(minutes=rng.randint(0, 60 * 24 * 400))
            thread = Thread(
                patient_id=owner,
                care_team=teams[0] if owner == bench.pk else rng.choice(teams),
                category="general",
                created_at=at,
                last_message_at=at,
            )
            thread.subject = rings[owner].seal(
                Binding.of(thread, "subject"), f"About my {rng.choice(WORDS)}".encode()
            )
            threads.append(thread)
        with transaction.atomic():
            Thread.objects.bulk_create(threads, batch_size=2000)
            saved = Thread.objects.filter(row_key__in=[t.row_key for t in threads]).values_list(
                "pk", "row_key", "patient_id", "last_message_at"
            )
            for pk, _row_key, owner, at in saved:
                for index in range(5):
                    message = Message(
                        thread_id=pk,
                        author_kind="patient",
                        author=author,
                        sent_at=at - timedelta(minutes=5 - index),
                        send_token=uuid.uuid4(),
                    )
                    text = " ".join(rng.choice(WORDS) for _ in range(30))
                    message.body = rings[owner].seal(Binding.of(message, "body"), text.encode())
                    messages.append(message)
            Message.objects.bulk_create(messages, batch_size=2000)
        made += len(messages)
        print(f"  seeded {Message.objects.count():,} messages", flush=True)


def timed(run: Callable[[], object], repeat: int) -> list[float]:
    run()  # warm
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def summary(name: str, samples: list[float], trivial: float) -> str:
    median = statistics.median(samples)
    p95 = sorted(samples)[max(0, int(len(samples) * 0.95) - 1)]
    return f"{name:<28} median {median:8.2f} ms  p95 {p95:8.2f} ms  {median / trivial:5.2f}x trivial"


def check(response: object, status: int = 200) -> None:
    code = getattr(response, "status_code", None)
    if code != status:
        raise SystemExit(f"unexpected status {code}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    from django.conf import settings

    Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
    call_command("migrate", verbosity=0)
    if Message.objects.exists():
        raise SystemExit(
            "the bench database is not empty: point PORTAL_VAR_DIR or DATABASE_URL at a fresh one"
        )
    print(f"database: {connection.vendor}; seeding {args.patients:,} patients", flush=True)
    teams, user, bench = seed_world()
    patient_ids = seed_patients(args.patients)
    seed_messages(10_000, patient_ids=patient_ids, teams=teams, author=user, bench=bench)

    client = Client()
    check(client.post("/account/sign-in/", {"username": "bench", "password": PASSWORD}), 302)
    trivial = lambda: check(client.get("/help/"))  # noqa: E731
    inbox = lambda: check(client.get("/messages/"))  # noqa: E731
    small_trivial = statistics.median(timed(trivial, args.repeat))
    small_inbox = timed(inbox, args.repeat)
    print(summary("inbox at 10,000 messages", small_inbox, small_trivial))

    seed_messages(
        args.messages - Message.objects.count(),
        patient_ids=patient_ids,
        teams=teams,
        author=user,
        bench=bench,
    )
    thread = Thread.objects.filter(patient=bench).order_by("-last_message_at").first()
    assert thread is not None
    trivial_samples = timed(trivial, args.repeat)
    trivial_ms = statistics.median(trivial_samples)
    big_inbox = timed(inbox, args.repeat)
    bench_count = Message.objects.filter(thread__patient=bench).count()
    results = {
        "trivial signed-in page": trivial_samples,
        f"inbox at {Message.objects.count():,} messages": big_inbox,
        "thread page": timed(lambda: check(client.get(f"/messages/threads/{thread.pk}/")), args.repeat),
        "send": timed(lambda: send(client, teams[0].pk), args.repeat),
        f"search over {bench_count:,} messages": timed(
            lambda: check(client.get("/messages/search/", {"words": "knee therapy"})),
            max(5, args.repeat // 5),
        ),
    }
    for name, samples in results.items():
        print(summary(name, samples, trivial_ms))
    print(
        f"inbox median at 10,000 messages vs at the end: "
        f"{statistics.median(small_inbox):.2f} ms vs {statistics.median(big_inbox):.2f} ms"
    )


def send(client: Client, team_id: int) -> None:
    data = {
        "send_token": str(uuid.uuid4()),
        "care_team": team_id,
        "category": "general",
        "subject": "Bench",
        "body": "Bench body",
        "action": "send",
    }
    check(client.post("/messages/new/", data), 302)


if __name__ == "__main__":
    main()
