"""WSGI entry point for any WSGI server (gunicorn, uwsgi, runserver).

A server process chains audit events in a thread of its own, off the request path
(`portal.audit.sealer`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

from portal.audit import sealer  # noqa: E402 - needs the apps loaded above

sealer.start()
