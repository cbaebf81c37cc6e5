"""Return the JSON text as a ``str``: ``return json.dumps(data), status``.

Idiom: the asker's original code, serialising by hand and returning the string.
Flask rule: a ``str`` body becomes a response with the default mimetype, text/html; a
``(body, status, headers)`` tuple sets the status and adds headers (first Flask version: 0.9).
Pitfall: the body is JSON but the response says ``text/html; charset=utf-8``, so clients that check
the Content-Type (``response.json()`` in many libraries, fetch wrappers) refuse or mis-handle it.
"""
import json

from variants.site import build_app


def respond(body, status, headers):
    return json.dumps(body), status, headers


def create_app():
    return build_app(__name__, respond)


app = create_app()
