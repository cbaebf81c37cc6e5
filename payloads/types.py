"""The type set: one entry per kind of value a JSON serializer may write differently, refuse, or write as
something that is not JSON; each with the type need it answers (``NEEDS``) and the rule by which two
idioms' bodies count as the same value (``RULES``).

An entry's value is the body a view hands to the idiom. Most are a one-key dict (``{"at": datetime}``),
as an API sends them and as ``return data, status`` requires; the key entries, the top-level list and
None are the body itself. Adding an entry is one ``TypeEntry`` in ``TYPE_SET``.
"""
from __future__ import annotations

import datetime as dt
import enum
import math
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any, Callable

DEEP = 300  # levels of nesting in deep_nesting: past orjson's limit (254), well inside the stdlib's recursion limit

# The type needs the report gives a verdict on, in its order: which entries answer each.
NEEDS = {"datetimes": "datetimes and dates", "decimals": "Decimals (money)", "non_ascii": "non-ASCII text and emoji",
         "keys": "dict keys that are not strings", "floats": "NaN and Infinity", "other": "other Python types"}


class Role(enum.Enum):
    ADMIN = "admin"


@dataclass
class User:
    id: int
    name: str


# --- the rules: how a parsed body is normalised before two are compared ---------------------------

def _instant(text: str):
    """An RFC 1123 (``Tue, 02 Jan 2024 03:04:05 GMT``) or ISO 8601 string as an aware datetime in UTC
    (a naive one read as UTC, as jsonify reads it); None if it is neither."""
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def _calendar_date(text: str):
    """An ISO date (``2024-01-02``) or a midnight instant (jsonify writes a date as one) as a date."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        moment = _instant(text)
        return moment.date() if moment and moment.timetz().replace(tzinfo=None) == dt.time() else None


def _time_of_day(text: str):
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        return None


def _uuid(text: str):
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _decimal(value):
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _leaf(convert: Callable, strings_only: bool = True) -> Callable:
    def normalise(value):
        if isinstance(value, dict):
            return {k: normalise(v) for k, v in value.items()}
        if isinstance(value, list):
            return [normalise(v) for v in value]
        if isinstance(value, str) or not strings_only:
            found = convert(value)
            return value if found is None else found
        return value

    return normalise


def _non_finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return None


# rule -> (what it accepts as the same value, the normaliser applied to both parsed bodies before ==)
RULES = {
    "exact": ("the parsed values are equal (Python ==)", lambda v: v),
    "instant": ("strings that are RFC 1123 or ISO 8601 timestamps are compared as instants in UTC (a naive one "
                "read as UTC, as jsonify reads it): `Tue, 02 Jan 2024 01:04:05 GMT` and "
                "`2024-01-02T03:04:05+02:00` are the same value", _leaf(_instant)),
    "calendar_date": ("an ISO date and an RFC 1123 timestamp at midnight GMT are the same date",
                      _leaf(_calendar_date)),
    "time_of_day": ("ISO 8601 times are compared as times", _leaf(_time_of_day)),
    "decimal": ("strings and numbers are compared as decimal numbers: `\"12.10\"`, `12.1` and `12.10` are the same "
                "value", _leaf(_decimal, strings_only=False)),
    "uuid": ("strings are compared as UUIDs (any case, with or without hyphens)", _leaf(_uuid)),
    "non_finite": ("NaN equals NaN and Infinity equals Infinity (`NaN`, `Infinity` are accepted though RFC 8259 "
                   "forbids them); `null` is not NaN", _leaf(_non_finite, strings_only=False)),
}


def same_value(a: Any, b: Any, rule: str) -> bool:
    """Whether two parsed bodies are the same value under ``rule``."""
    normalise = RULES[rule][1]
    return normalise(a) == normalise(b)


@dataclass(frozen=True)
class TypeEntry:
    name: str
    value: Any
    need: str  # a key of NEEDS
    rule: str  # a key of RULES
    what: str


def _deep(levels: int):
    value: Any = {"leaf": True}
    for _ in range(levels - 1):
        value = {"child": value}
    return value


TZ = dt.timezone(dt.timedelta(hours=2))
TYPE_SET = (
    TypeEntry("datetime_aware", {"at": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=TZ)}, "datetimes", "instant",
              "an aware datetime (UTC+02:00)"),
    TypeEntry("datetime_naive", {"at": dt.datetime(2024, 1, 2, 3, 4, 5)}, "datetimes", "instant", "a naive datetime"),
    TypeEntry("date", {"on": dt.date(2024, 1, 2)}, "datetimes", "calendar_date", "a date"),
    TypeEntry("time", {"at": dt.time(3, 4, 5)}, "datetimes", "time_of_day", "a time of day"),
    TypeEntry("decimal", {"price": Decimal("12.10")}, "decimals", "decimal", "a Decimal (12.10)"),
    TypeEntry("uuid", {"id": uuid.UUID("12345678-1234-5678-1234-567812345678")}, "other", "uuid", "a UUID"),
    TypeEntry("bytes", {"blob": b"\x00\xffab"}, "other", "exact", "bytes"),
    TypeEntry("dataclass", {"user": User(1, "Zoë")}, "other", "exact", "a dataclass instance"),
    TypeEntry("enum", {"role": Role.ADMIN}, "other", "exact", "an Enum member"),
    TypeEntry("int_keys", {1: "one", 2: "two"}, "keys", "exact", "a dict with int keys"),
    TypeEntry("mixed_keys", {1: "one", "two": 2}, "keys", "exact", "a dict with both int and str keys"),
    TypeEntry("top_level_list", [{"id": 1}, {"id": 2}], "other", "exact", "a list as the whole body"),
    TypeEntry("none", None, "other", "exact", "None as the whole body"),
    TypeEntry("nan", {"ratio": float("nan")}, "floats", "non_finite", "a NaN float"),
    TypeEntry("infinity", {"limit": float("inf")}, "floats", "non_finite", "an infinite float"),
    TypeEntry("big_int", {"n": 2**70}, "other", "exact", "an int past 64 bits (2**70)"),
    TypeEntry("deep_nesting", _deep(DEEP), "other", "exact", f"dicts nested {DEEP} levels deep"),
    TypeEntry("non_ascii", {"name": "Zoë Brontë", "city": "Zürich", "greeting": "こんにちは", "emoji": "👍🎉🇪🇺"},
              "non_ascii", "exact", "non-ASCII text and emoji"),
)
