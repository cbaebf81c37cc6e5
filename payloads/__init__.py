"""The payload corpus: what the payload stage serves through every idiom (``make payloads``).

- the size sweep (``payloads.sizes``): lists of user records from a fixed seed, ``size_100b`` to ``size_1mb``;
- the type set (``payloads.types``): datetimes, Decimal, UUID, bytes, int and mixed keys, NaN, ... one entry each;
- your own payloads (``payloads.user``): ``PAYLOADS=path`` (a JSON file or a folder of them).

``corpus()`` is the one list: entry name -> ``Entry``. A new entry is one line in its module's list.
"""
from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Optional

from payloads import sizes as _sizes
from payloads import types as _types

SIZE_KB = {name: target / 1000 for name, target in _sizes.SIZES.items()}  # nominal size of each size entry, KB
SIZE_LABEL = {"size_100b": "100 B", "size_1kb": "1 KB", "size_10kb": "10 KB", "size_100kb": "100 KB", "size_1mb": "1 MB"}


@dataclass(frozen=True)
class Entry:
    name: str
    value: Any
    source: str  # "builtin" | "user"
    kind: str  # "size" | "type" | "user"
    rule: str  # how two bodies count as the same value: a key of payloads.types.RULES
    need: Optional[str] = None  # the type need it answers (payloads.types.NEEDS), type entries only
    what: str = ""

    @cached_property
    def size_bytes(self) -> int:
        """Bytes of the compact UTF-8 JSON text (a type the stdlib cannot write counted as its str())."""
        return len(json.dumps(self.value, separators=(",", ":"), ensure_ascii=False, default=str).encode())


def builtin(sizes=None) -> "OrderedDict[str, Entry]":
    """The built-in entries: the size sweep (only the names in ``sizes``, if given) and the type set."""
    found = OrderedDict()
    for name, target in _sizes.SIZES.items():
        if sizes is not None and name not in sizes:
            continue
        value = _sizes.sized(target)
        found[name] = Entry(name, value, "builtin", "size", "exact", what=f"user records, about {SIZE_LABEL.get(name, name)}")
    for t in _types.TYPE_SET:
        found[t.name] = Entry(t.name, t.value, "builtin", "type", t.rule, t.need, t.what)
    return found


def builtin_names() -> set:
    return set(_sizes.SIZES) | {t.name for t in _types.TYPE_SET}


def corpus(user_path=None, sizes=None) -> "OrderedDict[str, Entry]":
    """Every entry: the built-in ones (``sizes``: only these size entries), then the files ``user_path``
    names (None: none)."""
    found = builtin(sizes)
    if user_path:
        from payloads import user as _user  # here: the matrix probe imports the type set on old Flask without it

        for name, value in _user.load(user_path, taken=builtin_names()).items():
            found[name] = Entry(name, value, "user", "user", "exact", what="your payload")
    return found
