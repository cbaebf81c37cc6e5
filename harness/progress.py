"""Progress for long work, in the form the output can show: what, item i/N, elapsed and time left.

- On a terminal: one live line per open ``Progress`` (a bar, i/N, elapsed, time left, the last note),
  drawn by rich a few times a second, and at once on a step ``every_s`` after the last redraw. When it
  finishes (its last item, ``close()`` or the end of a ``with`` block) the line gives way to one
  summary line. What this process prints meanwhile appears above the lines.
- Anywhere else (CI, pipes, files): one plain line per step, at most every ``every_s`` seconds, and
  always for the last item, so a log stays greppable:
  ``  calibrate: 40/86, 12 s elapsed, ~14 s left (note)``.

A process started while a live line is shown (a worker of the stage that shows it) writes to the same
terminal; two processes redrawing the same lines would garble both, so its own progress stays silent
there and the parent's line stands for it (``LIVE_ENV`` marks such processes).
"""
from __future__ import annotations

import atexit
import os
import sys
import time

from rich.console import Console
from rich.progress import Progress as Bars
from rich.progress import ProgressColumn
from rich.table import Column
from rich.text import Text

LIVE_ENV = "HARNESS_PROGRESS_LIVE"  # set while this process shows live lines, inherited by its children


def is_terminal(stream) -> bool:
    """Whether ``stream`` is a terminal that can redraw a line (not a pipe, a file, or TERM=dumb)."""
    isatty = getattr(stream, "isatty", None)
    try:
        tty = bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False
    return tty and os.environ.get("TERM", "") not in ("dumb", "unknown")


def clock(seconds: float) -> str:
    """Minutes and seconds, m:ss."""
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    """``Progress(label, total)``, then ``step()`` per item done; ``close()`` (or ``with``) when done early."""

    def __init__(self, label: str, total: int, every_s: float = 2.0, stream=None):
        stream = sys.stdout if stream is None else stream
        self.label, self.total, self.every_s, self.stream = label, max(total, 1), every_s, stream
        self.started = self.last = time.monotonic()
        self.done = self.printed = 0
        self.note = ""
        self.closed = False
        self.begun = False
        self.mode = "plain"
        if is_terminal(stream):
            self.mode = "silent" if os.environ.get(LIVE_ENV) and not _Board.showing() else "live"
        if self.mode == "live":
            self._task = _Board.open(self)
            if self._task is None:  # the live lines are on another stream
                self.mode = "plain"

    def begin(self) -> None:
        """Start the clock of the time left now rather than at creation, once and before any step: for items
        that wait in a queue behind others (the count stage's callgrind jobs), whose first would otherwise
        make the estimate count the wait once per item."""
        if not self.begun and self.done == 0:
            self.started = self.last = time.monotonic()
        self.begun = True

    def step(self, n: int = 1, note: str = "") -> None:
        self.done += n
        self.note = note or self.note
        if self.closed:
            return
        now = time.monotonic()
        due = now - self.last >= self.every_s
        if self.mode == "live":
            _Board.update(self._task, self.done, self.note, redraw=due)  # rich also redraws 4 times a second
            if due:
                self.last = now
            if self.done >= self.total:
                self.close()
        elif self.mode == "plain" and (due or self.done >= self.total):
            self.last = now
            self._line(now, note)

    def close(self) -> None:
        """Finish: a live line becomes one summary line; a plain log gets the last count if not yet printed."""
        if self.closed:
            return
        self.closed = True
        elapsed = time.monotonic() - self.started
        if self.mode == "live":
            done = f"{self.done}/{self.total} in {elapsed:.0f} s" if self.done >= self.total else \
                f"stopped at {self.done}/{self.total} after {elapsed:.0f} s"
            _Board.close(self._task, f"  {self.label}: {done}" + (f" ({self.note})" if self.note else ""))
        elif self.mode == "plain" and self.printed != self.done:
            self._line(time.monotonic(), self.note)

    def _line(self, now: float, note: str) -> None:
        elapsed = now - self.started
        left = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        self.printed = self.done
        print(f"  {self.label}: {self.done}/{self.total}, {elapsed:.0f} s elapsed, ~{left:.0f} s left"
              + (f" ({note})" if note else ""), file=self.stream, flush=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Board:
    """The process's live display: one rich ``Progress`` on one terminal, a task (line) per open Progress."""

    bars = None  # rich.progress.Progress while any line is open
    stream = None
    tasks: set = set()

    @classmethod
    def showing(cls) -> bool:
        return cls.bars is not None

    @classmethod
    def open(cls, progress: Progress):
        if cls.bars is None:
            cls._start(progress.stream)
        elif progress.stream is not cls.stream:
            return None
        task = cls.bars.add_task(progress.label, total=progress.total, note="")
        cls.tasks.add(task)
        return task

    @classmethod
    def update(cls, task, done: int, note: str, redraw: bool) -> None:
        cls.bars.update(task, completed=done, note=f"({note})" if note else "", refresh=redraw)

    @classmethod
    def close(cls, task, summary: str) -> None:
        cls.bars.remove_task(task)
        cls.tasks.discard(task)
        cls.bars.refresh()  # the line goes before the summary is printed above the others
        cls.bars.console.print(summary, markup=False, highlight=False, soft_wrap=True)
        if not cls.tasks:
            cls.stop()

    @classmethod
    def _start(cls, stream) -> None:
        console = Console(file=stream, force_terminal=True, force_interactive=True)
        ours = stream is sys.stdout  # this process's prints go above the lines; stderr too if on the terminal
        cls.bars = Bars(_Line(console), console=console, transient=True, refresh_per_second=4,
                        redirect_stdout=ours, redirect_stderr=ours and is_terminal(sys.stderr))
        cls.stream = stream
        cls.bars.start()
        os.environ[LIVE_ENV] = "1"

    @classmethod
    def stop(cls) -> None:
        if cls.bars is not None:
            bars, cls.bars, cls.stream = cls.bars, None, None
            cls.tasks = set()
            os.environ.pop(LIVE_ENV, None)
            bars.stop()


class _Line(ProgressColumn):
    """A task's whole line: label, bar, i/N, elapsed, time left (estimated as the plain lines do), note;
    cut to the terminal's width, so that it never wraps onto a second line."""

    BAR = 20

    def __init__(self, console: Console):
        super().__init__(table_column=Column(no_wrap=True))
        self.console = console

    def render(self, task) -> Text:
        done, total, elapsed = int(task.completed), int(task.total), task.elapsed or 0.0
        filled = round(self.BAR * min(done, total) / total)
        left = f"~{clock(elapsed / done * (total - done))}" if done else "?"
        line = Text(f"  {task.description} ")
        line.append("━" * filled, style="magenta")
        line.append("━" * (self.BAR - filled), style="bright_black")
        line.append(f" {done}/{total}, {clock(elapsed)} elapsed, {left} left")
        if task.fields.get("note"):
            line.append(f" {task.fields['note']}", style="dim")
        line.truncate(max(self.console.width - 1, 20), overflow="ellipsis")
        return line


atexit.register(_Board.stop)  # never leave the terminal with a hidden cursor or a half-drawn bar
