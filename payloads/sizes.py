"""The size sweep: lists of user records, generated from a fixed seed, at about 100 B, 1 KB, 10 KB, 100 KB and 1 MB.

A record is what an API's list endpoint sends: an id, names and free text with non-ASCII letters and
emoji, nested objects (an address, settings), optional fields (present in some records only), lists of
tags, floats, booleans and null, and timestamps already written as ISO 8601 strings (the way a team
whose serializer cannot write datetimes sends them). Every value is JSON-native, so every correct idiom
can serve it: the sweep measures cost, the type set (``payloads.types``) measures meaning.

A size is the length of the compact UTF-8 JSON text (``json.dumps(value, separators=(",", ":"),
ensure_ascii=False)``), the payload's own size whatever an idiom adds (spaces, ``\\uXXXX`` escapes).
The same seed gives the same bytes on every machine: ``random.Random(SEED)`` and nothing else.
"""
from __future__ import annotations

import json
import random

SEED = 14  # the issue that asked for it; change it and every size entry changes
SIZES = {"size_100b": 100, "size_1kb": 1_000, "size_10kb": 10_000, "size_100kb": 100_000, "size_1mb": 1_000_000}

FIRST = ("Ana", "Zoë", "Björn", "Łukasz", "Chloé", "Jürgen", "Søren", "Mei", "Ιωάννης", "Олена", "Aditya", "José",
         "Nguyễn", "Siobhán", "Ömer", "Amélie", "Kenji", "Fatima", "Dvořák", "Ingrid")
LAST = ("García", "Müller", "Nowak", "Øster", "Łopez", "Schröder", "Smith", "Ngô", "Kowalczyk", "Dubois", "Sato",
        "Ibáñez", "O'Brien", "Häkkinen", "Costa", "Yılmaz", "Новак", "Παπαδόπουλος", "李", "Brontë")
WORDS = ("café", "naïve", "façade", "résumé", "über", "smörgåsbord", "jalapeño", "crème", "fiancée", "déjà vu",
         "data", "report", "invoice", "shipping", "order", "team", "meeting", "follow-up", "draft", "release",
         "東京", "こんにちは", "Привет", "مرحبا", "👍", "🎉", "🚀", "✅", "😀", "🇪🇺")
CITIES = ("Zürich", "Kraków", "São Paulo", "Malmö", "Reykjavík", "Montréal", "Düsseldorf", "Curaçao", "Bogotá", "Oslo")
TAGS = ("admin", "beta", "vip", "trial", "ops", "eu", "us", "apac", "mobile", "ünïcödé", "🔥")


def compact_size(value) -> int:
    """The payload's size: bytes of its compact UTF-8 JSON text."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def _stamp(rng: random.Random) -> str:
    return (f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:"
            f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z")


def record(rng: random.Random, i: int) -> dict:
    """One user record; about a third of the optional fields are present in any one record."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    r = {"id": i, "name": f"{first} {last}", "email": f"user{i}@example.com", "active": rng.random() < 0.8,
         "score": round(rng.uniform(0, 100), 2), "created_at": _stamp(rng),
         "tags": rng.sample(TAGS, rng.randint(0, 3)),
         "address": {"city": rng.choice(CITIES), "postcode": f"{rng.randint(1000, 99999)}",
                     "geo": {"lat": round(rng.uniform(-90, 90), 5), "lon": round(rng.uniform(-180, 180), 5)}}}
    if rng.random() < 0.35:
        r["bio"] = _text(rng, rng.randint(3, 14))
    if rng.random() < 0.3:
        r["phone"] = None if rng.random() < 0.3 else f"+{rng.randint(1, 99)} {rng.randint(100000000, 999999999)}"
    if rng.random() < 0.3:
        r["settings"] = {"theme": rng.choice(("dark", "light")), "locale": rng.choice(("de-CH", "pl-PL", "pt-BR", "ja-JP")),
                         "notifications": {"email": rng.random() < 0.5, "push": rng.random() < 0.5}}
    if rng.random() < 0.25:
        r["last_orders"] = [{"ref": f"O-{rng.randint(10000, 99999)}", "total": round(rng.uniform(1, 500), 2),
                             "note": _text(rng, 2)} for _ in range(rng.randint(1, 3))]
    return r


def tiny(rng: random.Random) -> dict:
    """A record cut to what fits in about 100 bytes: what a small status or lookup endpoint sends."""
    return {"id": 1, "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}", "active": True, "emoji": rng.choice(WORDS[-6:]),
            "tags": rng.sample(TAGS, 2)}


def sized(target: int, seed: int = SEED) -> dict:
    """``{"data": [records...], "count": n, "next": ...}``: records added until the compact size reaches
    ``target`` (stopping before a record that would overshoot by more than half its own size)."""
    rng = random.Random(f"{seed}:{target}")
    if target < 200:
        return {"data": [tiny(rng)], "count": 1}
    data, page = [], {"data": [], "count": 0, "next": "/api/users?cursor=abc123"}
    size = compact_size(page)
    while size < target:
        r = record(rng, len(data) + 1)
        grow = compact_size(r) + 1
        if size + grow - target > grow / 2 and data:
            break
        data.append(r)
        size += grow
    page.update(data=data, count=len(data))
    return page


def size_entries(seed: int = SEED) -> dict:
    """{entry name: value} for every size of ``SIZES``."""
    return {name: sized(target, seed) for name, target in SIZES.items()}
