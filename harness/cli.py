"""Command-line plumbing: bad input becomes one clear line and exit 2, never a traceback."""
from __future__ import annotations

import functools
import os
import signal
import sys

from harness.results import ResultError


class UsageError(Exception):
    """Bad input from the user: an unknown variant, a bad option value, a busy port."""


def die(message: str, code: int = 2):
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)


def entry_point(main):
    """Wrap a ``main()``: UsageError/ResultError exit 2 with the message; Ctrl-C or SIGTERM exit 130.

    The first Ctrl-C or SIGTERM raises KeyboardInterrupt, so every ``finally`` and context manager stops
    what it started; later ones are ignored, so a stop that escalates (``make bench`` sends its stage
    SIGINT, then SIGTERM, then SIGKILL after a grace) cannot cut that clean-up short with a traceback."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        for signum in (signal.SIGINT, signal.SIGTERM):  # SIGTERM, like Ctrl-C, runs every cleanup
            signal.signal(signum, _interrupt)
        try:
            return main(*args, **kwargs)
        except (UsageError, ResultError) as e:
            die(str(e))
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            raise SystemExit(130)

    return wrapper


def _interrupt(signum, frame):
    for other in (signal.SIGINT, signal.SIGTERM):  # once: the clean-up this starts is not interrupted again
        signal.signal(other, signal.SIG_IGN)
    raise KeyboardInterrupt


def flag(name: str, default: bool = False) -> bool:
    """A boolean from the environment (QUICK=1): 1/0, true/false, yes/no, or empty; anything else is a UsageError."""
    raw = os.environ.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise UsageError(f"{name}={raw!r}: expected 1 or 0 (also true/false, yes/no)")


def number(name: str, kind, low, high):
    """A number from the environment (LOAD_SECONDS=20): None when unset or empty; out of [low, high] or not a
    ``kind`` is a UsageError."""
    raw = os.environ.get(name, "").strip()
    if raw == "":
        return None
    try:
        value = kind(raw)
    except ValueError:
        raise UsageError(f"{name}={raw!r}: expected a {kind.__name__}") from None
    if not low <= value <= high:
        raise UsageError(f"{name}={raw!r}: expected {low} to {high}")
    return value


def selected_variants(names: str | None = None):
    """The variants named by VARIANTS=a,b (or ``names``); unknown names are a UsageError."""
    from variants import select

    try:
        return select(os.environ.get("VARIANTS", "") if names is None else names)
    except KeyError as e:
        raise UsageError(e.args[0]) from None
