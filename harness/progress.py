"""Progress lines for long work: what, i/N, and time left, at most every ``every_s`` seconds."""
from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, label: str, total: int, every_s: float = 2.0, stream=sys.stdout):
        self.label, self.total, self.every_s, self.stream = label, max(total, 1), every_s, stream
        self.started = self.last = time.monotonic()
        self.done = 0

    def step(self, n: int = 1, note: str = "") -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last >= self.every_s or self.done >= self.total:
            self.last = now
            elapsed = now - self.started
            left = elapsed / self.done * (self.total - self.done) if self.done else 0.0
            print(f"  {self.label}: {self.done}/{self.total}, {elapsed:.0f} s elapsed, ~{left:.0f} s left"
                  + (f" ({note})" if note else ""), file=self.stream, flush=True)
