"""RFC 9457 problem details: every error as ``application/problem+json`` with type, title, status, detail.

Idiom: successes are ``jsonify(data), status``; an error is a problem document, ``{"type": "about:blank",
"title": <the status's reason phrase>, "status": <code>, "detail": <the message>}``, served with the
problem's own media type, so clients can tell an error body from a resource without the status.
Flask rule: a returned Response is sent as it is, with its mimetype (first Flask version: 0.9, for
the tuple return of the successes).
Pitfalls: the media type is ``application/problem+json``, not ``application/json``: clients (and checks
like TechEmpower's) that want exactly application/json treat the errors as something else, and the
error bodies are not the contract's ``{"error": ...}`` (a declared divergence on the error paths).
"""
import json

from flask import Response, jsonify
from werkzeug.http import HTTP_STATUS_CODES

from variants.site import build_app


def respond(body, status, headers):
    if status >= 400:
        problem = {'type': 'about:blank', 'title': HTTP_STATUS_CODES[status], 'status': status,
                   'detail': body['error']}
        return Response(json.dumps(problem), status=status, headers=headers, mimetype='application/problem+json')
    return jsonify(body), status, headers


def create_app():
    return build_app(__name__, respond)


app = create_app()
