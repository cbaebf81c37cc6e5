"""How figures and names are written in the report: one place, so every section writes them alike."""
from __future__ import annotations

from reports.document import code_span


def f_num(x, digits: int = 2) -> str:
    return "n/a" if x is None else f"{x:,.{digits}f}"


def f_ci(ci, digits: int = 2) -> str:
    if not ci or len(ci) != 2 or ci[0] is None:
        return "n/a"
    return f"[{ci[0]:,.{digits}f}, {ci[1]:,.{digits}f}]"


def f_us(ns, digits: int = 2) -> str:
    return "n/a" if ns is None else f"{ns / 1000:,.{digits}f} µs"


def f_pct(x, digits: int = 1) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}%"


def f_share(x) -> str:
    """A fraction (of CPU time, or of one core: it may exceed 1) as a percentage."""
    if x is None:
        return "n/a"
    if not isinstance(x, (int, float)):
        return str(x)
    return f"{100 * x:.1f}%" if 0 < abs(x) < 0.01 else f"{100 * x:.0f}%"


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def name_of(name: str) -> str:
    """An idiom's (or baseline's) name as the report shows it."""
    return code_span(name)


def names_of(names) -> str:
    return ", ".join(name_of(n) for n in names)


def plus_minus(ci) -> float:
    """Half the width of an interval: the y in "x ± y"."""
    return (ci[1] - ci[0]) / 2


def show_bytes(body) -> str:
    """A response body as a code span, with backslashes and newlines visible."""
    if body is None:
        return "(not JSON)"
    return code_span(body.replace("\\", "\\\\").replace("\n", "\\n"))
