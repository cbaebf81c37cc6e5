"""The registry: every idiom compared, in report order, with what a house-style choice needs to know.

``REGISTRY[name]`` has ``create_app()``, ``summary``, ``min_flask``, ``divergence`` (None, or how and
why it departs from the JSON contract), ``diverges_on`` (the cases the divergence covers: "idiom", every
case whose body the idiom builds, or "errors", only its 4xx and 5xx), ``headers`` (how it adds extra
headers) and ``pitfall`` (the prose that explains the pitfalls ``harness.conformance`` observes).
Each idiom lives in ``variants/<name>.py``, which also has a module-level ``app`` for
``gunicorn variants.<name>:app``. A test checks that this list and the files agree.
"""
from __future__ import annotations

import ast
import inspect
from collections import OrderedDict
from dataclasses import dataclass
from importlib import import_module
from typing import Optional

SHARED_MODULES = ("auth", "contract", "site")  # the modules in variants/ that are not idioms


@dataclass(frozen=True)
class Variant:
    name: str
    summary: str
    min_flask: str
    headers: str
    pitfall: str
    divergence: Optional[str] = None
    diverges_on: str = "idiom"  # "idiom": every case the idiom builds; "errors": its 4xx and 5xx only

    def declares(self, case) -> bool:
        """Whether the declared divergence covers this contract case (the response may depart from it there)."""
        if self.divergence is None or not case.idiom:
            return False
        return self.diverges_on == "idiom" or case.error

    @property
    def module(self):
        return import_module(f"{__name__}.{self.name}")

    @property
    def respond(self):
        """The idiom itself: ``respond(body, status, headers)``."""
        return self.module.respond

    def create_app(self):
        """A new Flask app serving the contract in this idiom."""
        return self.module.create_app()

    @property
    def conforms(self) -> bool:
        return self.divergence is None

    @property
    def idiom_lines(self) -> int:
        """Lines of code of the idiom: the module less its docstring, imports and app boilerplate."""
        source = inspect.getsource(self.module)
        lines = set()
        for node in ast.parse(source).body:
            if isinstance(node, (ast.Import, ast.ImportFrom)) or _is_boilerplate(node):
                continue
            lines.update(range(node.lineno, node.end_lineno + 1))
        text = source.splitlines()
        return sum(1 for n in lines if text[n - 1].strip() and not text[n - 1].strip().startswith("#"))


def _is_boilerplate(node) -> bool:
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):  # the docstring
        return True
    if isinstance(node, ast.FunctionDef) and node.name == "create_app":
        return True
    return isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["app"]

_VARIANTS = (
    Variant("plain_string", "return the JSON text as a str: json.dumps(data), status", "0.9",
            "(body, status, headers) tuple",
            "Served as text/html; clients that check Content-Type reject it.",
            divergence="Content-Type is text/html: Flask serves a str body as HTML whatever it contains."),
    Variant("dumps_headers_as_posted", "json.dumps(data), status, {'ContentType': 'application/json'} (the typo as posted)", "0.9",
            "(body, status, headers) tuple",
            "The misspelt header name is sent as a header of its own and Content-Type stays text/html.",
            divergence="Content-Type is text/html: 'ContentType' (no hyphen) is not Content-Type, so Flask keeps its default and also sends a bogus ContentType header."),
    Variant("dumps_headers", "json.dumps(data), status, {'Content-Type': 'application/json'}", "0.9",
            "(body, status, headers) tuple",
            "Spell the header by hand on every return; json.dumps bytes differ from jsonify's."),
    Variant("jsonify_tuple", "return jsonify(data), status", "0.9",
            "(body, status, headers) tuple",
            "None of note; the status lives in a tuple rather than on the response."),
    Variant("jsonify_status_code", "resp = jsonify(data); resp.status_code = status; return resp", "1.0",
            "resp.headers[...] = ...",
            "Three statements for one response; easy to forget the status line."),
    Variant("make_response", "make_response(jsonify(data), status)", "0.9",
            "make_response(body, status, headers)",
            "An extra call for nothing unless the response is changed before returning."),
    Variant("dict_return", "return data, status (Flask jsonifies the dict)", "1.1",
            "(body, status, headers) tuple",
            "Only dicts (and lists since 2.2) are jsonified; other objects raise TypeError."),
    Variant("response_class", "Response(json.dumps(data), status=status, mimetype='application/json')", "0.1",
            "Response(..., headers=...)",
            "Bypasses app.json: app-wide JSON settings and providers are ignored."),
    Variant("orjson_response", "Response(orjson.dumps(data), status=status, mimetype='application/json')", "0.1",
            "Response(..., headers=...)",
            "A second JSON library; orjson's output and type support differ from the stdlib's."),
    Variant("abort_errorhandler", "abort(401) and a JSON @app.errorhandler(401)", "0.9",
            "returned by the error handler",
            "The handler sees only the status and description; every 401 from anywhere gets the same JSON; "
            "a handler cannot abort, so Flask's own errors need handlers of their own."),
    Variant("abort_response", "abort(make_response(jsonify(data), status))", "0.9",
            "make_response(body, status, headers)",
            "Raises an exception to return a value; the exception carries no status code, so a registered "
            "@app.errorhandler(401) never sees these 401s; it cannot be used inside an error handler."),
    Variant("api_exception", "raise InvalidAPIUsage(...) with @app.errorhandler (Flask docs' API error pattern)", "0.9",
            "carried by the exception, returned by its handler",
            "One class and one handler to write; pays for an exception per error response; a handler cannot "
            "raise it, so Flask's own errors need a handler that renders it."),
    Variant("json_provider", "app.json.response(data), status", "2.2",
            "(body, status, headers) tuple",
            "Needs Flask 2.2; the same bytes as jsonify, which is a thin wrapper around it."),
    Variant("orjson_provider", "Flask's JSON provider replaced by one built on orjson, then jsonify", "3.0",
            "(body, status, headers) tuple",
            "Needs Flask 3.0 as written (2.2-2.3 pass the session cookie an object_hook it ignores); orjson returns bytes, the provider API wants str, so it is decoded and re-encoded; "
            "request bodies are read by orjson too, which refuses JSON the stdlib accepts (NaN, UTF-16): a 400 where the others answer 201."),
    Variant("problem_details", "RFC 9457: errors as application/problem+json {type, title, status, detail}; successes jsonify", "0.9",
            "Response(..., headers=...) for errors, (body, status, headers) tuple for successes",
            "Error media type is application/problem+json: clients that want exactly application/json "
            "reject the errors; one more document shape to keep in step with the status.",
            divergence="On the error paths (every 4xx and 5xx) the body is an RFC 9457 problem document served as "
                       "application/problem+json, not the contract's {\"error\": ...} as application/json; status "
                       "and headers (WWW-Authenticate, Allow) are the contract's. The contract keeps one media type, "
                       "so this is declared rather than accepted.",
            diverges_on="errors"),
)

REGISTRY = OrderedDict((variant.name, variant) for variant in _VARIANTS)


def select(names: str | None) -> list:
    """The variants named in a comma-separated list (all for empty); unknown names raise KeyError."""
    if not names:
        return list(REGISTRY.values())
    wanted = [name.strip() for name in names.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in REGISTRY]
    if unknown:
        raise KeyError(f"unknown variant(s): {', '.join(unknown)}; known: {', '.join(REGISTRY)}")
    return [REGISTRY[name] for name in wanted]
