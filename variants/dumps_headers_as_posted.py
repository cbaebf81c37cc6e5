"""``return json.dumps(data), status, {'ContentType': 'application/json'}``, the typo as posted.

Idiom: a popular answer's fix for the plain string, printed with ``ContentType`` for ``Content-Type``.
Flask rule: the third item of the tuple adds headers verbatim (first Flask version: 0.9); any name is
accepted, so the typo is sent as a header of its own.
Pitfall: nothing fails. Content-Type stays text/html and clients also receive ``ContentType:
application/json``, which no client reads. Only a test of the Content-Type catches it.
"""
import json

from variants.site import build_app


def respond(body, status, headers):
    return json.dumps(body), status, {'ContentType': 'application/json', **headers}


def create_app():
    return build_app(__name__, respond)


app = create_app()
