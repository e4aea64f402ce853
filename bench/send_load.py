"""The send path under load: the CPU of one send, and sends per second under gunicorn.

Run through bench/messaging.py on PostgreSQL (a fresh database of its own):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_send PORTAL_ENV=test \\
        .venv/bin/python bench/messaging.py --profile-send
    DATABASE_URL=... PORTAL_ENV=test .venv/bin/python bench/messaging.py --concurrent

Both seed one care team of 7 staff who all chose an e-mail for each new message,
and 8 patients of that team. E-mail is queued on the database queue and not
delivered during the run (no worker runs), as in production where a worker
delivers it apart from the request.

`--profile-send` posts the compose form through Django's test client and reads
the CPU the app spent (`time.process_time`) and the CPU of its PostgreSQL
backend (/proc/<pid>/stat), then profiles sends with cProfile.

`--concurrent` starts gunicorn with 4 sync workers on the loopback and has 8
clients (threads, each with its own signed-in session, over real HTTP) each
load the compose page for its tokens and post it, a fixed number of times
within a time limit. It prints sends per second, the CPU ceiling measured in
the same run (cores / server CPU of one send: the workers' and their
PostgreSQL backends' utime+stime deltas over the sends), throughput as a share
of that ceiling, and whether any message or notice was lost or doubled.
"""

from __future__ import annotations

import cProfile
import http.client
import io
import os
import pstats
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.http.response import HttpResponseBase
from django.test import Client
from django.utils import timezone

from bench.consent import agreed_client  # noqa: E402
from portal.accounts.models import TermsAcceptance, User
from portal.accounts.selectors import current_terms
from portal.audit import sealer
from portal.clinics.models import (
    CareTeam,
    Clinic,
    Hospital,
    Patient,
    PatientCareTeam,
    StaffMember,
    TeamMembership,
)
from portal.core.models import OutgoingEmail
from portal.messaging.models import Message, MessageNotice, NotificationPreference

PASSWORD = "a long and quiet meadow for the bench"  # noqa: S105 - a throwaway bench account
STAFF = 7
PATIENTS = 8
TICKS = os.sysconf("SC_CLK_TCK")


def _fresh_database() -> None:
    if connection.vendor != "postgresql":
        raise SystemExit("the send bench runs on PostgreSQL: set DATABASE_URL")
    Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
    call_command("migrate", verbosity=0)
    if Message.objects.exists() or Hospital.objects.exists():
        raise SystemExit("the bench database is not empty: point DATABASE_URL at a fresh one")


def seed_team() -> tuple[CareTeam, list[User]]:
    """One team, 7 staff opted in to a notice for each message, 8 patients ready to sign in."""
    hospital = Hospital.objects.create(name="Send Bench Medical Center", code="S001")
    clinic = Clinic.objects.create(hospital=hospital, name="Send Clinic")
    team = CareTeam.objects.create(clinic=clinic, name="Send Team")
    now = timezone.now()
    for number in range(STAFF):
        user = User.objects.create_user(
            username=f"staff{number}",
            password=PASSWORD,
            kind=User.Kind.STAFF,
            email=f"staff{number}@staff.example.mil",
            email_confirmed_at=now,
        )
        member = StaffMember.objects.create(user=user, first_name="S", last_name=str(number), role="nurse")
        TeamMembership.objects.create(staff_member=member, care_team=team)
        NotificationPreference.objects.create(user=user, frequency=NotificationPreference.Frequency.EACH)
    terms = current_terms()
    patients = []
    for number in range(PATIENTS):
        user = User.objects.create_user(
            username=f"patient{number}",
            password=PASSWORD,
            kind=User.Kind.PATIENT,
            email_confirmed_at=now,
            contact_verified_at=now,
            mfa_offered_at=now,
        )
        patient = Patient.objects.create(
            dod_id=f"77{number:08d}",
            first_name="P",
            last_name=str(number),
            birth_date=date(1980, 1, 1),
            email=f"patient{number}@example.com",
            user=user,
        )
        PatientCareTeam.objects.create(patient=patient, care_team=team)
        if terms is not None:
            TermsAcceptance.objects.get_or_create(user=user, terms=terms)
        patients.append(user)
    return team, patients


def signed_in(user: User) -> Client:
    client = agreed_client()
    response = client.post("/account/sign-in/", {"username": user.username, "password": PASSWORD})
    if response.status_code != 302:
        raise SystemExit(f"sign-in answered {response.status_code}")
    return client


def _form(team_id: int, token: str) -> dict[str, str | int]:
    return {
        "send_token": token,
        "care_team": team_id,
        "category": "general",
        "subject": "Bench",
        "body": "Bench body",
        "action": "send",
    }


def _cpu_of(pid: int) -> float:
    """Seconds of CPU (user + system) the process has used; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def _machine_busy() -> float:
    """Seconds of CPU the whole machine has been busy (all cores, every process), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields[:8]) - idle) / TICKS


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _post(client: Client, form: dict[str, str]) -> HttpResponseBase:
    """One Send, as a browser makes it: the page it follows the redirect to has shown (and so
    consumed) the previous "Your message was sent", so no notice piles up in the messages cookie
    (the test client never follows, and a hundred notices re-encoded per request were a third of
    the CPU this measured)."""
    client.cookies.pop("messages", None)
    return client.post("/messages/new/", form)


def profile_send(*, repeat: int) -> None:
    """The CPU of one send (the POST alone), and where a send's time goes."""
    _fresh_database()
    team, patients = seed_team()
    client = signed_in(patients[0])
    # As in a server process (portal.wsgi): audit events are chained by this process's sealer
    # thread, whose CPU is this process's and whose PostgreSQL backend is counted below.
    audit_sealer = sealer.start()
    for _ in range(10):  # warm: templates, keys, connections
        _post(client, _form(team.pk, str(uuid.uuid4())))
    audit_sealer.flush()
    backends = [_backend_pid(), *_database_backends()]  # the request's and the sealer's
    app, database = [], []
    total_app, total_db = time.process_time(), sum(_cpu_of(pid) for pid in backends)
    for _ in range(repeat):
        form = _form(team.pk, str(uuid.uuid4()))
        app_start, db_start = time.process_time(), sum(_cpu_of(pid) for pid in backends)
        response = _post(client, form)
        app.append((time.process_time() - app_start) * 1000)
        database.append((sum(_cpu_of(pid) for pid in backends) - db_start) * 1000)
        if response.status_code != 302:
            raise SystemExit(f"send answered {response.status_code}")
    audit_sealer.flush()  # the last events' chaining is part of the sends' cost
    total_app = (time.process_time() - total_app) * 1000 / repeat
    total_db = (sum(_cpu_of(pid) for pid in backends) - total_db) * 1000 / repeat
    # The baseline of the same run: a trivial signed-in page (help), measured the same way, so
    # that the figure can be read across machines of different speed.
    trivial_app, trivial_db = time.process_time(), sum(_cpu_of(pid) for pid in backends)
    for _ in range(repeat):
        if client.get("/help/").status_code != 200:
            raise SystemExit("the help page did not answer")
    audit_sealer.flush()
    trivial = (time.process_time() - trivial_app + sum(_cpu_of(pid) for pid in backends) - trivial_db) * 1000
    trivial /= repeat
    print(f"send (POST only), {repeat} sends through the test client, 7 staff notified each:")
    print(
        f"  app CPU per send: median {statistics.median(app):.1f} ms, mean {total_app:.1f} ms (sealer included)"
    )
    print(
        f"  PostgreSQL backend CPU per send: mean {total_db:.1f} ms (10 ms ticks; the sealer's backend too)"
    )
    print(f"  server CPU per send: {total_app + total_db:.1f} ms")
    print(
        f"  baseline, a trivial signed-in page (help), the same way: {trivial:.1f} ms; "
        f"a send is {(total_app + total_db) / trivial:.2f}x that"
    )
    profiler = cProfile.Profile(time.process_time)  # CPU, not the wait for PostgreSQL
    profiler.enable()
    for _ in range(repeat):
        _post(client, _form(team.pk, str(uuid.uuid4())))
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(r"portal|django/(template|db/models/query|test/client)", 40)
    if os.environ.get("BENCH_PROFILE_TOTTIME"):
        stats.sort_stats("tottime").print_stats(30)
    print(out.getvalue())
    for needle in ("audit/log.py", "notifications.py", "core/mail.py"):
        for key, row in stats.stats.items():  # type: ignore[attr-defined]
            if key[0].endswith(needle) and key[2] in ("record", "notify_new_message", "queue_email"):
                print(f"  {needle}:{key[2]} cumulative {row[3] / repeat * 1000:.2f} ms per send")


@dataclass
class Tally:
    believed: list[str] = field(default_factory=list)  # send tokens whose POST answered 302
    uncertain: list[str] = field(default_factory=list)  # no clear answer (error, timeout)
    failed: int = 0
    lock = threading.Lock()


class HttpClient:
    """One signed-in patient's browser: its own cookies, a new connection per request."""

    def __init__(self, port: int, session_key: str) -> None:
        self.port = port
        self.cookies = {settings.SESSION_COOKIE_NAME: session_key}

    def request(self, method: str, path: str, body: str = "") -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            "Host": f"localhost:{self.port}",
        }
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"http://localhost:{self.port}"
            headers["Referer"] = f"http://localhost:{self.port}{path}"
        try:
            conn.request(method, path, body=body.encode(), headers=headers)
            response = conn.getresponse()
            text = response.read().decode()
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name] = rest.split(";", 1)[0]
            return response.status, text
        finally:
            conn.close()

    def send(self, team_id: int, tally: Tally) -> None:
        """The compose page for its tokens, then Send, as a person does."""
        form = self.prepare(team_id, tally)
        if form is not None:
            self.post(form, tally)

    def prepare(self, team_id: int, tally: Tally) -> tuple[str, str] | None:
        """The compose page: the filled-in form to post, and its send token."""
        status, page = self.request("GET", "/messages/new/")
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        token = re.search(r'name="send_token" value="([^"]+)"', page)
        if status != 200 or csrf is None or token is None:
            with tally.lock:
                tally.failed += 1
            return None
        return urlencode(
            {"csrfmiddlewaretoken": csrf.group(1), **_form(team_id, token.group(1))}
        ), token.group(1)

    def post(self, form: tuple[str, str], tally: Tally) -> None:
        body, token = form
        try:
            status, _ = self.request("POST", "/messages/new/", body)
        except OSError:
            status = 0
        with tally.lock:
            if status == 302:
                tally.believed.append(token)
            elif status == 0 or status >= 500:
                tally.uncertain.append(token)
            else:
                tally.failed += 1


class Gunicorn:
    def __init__(self, workers: int) -> None:
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
                str(workers),
                "--log-level",
                "warning",
            ],
            cwd=root,
            env=os.environ.copy(),
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if len(self.workers()) == workers:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                        return
                except OSError:
                    pass
            time.sleep(0.1)
        self.stop()
        raise SystemExit("gunicorn did not start")

    def workers(self) -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                found.append(int(entry.name))
        return found

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def _database_backends() -> list[int]:
    """The PostgreSQL backends serving the bench database, but this process's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [int(row[0]) for row in cursor.fetchall()]


class LockSampler(threading.Thread):
    """Every 5 ms: how many backends of the bench database wait on a lock (the audit chain head)."""

    def __init__(self, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.stop_event, self.samples, self.waiting = stop, 0, 0
        self.head_waits = 0

    def run(self) -> None:
        from django.db import connections

        try:
            for _ in range(100_000):  # bounded; the event ends it first
                if self.stop_event.is_set():
                    break
                with connections["default"].cursor() as cursor:
                    cursor.execute(
                        "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), "
                        "count(*) FILTER (WHERE wait_event_type = 'Lock' AND query LIKE %s) "
                        "FROM pg_stat_activity WHERE datname = current_database()",
                        ["%audit_auditchainhead%"],
                    )
                    waiting, head = cursor.fetchone()
                self.samples += 1
                self.waiting += waiting
                self.head_waits += head
                time.sleep(0.005)
        finally:
            connections["default"].close()


def concurrent(*, clients: int, sends_each: int, seconds: float) -> None:
    _fresh_database()
    team, patients = seed_team()
    sessions = [signed_in(patients[n % len(patients)]) for n in range(clients)]
    keys = [c.cookies[settings.SESSION_COOKIE_NAME].value for c in sessions]
    server = Gunicorn(workers=4)
    tally = Tally()
    try:
        browsers = [HttpClient(server.port, key) for key in keys]
        for browser in browsers:  # warm every worker and open its database connection
            for _ in range(2):
                browser.send(team.pk, tally)
        workers = server.workers()
        backends = _database_backends()
        cpu_before = sum(_cpu_of(pid) for pid in workers) + sum(_cpu_of(pid) for pid in backends)
        db_before = sum(_cpu_of(pid) for pid in backends)
        warm = len(tally.believed)
        stop = threading.Event()
        sampler = LockSampler(stop)
        sampler.start()
        deadline = time.monotonic() + seconds
        clients_cpu_before = time.process_time()  # this process: the 8 clients and the lock sampler
        machine_before = _machine_busy()

        def run(browser: HttpClient) -> None:
            for _ in range(sends_each):
                if time.monotonic() > deadline:
                    return
                browser.send(team.pk, tally)

        threads = [threading.Thread(target=run, args=(b,)) for b in browsers]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=seconds + 120)
        elapsed = time.monotonic() - started
        clients_cpu = time.process_time() - clients_cpu_before
        machine_busy = _machine_busy() - machine_before
        stop.set()
        sampler.join(timeout=10)
        cpu_after = sum(_cpu_of(pid) for pid in workers) + sum(_cpu_of(pid) for pid in backends)
        db_after = sum(_cpu_of(pid) for pid in backends)
        post_cpu, post_db, posts = _posts_alone(browsers, team.pk, tally, workers, backends)
    finally:
        server.stop()
    sent = len(tally.believed) - warm
    if sent <= 0:
        raise SystemExit("no send went through")
    _report(
        clients=clients,
        sent=sent,
        elapsed=elapsed,
        server_cpu=cpu_after - cpu_before,
        db_cpu=db_after - db_before,
        clients_cpu=clients_cpu,
        machine_busy=machine_busy,
    )
    print(
        f"  server CPU of the POST alone, over HTTP ({posts} sends whose compose pages were loaded "
        f"first): {post_cpu / posts * 1000:.1f} ms (of which PostgreSQL {post_db / posts * 1000:.1f} ms)"
    )
    if sampler.samples:
        print(
            f"  lock waits sampled: {sampler.waiting / sampler.samples:.2f} backends waiting on average "
            f"({sampler.head_waits / sampler.samples:.2f} on the audit chain head), {sampler.samples} samples"
        )
    _verify(tally)


def _posts_alone(
    browsers: list[HttpClient], team_id: int, tally: Tally, workers: list[int], backends: list[int]
) -> tuple[float, float, int]:
    """Each client loads 10 compose pages, then the server's CPU is read around posting them."""
    forms = [[f for f in (b.prepare(team_id, tally) for _ in range(10)) if f] for b in browsers]
    server_before = sum(_cpu_of(pid) for pid in workers + backends)
    db_before = sum(_cpu_of(pid) for pid in backends)
    threads = [
        threading.Thread(target=lambda b=b, fs=fs: [b.post(f, tally) for f in fs])
        for b, fs in zip(browsers, forms, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    server = sum(_cpu_of(pid) for pid in workers + backends) - server_before
    return server, sum(_cpu_of(pid) for pid in backends) - db_before, max(sum(len(fs) for fs in forms), 1)


def _report(
    *,
    clients: int,
    sent: int,
    elapsed: float,
    server_cpu: float,
    db_cpu: float,
    clients_cpu: float,
    machine_busy: float,
) -> None:
    cores = os.cpu_count() or 1
    cpu_per_send = server_cpu / sent
    ceiling = cores / cpu_per_send
    rate = sent / elapsed
    print(f"{clients} clients, gunicorn 4 sync workers, {STAFF} staff notified per message, {cores} cores")
    print(f"  sends: {sent} in {elapsed:.1f} s: {rate:.1f} sends/s (a send = compose page GET + POST)")
    print(
        f"  server CPU per send: {cpu_per_send * 1000:.1f} ms (of which PostgreSQL {db_cpu / sent * 1000:.1f} ms)"
    )
    print(f"  CPU ceiling: {ceiling:.1f} sends/s; throughput {rate / ceiling * 100:.0f}% of the ceiling")
    # The bench's clients, and anything else running on the machine, use the same cores: what
    # they take is not there for the server. /proc/stat says how busy the whole machine was.
    others = max(machine_busy - server_cpu - clients_cpu, 0.0) / elapsed
    left = max(cores - clients_cpu / elapsed - others, 0.01)
    print(
        f"  the bench's clients used {clients_cpu / elapsed:.2f} cores, other processes {others:.2f}; "
        f"ceiling on the {left:.2f} cores left to the server: {left / cpu_per_send:.1f} sends/s; "
        f"throughput {rate / (left / cpu_per_send) * 100:.0f}% of it"
    )


def _verify(tally: Tally) -> None:
    believed = set(tally.believed)
    uncertain = set(tally.uncertain)
    messages = dict(Message.objects.values_list("send_token", "pk"))
    made = {str(token) for token in messages}
    lost = len(believed - made)
    unexplained = len(made - believed - uncertain)
    ids = list(messages.values())
    notices = MessageNotice.objects.filter(message_id__in=ids)
    expected = STAFF * len(made)
    notice_count = notices.count()
    with_email = notices.filter(email__isnull=False).count()
    emails = OutgoingEmail.objects.filter(template="new_message").count()
    doubled_notices = max(0, notice_count - expected)
    print(
        f"  messages: {len(believed)} sent by the clients' account, {len(made)} in the database: "
        f"{lost} lost, {unexplained} doubled or unexplained ({len(uncertain)} without a clear answer, "
        f"{tally.failed} refused)"
    )
    print(
        f"  notices: {notice_count} of {expected} expected ({max(0, expected - notice_count)} lost, "
        f"{doubled_notices} doubled); e-mails queued {emails}, notices with an e-mail {with_email}"
    )
