"""A log filter that masks identifiers before any line leaves the process."""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    (re.compile(r"(?<!\d)\d{10}(?!\d)"), "[dod-id]"),
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "[e-mail]"),
    (re.compile(r"(?i)(token|password|code|otp)=[^&\s]+"), r"\1=[redacted]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        # A traceback quotes values too (a database error names the row): mask it once,
        # here, and formatters reuse the cached text instead of formatting it again.
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class TemplateLookupFilter(logging.Filter):
    """For the `django.template` logger: keep the line, drop the exception it carries.

    When a template variable does not resolve, Django logs "Exception while
    resolving variable 'x' in template 'y'" at DEBUG with the exception attached,
    and that exception's text quotes the whole template context: every subject,
    message and file name on the page. The line (variable and template names)
    still helps to find a template bug; the context never leaves the process.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True
