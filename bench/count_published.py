"""``make count`` against the published counts (``reports/published/counts.json``): every cell whose instructions
per request moved more than ``CHANGE_PCT``, named by idiom and status class, for the result and the console.

A count is exact for one commit, Python, set of packages and mode (the number of requests amortizes the
occasional collection differently), so the comparison also says which of those differ from the published run:
a change is then a lead, not a regression."""
from __future__ import annotations

from pathlib import Path

from harness.results import ROOT

CHANGE_PCT = 0.5  # flag a count that moved more than this against the published one
PUBLISHED = ROOT / "reports" / "published" / "counts.json"


def _shown(path: Path) -> str:
    try:
        return str(Path(path).relative_to(ROOT))
    except ValueError:
        return str(path)


def compare_published(variants: dict, published: dict | None, mode: str | None = None,
                      environment: dict | None = None, path: Path = PUBLISHED) -> dict:
    """Every cell whose count moved more than CHANGE_PCT against the published counts.json (None: there is none)."""
    if not published:
        return {"file": None, "compared": 0, "flagged": [], "missing": _shown(path)}
    flagged, compared = [], 0
    for name, classes in (published.get("variants") or {}).items():
        for cls, then in (classes or {}).items():
            now = (variants.get(name) or {}).get(cls)
            if not now or not isinstance(then, dict) or not then.get("instructions"):
                continue
            compared += 1
            change = 100 * (now["instructions"] / then["instructions"] - 1)
            if abs(change) > CHANGE_PCT:
                flagged.append({"variant": name, "class": cls, "published": then["instructions"],
                                "now": now["instructions"], "change_pct": round(change, 3)})
    then_env, now_env = published.get("environment") or {}, environment or {}
    differs = [key for key in ("python", "lock_sha256", "valgrind")
               if then_env.get(key) and now_env.get(key) and then_env[key] != now_env[key]]
    if mode and published.get("mode") and mode != published["mode"]:
        differs.append("mode")
    return {"file": _shown(path), "compared": compared, "flagged": flagged,
            "published_commit": then_env.get("git_commit"), "published_mode": published.get("mode"),
            "differs": differs}


def published_lines(found: dict) -> list:
    """What ``make count`` prints about the comparison: one line when there is nothing to compare with."""
    if not found.get("file"):
        return [f"no published counts to compare with ({found.get('missing') or _shown(PUBLISHED)} is absent)"]
    if not found["compared"]:
        return [f"against {found['file']}: no cell in common to compare"]
    lines = [f"against {found['file']} (commit {found.get('published_commit') or '?'}, "
             f"{found.get('published_mode') or '?'} run): {found['compared']} cells compared, "
             f"{len(found['flagged'])} moved more than {CHANGE_PCT}%"
             + (f"; differs from it in {', '.join(found['differs'])}" if found.get("differs") else "")]
    lines += [f"changed: {f['variant']} on {f['class']}: {f['published']:,.0f} -> {f['now']:,.0f} instructions "
              f"({f['change_pct']:+.2f}%)" for f in found["flagged"]]
    return lines
