"""``raise InvalidAPIUsage(...)`` with an ``@app.errorhandler``, Flask docs' "API errors as JSON".

Idiom: an exception class carries the payload, status and headers; one handler turns it into JSON.
Success responses are ``jsonify(data), status``.
Flask rule: ``errorhandler`` accepts any exception class, and the handler's return value is the
response (first Flask version: 0.9 for the handler's tuple return).
Pitfall: one class and one handler to write and register, and an exception per error response. A
handler cannot raise it (Flask does not handle what an error handler raises: the exception leaves the
app), so the errors Flask raises itself (404, 405, 400, 500) get a handler that renders the exception it
would have raised.
"""
from flask import jsonify

from variants.site import ERROR_CODES, build_app, error_reply, html_error, wants_json


class InvalidAPIUsage(Exception):
    def __init__(self, payload, status_code, headers):
        super().__init__(payload)
        self.payload = payload
        self.status_code = status_code
        self.headers = headers


def respond(body, status, headers):
    if status >= 400:
        raise InvalidAPIUsage(body, status, headers)
    return jsonify(body), status, headers


def setup(app):
    @app.errorhandler(InvalidAPIUsage)
    def invalid_api_usage(e):
        return jsonify(e.payload), e.status_code, e.headers

    def api_error(error):
        if not wants_json():
            return html_error(error)
        return invalid_api_usage(InvalidAPIUsage(*error_reply(error)))

    for code in ERROR_CODES:
        app.register_error_handler(code, api_error)


def create_app():
    return build_app(__name__, respond, setup)


app = create_app()
