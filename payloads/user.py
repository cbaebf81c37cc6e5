"""Your own payloads: ``PAYLOADS=path`` names a JSON file, or a folder of them, holding responses your API sends.

Each file is one entry, named by its file name without the extension (``orders.json`` -> ``orders``),
with source "user". The files are only parsed (``json.loads``): nothing in them is executed. A path that
does not exist, a folder without ``*.json`` files, a file that is empty, not UTF-8 JSON, or over
``MAX_BYTES``, more than ``MAX_FILES`` files, or a name that a built-in entry already has, is a
``UsageError`` (one line, exit 2) before anything runs.
"""
from __future__ import annotations

import json
from pathlib import Path

from harness.cli import UsageError

MAX_BYTES = 8 * 1024 * 1024  # per file: past this a response is a download, not an API body
MAX_FILES = 20  # each entry is timed in every round: more would break the stage's time budget


def files(path: str | Path) -> list:
    """The JSON files ``path`` names: itself, or the ``*.json`` directly inside the folder, sorted."""
    path = Path(path).expanduser()
    if path.is_dir():
        found = sorted(p for p in path.glob("*.json") if p.is_file())
        if not found:
            raise UsageError(f"PAYLOADS={path}: a folder with no *.json files in it")
        if len(found) > MAX_FILES:
            raise UsageError(f"PAYLOADS={path}: {len(found)} JSON files, at most {MAX_FILES} are measured")
        return found
    if not path.is_file():
        raise UsageError(f"PAYLOADS={path}: no such file or folder")
    return [path]


def read_payload(path: Path):
    """The JSON value in ``path``; a UsageError for an empty, oversized or non-JSON file."""
    size = path.stat().st_size
    if size == 0:
        raise UsageError(f"PAYLOADS: {path} is empty")
    if size > MAX_BYTES:
        raise UsageError(f"PAYLOADS: {path} is {size:,} bytes, over the limit of {MAX_BYTES:,} ({MAX_BYTES // 2**20} MiB)")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UsageError(f"PAYLOADS: {path} is not UTF-8 text (byte {e.start})") from None
    if not text.strip():
        raise UsageError(f"PAYLOADS: {path} holds only whitespace")
    try:
        return json.loads(text)
    except ValueError as e:
        raise UsageError(f"PAYLOADS: {path} is not JSON ({e})") from None
    except RecursionError:
        raise UsageError(f"PAYLOADS: {path} is nested too deeply to parse") from None


def load(path: str | Path, taken=()) -> dict:
    """{entry name: value} for every file ``path`` names; ``taken``: names already in the corpus."""
    found = {}
    for file in files(path):
        name = file.stem
        if name in taken:
            raise UsageError(f"PAYLOADS: {file} would be entry {name!r}, which is a built-in entry; rename the file")
        found[name] = read_payload(file)
    return found
