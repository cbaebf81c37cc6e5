"""Environment and raw data: the machine, the stages of this run, and every result file beside the report."""
from __future__ import annotations

from harness.environment import HEADLINE_PACKAGES
from reports.data import FILES
from reports.document import Heading, Note, Para, Table, code_span
from reports.format import f_num, f_share, name_of

TITLE = "Environment and raw data"


def build(ctx) -> list:
    r = ctx.data
    return machine(r) + stages(r) + raw_files(r)


def machine(r) -> list:
    env = r.environment()
    if not env:
        return [Note("Missing", "no environment recorded (it comes with the microbenchmark results).")]
    packages = env.get("packages") or {}
    cpu = env.get("cpu") or {}
    rows = [["mode", r.run.get("mode") or env.get("mode") or "n/a"],
            ["run started", r.run.get("started", "n/a")],
            ["microbenchmarks measured", (r.micro or {}).get("started") or env.get("date", "n/a")],
            ["whole request measured", measured_at(r.request, env, "make request")],
            ["load measured", ((r.load or {}).get("run") or {}).get("date", "n/a")],
            ["Flask matrix measured", ((r.compat or {}).get("environment") or {}).get("date", "n/a")],
            ["git commit (measured at)", code_span(env.get("git_commit") or "unknown")],
            ["Python", f"{env.get('python', '?')} ({env.get('implementation', '?')})"],
            ["CPU", f"{env.get('cpu_model', '?')}, {env.get('cores', '?')} cores, governor {env.get('governor') or 'n/a'}"],
            ["kernel", env.get("kernel", "n/a")],
            ["steal / busy (microbenchmarks)", f"{f_share(cpu.get('steal_fraction'))} / {f_share(cpu.get('busy_fraction'))}"],
            ["packages", packages_text(packages)],
            ["uv.lock SHA-256", code_span(env["lock_sha256"]) if env.get("lock_sha256") else "not recorded"]]
    published = r.summary.get("published") or {}
    if published.get("commit"):
        rows.insert(6, ["published from commit", f"{code_span(published['commit'])} (a clean work tree), "
                                                 f"{published.get('date', 'date not recorded')}"])
    if r.run.get("variants"):
        rows.append(["variants selected", ", ".join(name_of(n) for n in r.run["variants"])])
    return [Table(["what", "value"], rows)]


def measured_at(stage, env: dict, target: str) -> str:
    """When a stage's own file was measured, and at which commit when that is not the run's (a stage re-run on its
    own with ``target`` after ``make bench``, whose file the report then takes)."""
    if not stage:
        return "n/a"
    commit = (stage.get("environment") or {}).get("git_commit")
    started = stage.get("started") or "n/a"
    if commit and commit != env.get("git_commit"):
        return f"{started}, at commit {code_span(commit)}, not the run's: re-run on its own (`{target}`)"
    return started


def packages_text(packages: dict) -> str:
    """The headline distributions by name, then how many others (every one is in the raw files' environment)."""
    named = [f"{k} {packages[k]}" for k in HEADLINE_PACKAGES if packages.get(k)]
    others = [k for k, v in packages.items() if v and k not in HEADLINE_PACKAGES]
    if not others:
        return ", ".join(named)
    return ", ".join(named) + (f"; and {len(others)} more, every one with its version in the raw files' "
                               f"`environment.packages`")


def stages(r) -> list:
    if not r.stages:
        return [Para("No `make bench` stages recorded in summary.json (the results come from separate targets).")]
    return [Heading(3, "Stages of this run"),
            Table(["stage", "status", "seconds", "detail"],
                  [[s, o.get("status", "?"), f_num(o.get("seconds"), 1), o.get("detail", "")] for s, o in r.stages.items()],
                  "llrl")]


def raw_files(r) -> list:
    rows = []
    omitted = (r.summary.get("published") or {}).get("omitted") or {}  # left out by reports.publish
    for name in FILES:
        path = r.folder / name
        if name in omitted and not path.exists():
            state = omitted[name]
        elif name in r.problems:
            state = f"ignored: {r.problems[name]}"
        elif path.exists():
            state = "used"
        else:
            state = "missing"
        size = f"{path.stat().st_size / 1024:,.0f} KiB" if path.exists() else ""
        rows.append([f"[{name}]({name})" if path.exists() else code_span(name), size, state])
    if (r.folder / "compat").is_dir():
        rows.append(["[compat/](compat/)", "", "raw captures per Flask release"])
    if r.micro and r.micro.get("rounds_omitted"):
        rows.append(["", "", f"micro.json: {r.micro['rounds_omitted']}"])
    return [Heading(3, "Raw data beside this report"), Table(["file", "size", "state"], rows, "lrl"),
            Para("Charts: `charts/*.png` and `charts/*.svg`. Every figure above can be re-plotted from these files; "
                 "their schemas are in `harness/schemas/`.")]
