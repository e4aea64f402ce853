"""The portal's one settings module.

Everything that differs between a laptop and a production fleet is read from
the environment through the strict readers in `portal.env`. Profiles
(`PORTAL_ENV`): development (the embedded default), test, production.
"""

from __future__ import annotations

import ipaddress as _ipaddress
import re as _re
import secrets
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

from portal.env import (
    ConfigurationError,
    read_bool,
    read_choice,
    read_int,
    read_int_map,
    read_list,
    read_str,
    read_time_zone,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(read_str("PORTAL_VAR_DIR", str(BASE_DIR / "var")))

PORTAL_ENV = read_choice("PORTAL_ENV", "development", ("development", "test", "production"))
PRODUCTION = PORTAL_ENV == "production"
TESTING = PORTAL_ENV == "test"

DEBUG = read_bool("PORTAL_DEBUG", False)
if PRODUCTION and DEBUG:
    raise ConfigurationError("PORTAL_DEBUG=true is refused with PORTAL_ENV=production")


def _secret_key() -> str:
    configured = read_str("PORTAL_SECRET_KEY", "")
    if configured:
        if len(configured) < 50:
            raise ConfigurationError("PORTAL_SECRET_KEY: use at least 50 random characters")
        return configured
    if PRODUCTION:
        raise ConfigurationError("PORTAL_SECRET_KEY is required with PORTAL_ENV=production")
    if TESTING:
        return "test-only-" + "k" * 60
    # Embedded default: a key made once and kept beside the data it protects.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(64))
    return path.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = read_list(
    "PORTAL_ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ConfigurationError("PORTAL_ALLOWED_HOSTS is required with PORTAL_ENV=production")
PORTAL_BASE_URL = read_str("PORTAL_BASE_URL", "http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_tasks",
    "django_tasks_db",
    "portal.core",
    "portal.audit",
    "portal.accounts",
    "portal.clinics",
    "portal.vault",
    "portal.messaging",
    "portal.records",
    "portal.medications",
    "portal.appointments",
    "portal.smartcard",
    "portal.privacy",
    "portal.home",
]

MIDDLEWARE = [
    # First: TRACE/OPTIONS and over-large bodies are refused before anything reads the request.
    "portal.core.middleware.SealAuditAtTheEndMiddleware",
    "portal.core.middleware.RefuseMethodsMiddleware",
    "portal.core.middleware.RequestSizeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.core.middleware.ClientAddressMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "portal.accounts.middleware.SessionPolicyMiddleware",
    "portal.accounts.middleware.AuditLoginMethodMiddleware",
    "portal.smartcard.middleware.CardSessionMiddleware",
    "portal.accounts.middleware.FirstSignInStepsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "portal.core.middleware.NoStoreMiddleware",
    "portal.core.middleware.DeniedAccessMiddleware",
    # Last, so its process_exception is the first to see a view's exception: a lost database is 503.
    "portal.core.middleware.DatabaseOutageMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "portal" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.core.context_processors.portal",
                "portal.smartcard.context_processors.card",
            ],
        },
    },
]

# Database: SQLite under var/ by default; DATABASE_URL switches (PostgreSQL at scale).
_database_url = read_str("DATABASE_URL", "")
if _database_url:
    try:
        DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
    except ValueError as error:
        raise ConfigurationError(f"DATABASE_URL: {error}") from None
else:
    if PRODUCTION:
        raise ConfigurationError("DATABASE_URL is required with PORTAL_ENV=production")
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "portal.sqlite3"),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:sign_in"
LOGIN_REDIRECT_URL = "home:home"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Argon2 at its production cost makes a 500-test suite slow; the tests that
    # matter check that production uses Argon2id (test_passwords.py).
    PASSWORD_HASHERS = ["portal.accounts.hashers.FastArgon2PasswordHasher", *PASSWORD_HASHERS]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "portal.accounts.passwords.LengthValidator"},
    {"NAME": "portal.accounts.passwords.NotUsernameValidator"},
    {"NAME": "portal.accounts.passwords.BlocklistValidator"},
]

# The first signs in; the second only keeps sessions signed in before it (see its docstring).
AUTHENTICATION_BACKENDS = [
    "portal.accounts.backends.PortalBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Sessions: database-backed by default (Django's store, saved in one statement:
# portal.accounts.session_store); any Django session engine works.
SESSION_ENGINE = read_str("PORTAL_SESSION_ENGINE", "portal.accounts.session_store")
SESSION_COOKIE_NAME = "portal_session"
PORTAL_CONSENT_COOKIE_NAME = "portal_consent"  # the notice and consent agreed (accounts.consent)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 12 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
PORTAL_IDLE_TIMEOUT_SECONDS = read_int("PORTAL_IDLE_TIMEOUT_SECONDS", 15 * 60, minimum=60)
PORTAL_ADMIN_IDLE_TIMEOUT_SECONDS = read_int("PORTAL_ADMIN_IDLE_TIMEOUT_SECONDS", 10 * 60, minimum=60)
PORTAL_ABSOLUTE_TIMEOUT_SECONDS = read_int("PORTAL_ABSOLUTE_TIMEOUT_SECONDS", 12 * 60 * 60, minimum=300)
PORTAL_TIMEOUT_WARNING_SECONDS = read_int("PORTAL_TIMEOUT_WARNING_SECONDS", 120, minimum=10)

CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "portal.core.views.csrf_failure"

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = read_bool("PORTAL_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = read_int("PORTAL_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_NAME = "__Host-portal_session"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    PORTAL_CONSENT_COOKIE_NAME = "__Host-portal_consent"

# Content-Security-Policy: no inline script or style anywhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

# Client addresses: REMOTE_ADDR unless the request came from a listed proxy.
PORTAL_TRUSTED_PROXIES = read_list("PORTAL_TRUSTED_PROXIES", [])

LANGUAGE_CODE = "en-us"
# Times on pages and the digest hour are in the hospital's zone; the database keeps UTC.
TIME_ZONE = read_time_zone("PORTAL_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "portal" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Encrypted attachment files (portal.vault.files); an S3 backend at scale.
    "vault": {
        "BACKEND": read_str("PORTAL_VAULT_STORAGE", "portal.vault.storage.AtomicFileSystemStorage"),
        "OPTIONS": {"location": str(VAR_DIR / "vault-files")},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

# E-mail: .eml files under var/mail by default, SMTP when PORTAL_SMTP_HOST is set.
DEFAULT_FROM_EMAIL = read_str("PORTAL_FROM_EMAIL", "Patient Portal <no-reply@portal.example.mil>")
PORTAL_MAIL_DIR = VAR_DIR / "mail"
EMAIL_HOST = read_str("PORTAL_SMTP_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = read_int("PORTAL_SMTP_PORT", 587, minimum=1, maximum=65535)
    EMAIL_HOST_USER = read_str("PORTAL_SMTP_USER", "")
    EMAIL_HOST_PASSWORD = read_str("PORTAL_SMTP_PASSWORD", "")
    EMAIL_USE_TLS = read_bool("PORTAL_SMTP_STARTTLS", True)
    EMAIL_TIMEOUT = read_int("PORTAL_SMTP_TIMEOUT", 20, minimum=1)
elif TESTING:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
else:
    EMAIL_BACKEND = "portal.core.mail.EmlFileBackend"
PORTAL_MAIL_MAX_ATTEMPTS = read_int("PORTAL_MAIL_MAX_ATTEMPTS", 8, minimum=1)

# Background work: Django's Tasks API on the database queue.
TASKS = {
    "default": {
        "BACKEND": read_str(
            "PORTAL_TASKS_BACKEND",
            # Tests run tasks at once (after commit); test_mail.py runs the real database queue.
            "django_tasks.backends.immediate.ImmediateBackend"
            if TESTING
            else "django_tasks_db.DatabaseBackend",
        ),
        "QUEUES": ["default"],
    }
}

# Sign-in rules.
PORTAL_PATIENT_MFA = read_choice("PORTAL_PATIENT_MFA", "offered", ("offered", "required"))
PORTAL_LOCK_AFTER_FAILURES = read_int("PORTAL_LOCK_AFTER_FAILURES", 10, minimum=3)
PORTAL_LOCK_MINUTES = read_int("PORTAL_LOCK_MINUTES", 15, minimum=1)
PORTAL_SLOWDOWN_AFTER_FAILURES = read_int("PORTAL_SLOWDOWN_AFTER_FAILURES", 3, minimum=1)
PORTAL_EMAIL_LINK_HOURS = read_int("PORTAL_EMAIL_LINK_HOURS", 24, minimum=1)
PORTAL_RESET_LINK_MINUTES = read_int("PORTAL_RESET_LINK_MINUTES", 60, minimum=5)
# Removing or replacing the authenticator, changing the contact e-mail or phone, linking or
# removing a card and new recovery codes ask again for the password (and code) or the card
# when the session's last full sign-in is older than this.
PORTAL_REAUTH_MINUTES = read_int("PORTAL_REAUTH_MINUTES", 10, minimum=1, maximum=12 * 60)
# How long the old address's "this was not me" link works after an e-mail change, and how
# long a password reset goes to the old address instead of the new one.
PORTAL_EMAIL_CHANGE_CANCEL_DAYS = read_int("PORTAL_EMAIL_CHANGE_CANCEL_DAYS", 7, minimum=1, maximum=90)
OTP_TOTP_ISSUER = read_str("PORTAL_OTP_ISSUER", "Patient Portal")
# The portal's own sign-in throttle limits code guesses; django-otp's doubling wait
# (capped at 100 years) would let anyone with the password lock the owner out.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0

PORTAL_NAME = read_str("PORTAL_NAME", "MHS Patient Portal")
PORTAL_HELP_DESK_PHONE = read_str("PORTAL_HELP_DESK_PHONE", "1-800-600-9332")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "portal.core.logging.RedactFilter"},
        "template_lookup": {"()": "portal.core.logging.TemplateLookupFilter"},
    },
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": read_str("PORTAL_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING" if TESTING else "INFO"},
        # On the logger, not a handler: no handler ever sees the template context.
        "django.template": {"filters": ["template_lookup"]},
    },
}
PORTAL_CONTACT_REVERIFY_DAYS = read_int("PORTAL_CONTACT_REVERIFY_DAYS", 365, minimum=1)

# Audit: where the chain's head is anchored outside the database, and when refusals raise an alarm.
PORTAL_AUDIT_ANCHOR_FILE = Path(read_str("PORTAL_AUDIT_ANCHOR_FILE", str(VAR_DIR / "audit-anchors.jsonl")))
PORTAL_DENIED_ALERT_COUNT = read_int("PORTAL_DENIED_ALERT_COUNT", 20, minimum=1)
PORTAL_DENIED_ALERT_MINUTES = read_int("PORTAL_DENIED_ALERT_MINUTES", 10, minimum=1, maximum=24 * 60)
# Break-glass: how long a staff member's stated reason opens a patient outside their teams.
PORTAL_BREAK_GLASS_MINUTES = read_int("PORTAL_BREAK_GLASS_MINUTES", 60, minimum=1, maximum=24 * 60)

# Envelope encryption (portal.vault): the key-encryption key provider and its key file.
PORTAL_KEY_PROVIDER = read_str("PORTAL_KEY_PROVIDER", "portal.vault.providers.LocalKeyFileProvider")
PORTAL_KEY_FILE = Path(read_str("PORTAL_KEY_FILE", str(VAR_DIR / "keys" / "kek.json")))

# Appointments (portal.appointments): reminder e-mails this many days before a visit, and how long
# an earlier time stays offered to the first patient on the waitlist before the next one is told.
PORTAL_APPOINTMENT_REMINDER_DAYS = [
    read_int(
        "PORTAL_APPOINTMENT_REMINDER_DAYS", 0, minimum=1, environ={"PORTAL_APPOINTMENT_REMINDER_DAYS": d}
    )
    for d in read_list("PORTAL_APPOINTMENT_REMINDER_DAYS", ["3", "1"])
]
PORTAL_WAITLIST_OFFER_MINUTES = read_int("PORTAL_WAITLIST_OFFER_MINUTES", 30, minimum=1, maximum=24 * 60)

# Secure messaging (portal.messaging).
PORTAL_MESSAGE_REPLY_DAYS = read_int("PORTAL_MESSAGE_REPLY_DAYS", 45, minimum=1)
PORTAL_MESSAGE_OVERDUE_BUSINESS_DAYS = read_int("PORTAL_MESSAGE_OVERDUE_BUSINESS_DAYS", 3, minimum=1)
# The hour (0-23, portal time zone) from which the digest job (`run_jobs`) sends the day's e-mails.
PORTAL_DIGEST_HOUR = read_int("PORTAL_DIGEST_HOUR", 7, minimum=0, maximum=23)
PORTAL_ATTACHMENT_MAX_FILES = read_int("PORTAL_ATTACHMENT_MAX_FILES", 4, minimum=0)
PORTAL_ATTACHMENT_MAX_BYTES = read_int("PORTAL_ATTACHMENT_MAX_BYTES", 6 * 1024 * 1024, minimum=1)
PORTAL_ATTACHMENT_MAX_TOTAL_BYTES = read_int("PORTAL_ATTACHMENT_MAX_TOTAL_BYTES", 10 * 1024 * 1024, minimum=1)
PORTAL_ATTACHMENT_MAX_PIXELS = read_int("PORTAL_ATTACHMENT_MAX_PIXELS", 40_000_000, minimum=1)
# Drafts are stored like messages: a patient (or staff member) keeps at most this many unsent,
# holding at most this many bytes of files together.
PORTAL_MAX_DRAFTS = read_int("PORTAL_MAX_DRAFTS", 50, minimum=1)
PORTAL_MAX_DRAFT_FILE_BYTES = read_int("PORTAL_MAX_DRAFT_FILE_BYTES", 100 * 1024 * 1024, minimum=1)
# The largest request body taken (portal.core.middleware.RequestSizeMiddleware): by default one
# message's files (a form may carry one file over the total, which is then refused by name) and
# room for the text. Uploads are held in memory only, up to this: a patient's file never touches
# the disk unencrypted (Django would otherwise spool files over 2.5 MB to the temp directory, in
# the clear, and a killed process leaves them there).
PORTAL_MAX_REQUEST_BYTES = read_int(
    "PORTAL_MAX_REQUEST_BYTES",
    PORTAL_ATTACHMENT_MAX_TOTAL_BYTES + PORTAL_ATTACHMENT_MAX_BYTES + 1024 * 1024,
    minimum=1024 * 1024,
)
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]
# The health record's FHIR import (portal.records). An EHR Patient is the portal patient whose
# DoD ID is its identifier of this system (by default the DoD EDIPI's OID); a bundle larger than
# PORTAL_FHIR_MAX_BYTES is refused before it is read, as a file and as a request (it cannot be
# more than PORTAL_MAX_REQUEST_BYTES, which every request is held to first).
PORTAL_FHIR_DOD_ID_SYSTEM = read_str(
    "PORTAL_FHIR_DOD_ID_SYSTEM", "urn:oid:2.16.840.1.113883.3.42.10001.100001.12"
)
PORTAL_FHIR_MAX_BYTES = read_int(
    "PORTAL_FHIR_MAX_BYTES",
    min(16 * 1024 * 1024, PORTAL_MAX_REQUEST_BYTES),
    minimum=1024,
    maximum=PORTAL_MAX_REQUEST_BYTES,
)
# Hours a new result or note of a category waits before its patient sees it (staff see it at
# once): `LAB=72,RAD=72,clinical-note=24`. None by default: US information-blocking rules expect
# results released to the patient without delay. Read at call time (portal.records.release).
PORTAL_RECORD_RELEASE_HOLD = read_int_map(
    "PORTAL_RECORD_RELEASE_HOLD",
    key_pattern=r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}",
    minimum=0,
    maximum=24 * 365,
    example="LAB=72,clinical-note=24",
)
# "Download my record": a prepared file (FHIR JSON, PDF or plain text, sealed in the vault's file
# store) can be downloaded for this many hours; then the `records.export_expiry` job deletes it.
PORTAL_RECORD_EXPORT_HOURS = read_int("PORTAL_RECORD_EXPORT_HOURS", 24, minimum=1, maximum=24 * 14)

# The DoD Notice and Consent Banner shown before sign-in (accounts.E001 if missing or empty).
PORTAL_CONSENT_BANNER_FILE = Path(
    read_str(
        "PORTAL_CONSENT_BANNER_FILE",
        str(BASE_DIR / "portal" / "accounts" / "data" / "dod-notice-and-consent.txt"),
    )
)

# Medications (portal.medications): a refill is "too soon" until this percent of the last fill's
# days' supply has passed; a renewal is offered up to this many days after a prescription expired;
# a refill request not done after this many days is "taking longer than expected" (one e-mail);
# RxNorm codes treated as controlled substances (besides the EHR's DEA-schedule extension).
PORTAL_REFILL_TOO_SOON_PERCENT = read_int("PORTAL_REFILL_TOO_SOON_PERCENT", 75, minimum=0, maximum=100)
PORTAL_RENEWAL_WINDOW_DAYS = read_int("PORTAL_RENEWAL_WINDOW_DAYS", 120, minimum=0, maximum=3650)
PORTAL_REFILL_LATE_DAYS = read_int("PORTAL_REFILL_LATE_DAYS", 3, minimum=1, maximum=60)
PORTAL_CONTROLLED_RXNORM = read_list(
    "PORTAL_CONTROLLED_RXNORM", ["1049621", "1049683", "835603", "308048", "854873", "856999"]
)

# The memory handler takes a request's files only when the whole body fits under this: the same cap.
FILE_UPLOAD_MAX_MEMORY_SIZE = PORTAL_MAX_REQUEST_BYTES
# Form fields other than files (the longest is a 10,000-character message): Django's 2.5 MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# /healthz reports the worker sick when the jobs loop's heartbeat (core.heartbeat, every minute)
# is older than this.
PORTAL_HEALTH_HEARTBEAT_SECONDS = read_int("PORTAL_HEALTH_HEARTBEAT_SECONDS", 180, minimum=60)
# host:port or a unix socket path of ClamAV's clamd (e.g. /run/clamav/clamd.ctl).
PORTAL_CLAMD_ADDRESS = read_str("PORTAL_CLAMD_ADDRESS", "")
# A callable(bytes) -> reason or None replacing the clamd hook.
PORTAL_VIRUS_SCANNER = read_str("PORTAL_VIRUS_SCANNER", "")
# Attachments are scanned unless an operator says otherwise on purpose (`check --deploy` errs
# when no scanner is set and this is not false).
PORTAL_VIRUS_SCANNING = read_bool("PORTAL_VIRUS_SCANNING", True)
if not PORTAL_VIRUS_SCANNING and (PORTAL_CLAMD_ADDRESS or PORTAL_VIRUS_SCANNER):
    raise ConfigurationError(
        "PORTAL_VIRUS_SCANNING=false contradicts PORTAL_CLAMD_ADDRESS / PORTAL_VIRUS_SCANNER: "
        "unset one of them"
    )
# Encrypted files with no row naming them (a process killed between writing the file and
# committing its row) are deleted by the `vault.orphan_files` job once older than this.
PORTAL_VAULT_ORPHAN_MINUTES = read_int("PORTAL_VAULT_ORPHAN_MINUTES", 60, minimum=10)
# --- end of vault and messaging settings ---

# Smart card (CAC/PIV) sign-in. Validation happens in the portal (portal/smartcard/validation.py).
PORTAL_CARD_TRUST_DIR = read_str("PORTAL_CARD_TRUST_DIR", str(VAR_DIR / "card-trust"))
# The TLS terminators allowed to hand over a client certificate in PORTAL_CARD_HEADER.
PORTAL_CARD_PROXIES = read_list("PORTAL_CARD_PROXIES", [])
PORTAL_CARD_HEADER = read_str("PORTAL_CARD_HEADER", "X-Client-Cert")
PORTAL_CARD_REVOCATION_FAILURE = read_choice("PORTAL_CARD_REVOCATION_FAILURE", "refuse", ("refuse", "allow"))
PORTAL_CARD_REVOCATION_CACHE_SECONDS = read_int(
    "PORTAL_CARD_REVOCATION_CACHE_SECONDS", 300, minimum=0, maximum=3600
)
PORTAL_CARD_REVOCATION_TIMEOUT_SECONDS = read_int(
    "PORTAL_CARD_REVOCATION_TIMEOUT_SECONDS", 5, minimum=1, maximum=60
)
# Certificate policy OIDs a card must carry. Production requires PIV authentication
# (portal.smartcard.certificates.PIV_AUTHENTICATION_POLICY) unless set otherwise; `any` on
# purpose takes a card under any policy (`check --deploy` warns).
PORTAL_CARD_POLICIES = read_list(
    "PORTAL_CARD_POLICIES", ["2.16.840.1.101.3.2.1.3.13"] if PRODUCTION else ["any"]
)
if PORTAL_CARD_POLICIES == ["any"]:
    PORTAL_CARD_POLICIES = []
# Where the card sign-in pages are served, if not on this origin (e.g. https://portal.example.mil:8443).
PORTAL_CARD_ORIGIN = read_str("PORTAL_CARD_ORIGIN", "").rstrip("/")
for _oid in PORTAL_CARD_POLICIES:
    if not _re.fullmatch(r"[0-2](\.[0-9]+)+", _oid):
        raise ConfigurationError(
            f"PORTAL_CARD_POLICIES: {_oid!r} is not a dotted OID (or use `any` alone for no policy)"
        )
for _proxy in PORTAL_CARD_PROXIES:
    try:
        _ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ConfigurationError(f"PORTAL_CARD_PROXIES: {_proxy!r} is not an address or network") from None
