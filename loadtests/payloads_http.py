"""``make payloads-http`` (a target of its own, not a stage of ``make bench``: ~3 min, and the size sweep adds at most
3 min to make bench): ``loadtests.run``'s payload mode, every idiom's payload app over HTTP
at the entries LOAD_PAYLOADS names (default ``size_1kb,size_100kb``; your own, with ``PAYLOADS=path``, by their file
names): ``reports/out/load_payloads.json``, and the
Δ copied into payloads.json as ``cost.<variant>.<entry>.http`` (``bench.payload_cost.merge_http``; a later
``make payloads`` or ``make bench`` copies it again into the payloads.json it writes). Options:
``make payloads-http`` (QUICK=1, VARIANTS=a,b, LOAD_PAYLOADS=a,b; ``make load`` and ``python -m loadtests.run``
never switch to this mode)."""
from __future__ import annotations

import os
import sys

from harness.cli import entry_point
from loadtests import run


@entry_point
def main() -> int:
    return run.payloads_main(os.environ.get("LOAD_PAYLOADS", "").strip() or run.DEFAULT_PAYLOADS)


if __name__ == "__main__":
    sys.exit(main())
