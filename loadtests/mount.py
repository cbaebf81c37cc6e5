"""One WSGI app that serves every selected variant below its own prefix: ``/<name>/api/status``.

Serving them all from one server lets a load generator interleave variants request by request, so
every idiom sees the same machine. ``gunicorn 'loadtests.mount:create_app()'`` serves it; the
variants come from FLASK_IDIOMS_VARIANTS (comma-separated, default all).
"""
from __future__ import annotations

import os

from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from variants import select


def create_app(names: str | None = None):
    variants = select(names if names is not None else os.environ.get("FLASK_IDIOMS_VARIANTS", ""))
    return DispatcherMiddleware(NotFound(), {f"/{v.name}": v.create_app() for v in variants})
