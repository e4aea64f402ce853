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
messaging) timed in the same run, taking turns request by request, so that a
busy moment of the machine slows both alike. The inbox is timed once the
database holds 10,000 messages and again at the end, each time beside the
trivial page; the bench patient has the same 2,000 messages both times.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("PORTAL_ENV", "test")
if "--concurrent" in sys.argv or "--profile-send" in sys.argv:
    # E-mail goes out from the database queue, as in production: off the request path.
    os.environ.setdefault("PORTAL_TASKS_BACKEND", "django_tasks_db.DatabaseBackend")

import django  # noqa: E402

django.setup()

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.consent import agreed_client  # noqa: E402
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
    from portal.accounts.models import TermsAcceptance
    from portal.accounts.selectors import current_terms

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


def interleaved(pages: dict[str, Callable[[], object]], repeat: int) -> dict[str, list[float]]:
    """Time each page `repeat` times, taking turns, so a busy moment hits every page alike."""
    for run in pages.values():
        run()  # warm
    samples: dict[str, list[float]] = {name: [] for name in pages}
    for _ in range(repeat):
        for name, run in pages.items():
            start = time.perf_counter()
            run()
            samples[name].append((time.perf_counter() - start) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    return sorted(samples)[max(0, int(len(samples) * 0.95) - 1)]


def summary(name: str, samples: list[float], trivial: list[float]) -> str:
    median, base = statistics.median(samples), statistics.median(trivial)
    return (
        f"{name:<30} median {median:8.2f} ms  p95 {p95(samples):8.2f} ms  "
        f"{median / base:5.2f}x trivial (p95 {p95(samples) / p95(trivial):5.2f}x)"
    )


def check(response: object, status: int = 200) -> None:
    code = getattr(response, "status_code", None)
    if code != status:
        raise SystemExit(f"unexpected status {code}")


class Server:
    """The portal under gunicorn (one sync worker), asked over real HTTP on the loopback."""

    def __init__(self, session_key: str) -> None:
        from django.conf import settings

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        root = Path(__file__).resolve().parent.parent
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and gunicorn
            [
                sys.executable,
                "-m",
                "gunicorn",
                "portal.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--log-level",
                "warning",
            ],
            cwd=root,
            env=os.environ.copy(),
        )
        self.cookies = {settings.SESSION_COOKIE_NAME: session_key}
        self.csrf_token = ""
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.1):
                    break
            except OSError:
                time.sleep(0.05)
        else:
            raise SystemExit("gunicorn did not start")

    def request(self, method: str, path: str, body: str = "", content_type: str = "") -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            "Host": f"localhost:{self.port}",
        }
        if content_type:
            headers["Content-Type"] = content_type
            headers["Origin"] = f"http://localhost:{self.port}"
            headers["Referer"] = f"http://localhost:{self.port}{path}"
        connection.request(method, path, body=body.encode(), headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        connection.close()
        return response.status, text

    def get(self, path: str) -> None:
        status, _ = self.request("GET", path)
        if status != 200:
            raise SystemExit(f"unexpected status {status} for {path}")

    def _token(self) -> str:
        if not self.csrf_token:  # a browser loads the form once; the token stays valid
            status, page = self.request("GET", "/messages/new/")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
            if status != 200 or token is None:
                raise SystemExit("the compose page did not load")
            self.csrf_token = token.group(1)
        return self.csrf_token

    def post(self, path: str, data: dict[str, str | int]) -> int:
        from urllib.parse import urlencode

        form = urlencode({"csrfmiddlewaretoken": self._token(), **data})
        status, _ = self.request("POST", path, form, "application/x-www-form-urlencoded")
        return status

    def send(self, team_id: int) -> None:
        status = self.post("/messages/new/", new_message(team_id))
        if status != 302:
            raise SystemExit(f"send through the server answered {status}")

    def search(self, words: str) -> None:
        status = self.post("/messages/search/", {"words": words})
        if status != 200:
            raise SystemExit(f"search through the server answered {status}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def last_page_cursor() -> str:
    """The cursor of the bench patient's last inbox page (page 40 of her 400 conversations)."""
    from portal.messaging.selectors import PAGE_SIZE, Cursor

    bench = Patient.objects.get(dod_id="9000000000")
    rows = list(
        Thread.objects.filter(patient=bench, location="inbox")
        .order_by("-last_message_at", "-id")
        .values_list("last_message_at", "id")
    )
    at, ident = rows[-PAGE_SIZE - 1]
    return Cursor(at, ident).encode()


def measure(
    get: Callable[[str], object],
    send_one: Callable[[], object],
    *,
    search: Callable[[str], object] | None = None,
    thread_id: int | None,
    repeat: int,
) -> dict[str, dict[str, list[float]]]:
    """Each page beside the trivial page; only the inbox when there is no thread to open."""
    trivial = lambda: get("/help/")  # noqa: E731
    pages: dict[str, Callable[[], object]] = {"trivial": trivial, "inbox": lambda: get("/messages/")}
    if thread_id is None or search is None:
        return {"pages": interleaved(pages, repeat)}
    pages["thread"] = lambda: get(f"/messages/threads/{thread_id}/")
    last_page = f"/messages/?after={quote(last_page_cursor())}"
    pages["inbox, last page"] = lambda: get(last_page)
    return {
        "pages": interleaved(pages, repeat),
        "send": interleaved({"trivial": trivial, "send": send_one}, max(20, repeat // 2)),
        "search": interleaved(
            {
                "trivial": trivial,
                # The search form posts its words (they never go in the address).
                "search": lambda: search("knee therapy"),
                # No message has this word: every one of the 2,000 is opened and scanned.
                "search, no match": lambda: search("zebra"),
            },
            max(20, repeat // 4),
        ),
    }


def report(title: str, small: dict[str, list[float]], big: dict[str, dict[str, list[float]]]) -> None:
    pages, sends, search = big["pages"], big["send"], big["search"]
    print(title)
    print(summary("trivial signed-in page (help)", pages["trivial"], pages["trivial"]))
    print(summary("inbox at 10,000 messages", small["inbox"], small["trivial"]))
    print(summary(f"inbox at {Message.objects.count():,} messages", pages["inbox"], pages["trivial"]))
    print(summary("inbox, last page (keyset)", pages["inbox, last page"], pages["trivial"]))
    print(summary("thread page", pages["thread"], pages["trivial"]))
    print(summary("send", sends["send"], sends["trivial"]))
    print(summary("search over 2,000 messages", search["search"], search["trivial"]))
    print(summary("  the same, no match", search["search, no match"], search["trivial"]))
    ratios = [statistics.median(run["inbox"]) / statistics.median(run["trivial"]) for run in (small, pages)]
    print(f"inbox, as a ratio to the trivial page beside it: {ratios[0]:.2f}x at 10,000 messages, ", end="")
    print(f"{ratios[1]:.2f}x at {Message.objects.count():,}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--concurrent", action="store_true", help="sends per second under gunicorn")
    parser.add_argument("--profile-send", action="store_true", help="CPU and profile of one send")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--sends", type=int, default=50, help="sends per client (--concurrent)")
    parser.add_argument("--seconds", type=float, default=60.0, help="at most this long (--concurrent)")
    args = parser.parse_args()
    if args.concurrent or args.profile_send:
        from bench.send_load import concurrent, profile_send

        if args.profile_send:
            profile_send(repeat=args.repeat)
        if args.concurrent:
            concurrent(clients=args.clients, sends_each=args.sends, seconds=args.seconds)
        return
    from django.conf import settings

    Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    call_command("migrate", verbosity=0)
    if Message.objects.exists():
        raise SystemExit(
            "the bench database is not empty: point PORTAL_VAR_DIR or DATABASE_URL at a fresh one"
        )
    print(f"database: {connection.vendor}; seeding {args.patients:,} patients", flush=True)
    teams, user, bench = seed_world()
    patient_ids = seed_patients(args.patients)
    seed_messages(10_000, patient_ids=patient_ids, teams=teams, author=user, bench=bench)

    client = agreed_client()
    check(client.post("/account/sign-in/", {"username": "bench", "password": PASSWORD}), 302)
    server = Server(client.cookies[settings.SESSION_COOKIE_NAME].value)
    try:
        small_client = measure(
            lambda path: check(client.get(path)), lambda: None, thread_id=None, repeat=args.repeat
        )
        small_server = measure(server.get, lambda: None, thread_id=None, repeat=args.repeat)
        seed_messages(
            args.messages - Message.objects.count(),
            patient_ids=patient_ids,
            teams=teams,
            author=user,
            bench=bench,
        )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        thread = Thread.objects.filter(patient=bench).order_by("-last_message_at").first()
        assert thread is not None
        print(f"bench patient: {Message.objects.filter(thread__patient=bench).count():,} messages")
        big_client = measure(
            lambda path: check(client.get(path)),
            lambda: send(client, teams[0].pk),
            search=lambda words: check(client.post("/messages/search/", {"words": words})),
            thread_id=thread.pk,
            repeat=args.repeat,
        )
        big_server = measure(
            server.get,
            lambda: server.send(teams[0].pk),
            search=server.search,
            thread_id=thread.pk,
            repeat=args.repeat,
        )
    finally:
        server.stop()
    report("through the test client:", small_client["pages"], big_client)
    report(
        "through gunicorn over HTTP (one sync worker, a new connection per request):",
        small_server["pages"],
        big_server,
    )


def new_message(team_id: int) -> dict[str, str | int]:
    return {
        "send_token": str(uuid.uuid4()),
        "care_team": team_id,
        "category": "general",
        "subject": "Bench",
        "body": "Bench body",
        "action": "send",
    }


def send(client: Client, team_id: int) -> None:
    check(client.post("/messages/new/", new_message(team_id)), 302)


if __name__ == "__main__":
    main()
