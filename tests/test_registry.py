"""The registry and the files in variants/ agree, and every entry has what the other stages rely on."""
import importlib
import re
from pathlib import Path

import flask
import pytest

from variants import REGISTRY, SHARED_MODULES, select
from variants.contract import CASES, CASES_BY_NAME

VARIANTS_DIR = Path(__file__).resolve().parent.parent / "variants"


def test_registry_and_files_agree():
    on_disk = {p.stem for p in VARIANTS_DIR.glob("*.py")} - {"__init__", *SHARED_MODULES}
    assert on_disk == set(REGISTRY)


def test_at_least_the_eleven_idioms():
    required = {"plain_string", "dumps_headers_as_posted", "dumps_headers", "jsonify_tuple",
                "jsonify_status_code", "make_response", "dict_return", "response_class",
                "abort_errorhandler", "json_provider", "orjson_provider"}
    assert required <= set(REGISTRY)


def test_entry_fields(variant):
    assert variant.summary and "\n" not in variant.summary
    assert re.fullmatch(r"\d+\.\d+", variant.min_flask)
    assert variant.headers and variant.pitfall
    assert variant.divergence is None or (variant.divergence and "\n" not in variant.divergence)
    assert 1 <= variant.idiom_lines <= 40


def test_module_reads_like_its_answer(variant):
    """Docstring states the Flask version; module has respond, create_app and a servable app."""
    module = importlib.import_module(f"variants.{variant.name}")
    assert f"first Flask version: {variant.min_flask}" in " ".join(module.__doc__.split())
    assert callable(module.respond) and callable(module.create_app)
    assert isinstance(module.app, flask.Flask)
    assert module.app.import_name == f"variants.{variant.name}"


def test_create_app_returns_a_new_app_with_debug_off(variant):
    first, second = variant.create_app(), variant.create_app()
    assert isinstance(first, flask.Flask) and first is not second
    assert first.debug is False and first.testing is False


def test_only_the_json_unable_and_problem_details_declare_a_divergence():
    declared = {v.name: v.diverges_on for v in REGISTRY.values() if v.divergence}
    assert declared == {"plain_string": "idiom", "dumps_headers_as_posted": "idiom", "problem_details": "errors"}


def test_a_divergence_covers_only_its_cases():
    """problem_details declares its error paths only; plain_string every case its idiom builds; no HTML page."""
    problem, plain = REGISTRY["problem_details"], REGISTRY["plain_string"]
    assert [c.name for c in CASES if problem.declares(c)] == [c.name for c in CASES if c.idiom and c.status >= 400]
    assert not problem.declares(CASES_BY_NAME["status"]) and plain.declares(CASES_BY_NAME["status"])
    assert not any(v.declares(CASES_BY_NAME["index"]) for v in REGISTRY.values())
    assert not any(REGISTRY["jsonify_tuple"].declares(c) for c in CASES)


def test_select_rejects_unknown_names():
    assert [v.name for v in select("jsonify_tuple, dict_return")] == ["jsonify_tuple", "dict_return"]
    assert len(select("")) == len(REGISTRY)
    with pytest.raises(KeyError, match="unknown variant.*nope"):
        select("jsonify_tuple,nope")
