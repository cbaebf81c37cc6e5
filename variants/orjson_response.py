"""``return Response(orjson.dumps(data), status=status, mimetype='application/json')``.

Idiom: serialise with orjson, which returns bytes, straight into a Response.
Flask rule: a returned Response is sent unchanged (first Flask version: 0.1).
Pitfalls: a second JSON library: compact, insertion-ordered bytes, no trailing newline, and a
different set of supported types (datetime, dataclass, numpy yes; Decimal no) from Flask's provider.
"""
import orjson
from flask import Response

from variants.site import build_app


def respond(body, status, headers):
    return Response(orjson.dumps(body), status=status, headers=headers, mimetype='application/json')


def create_app():
    return build_app(__name__, respond)


app = create_app()
