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


def f_signed(x, digits: int | None = None) -> str:
    """A difference with its sign: one decimal from 10 up, else two (or ``digits``)."""
    if x is None:
        return "n/a"
    d = digits if digits is not None else (1 if abs(x) >= 10 else 2)
    return f"{x:+.{d}f}"


def f_delta(delta, unit: str = " µs") -> str:
    """A difference against the reference with its 95% CI: "+45.6 µs [+43.1, +48.0]"."""
    if not delta or delta.get("estimate") is None:
        return "n/a"
    est, ci = delta["estimate"], delta.get("ci95")
    d = 1 if abs(est) >= 10 else 2
    text = f_signed(est, d) + unit
    if ci and len(ci) == 2 and ci[0] is not None:
        text += f" [{f_signed(ci[0], d)}, {f_signed(ci[1], d)}]"
    return text


def plain(text: str) -> str:
    """A line of the report as plain terminal text: no bold, no code marks, links as their label."""
    import re

    text = re.sub(r"\[([^\]]+)\]\([^)\s]+\)", r"\1", text)
    return text.replace("**", "").replace("`", "")


def young_counts_note(young: dict) -> str:
    """How a stage's shared young-generation counts were checked (``bench.young``), or "" where it did not say."""
    if not (young or {}).get("rechecked"):
        return ""
    agreed = ("all agreed" if not young.get("differ_count")
              else f"{young['differ_count']} differed (those subjects' collection shares are approximate)")
    return (f"collections are charged by the young-generation count each request adds, counted by the first worker; "
            f"the later workers recounted {young['rechecked']:,} subjects of their choosing: {agreed}.")
