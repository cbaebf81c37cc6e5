"""Where an idiom's extra instructions go: callgrind's profiles, read and compared (``make count``'s attribution).

``parse`` reads one callgrind output file (format: valgrind's docs, "Callgrind Format Specification") into
each function's self cost, the cost of every call between two functions, and call counts. A function's
inclusive cost is what the calls into it cost, from callers other than itself (so direct recursion,
a JSON encoder calling itself, is counted once).

The interpreter re-enters itself: ``_PyEval_EvalFrameDefault`` calls C functions that call Python code
again. Every function on such a cycle (the evaluator, the call machinery, attribute lookups that run
Python descriptors, ...) has an inclusive cost that counts the nested calls several times, so it says
nothing about where the cost goes; ``attribute`` leaves those functions out (they are found as the call
graph's strongly connected components) and reports the others, which run no Python code below them:
memory allocation, garbage collection, exceptions, string formatting, JSON encoding, regular expressions.
The evaluator's own instructions (the bytecode it executes) are reported beside them.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

EVALUATOR = "_PyEval_EvalFrameDefault"
_NAMED = re.compile(r"\((\d+)\)(?: (.*))?$")


@dataclass
class Profile:
    total: int = 0
    self_cost: Counter = field(default_factory=Counter)
    edges: Counter = field(default_factory=Counter)  # (caller, callee) -> inclusive cost of those calls
    calls: Counter = field(default_factory=Counter)  # callee -> calls
    files: Counter = field(default_factory=Counter)  # source file -> self cost of the code from it

    def inclusive(self) -> Counter:
        found, outgoing = Counter(), Counter()
        for (caller, callee), cost in self.edges.items():
            if caller != callee:
                found[callee] += cost
                outgoing[caller] += cost
        for fn, cost in self.self_cost.items():
            if fn not in found:  # never called (an entry point): its own cost and its calls'
                found[fn] = cost + outgoing[fn]
        return found


def parse(path) -> Profile:
    """One callgrind output file (positions: line; events: Ir)."""
    names: dict = {"fn": {}, "file": {}}
    profile = Profile()
    fn = callee = function_file = source = None
    positions = 1
    in_call = False

    def name(kind: str, text: str) -> str:
        m = _NAMED.match(text.rstrip("\n"))
        if not m:
            return text.rstrip("\n")
        key, given = m.groups()
        if given is not None:
            names[kind][key] = given
        return names[kind][key]

    with open(path) as f:
        for line in f:
            head = line[:1]
            if head.isdigit() or head in "+-*":
                parts = line.split()
                cost = int(parts[positions]) if len(parts) > positions else 0
                if in_call:
                    profile.edges[(fn, callee)] += cost
                    in_call = False
                else:
                    profile.self_cost[fn] += cost
                    profile.files[source] += cost
            elif line.startswith("fn="):
                fn = name("fn", line[3:])
                source = function_file
            elif line.startswith("cfn="):
                callee = name("fn", line[4:])
            elif line.startswith("calls="):
                profile.calls[callee] += int(line[6:].split()[0])
                in_call = True
            elif line.startswith("fl="):
                function_file = source = name("file", line[3:])
            elif line.startswith(("fi=", "fe=")):  # inlined code from another file, until the next fn=
                source = name("file", line[3:])
            elif line.startswith(("cfi=", "cfl=")):
                name("file", line[4:])
            elif line.startswith("positions:"):
                positions = len(line.split()) - 1
            elif line.startswith(("summary:", "totals:")):
                profile.total = int(line.split()[1])
    return profile


def per_request(counted: Profile, empty: list, n: int) -> dict:
    """A counting run's profile less the mean of the empty runs beside it, per request:
    {"total", "inclusive", "self", "calls"} and the counting run's call "edges"."""

    def diff(of_counted: dict, of_empty: list) -> dict:
        keys = set(of_counted).union(*of_empty)
        return {k: (of_counted.get(k, 0) - sum(e.get(k, 0) for e in of_empty) / len(of_empty)) / n for k in keys}

    return {"total": (counted.total - sum(e.total for e in empty) / len(empty)) / n,
            "inclusive": diff(counted.inclusive(), [e.inclusive() for e in empty]),
            "self": diff(counted.self_cost, [e.self_cost for e in empty]),
            "calls": diff(counted.calls, [e.calls for e in empty]),
            "files": diff(counted.files, [e.files for e in empty]),
            "edges": set(counted.edges)}


def reentrant(edges) -> set:
    """Functions on a cycle of the call graph (a strongly connected component of two or more, Tarjan)."""
    graph = defaultdict(set)
    for a, b in edges:
        if a != b:
            graph[a].add(b)
    index, low, stack, on_stack, found = {}, {}, [], set(), set()
    counter = 0
    for root in list(graph):
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.update(component)
    return found


# What the C source files of CPython do, for the report.
FILE_ROLES = {
    "Python/ceval.c": "bytecode evaluation (the Python code that runs)",
    "Modules/gcmodule.c": "garbage collection (reference cycles)",
    "Objects/obmalloc.c": "memory allocation",
    "Objects/dictobject.c": "dicts (attribute and keyword lookups)",
    "Objects/unicodeobject.c": "strings",
    "Objects/typeobject.c": "types (attribute lookup, object creation)",
    "Objects/object.c": "generic object protocol",
    "Objects/exceptions.c": "exception objects",
    "Python/errors.c": "raising and catching exceptions",
    "Python/traceback.c": "tracebacks",
    "Objects/frameobject.c": "frame objects (tracebacks, exceptions)",
    "Python/import.c": "imports run per request",
    "Python/context.c": "context variables",
    "Python/hamt.c": "context variables",
    "Modules/_json.c": "JSON encoding (C encoder)",
    "Modules/_sre/sre.c": "regular expressions",
    "Modules/_sre/sre_lib.h": "regular expressions",
    "Include/object.h": "reference counting (inlined)",
    "Include/internal/pycore_object.h": "reference counting, object headers (inlined)",
    "Objects/call.c": "calls between functions",
    "Objects/tupleobject.c": "tuples",
    "Objects/listobject.c": "lists",
    "Objects/longobject.c": "integers",
    "Objects/abstract.c": "generic protocols (isinstance, iteration)",
    "Objects/descrobject.c": "descriptors (properties, methods)",
}


def _short(path) -> str:
    """A CPython source path from its build folder on: ``Objects/dictobject.c``; others as given."""
    if not path:
        return "?"
    for top in ("/Python/", "/Objects/", "/Modules/", "/Include/", "/Parser/"):
        if top in path:
            return top[1:] + path.split(top, 1)[1]
    return path


def attribute(cell: dict, reference: dict, top: int = 5, spine: float = 0.9) -> dict:
    """Where ``cell`` (a ``per_request`` result) spends more or fewer instructions than ``reference``.

    - ``functions``: the ``top`` functions by the size of their inclusive difference, each with its share
      of the whole difference, leaving out the functions that contain nearly the whole request
      (``spine``: the entry point, the evaluator) and those on the interpreter's re-entry cycles (whose
      inclusive costs count nested calls more than once);
    - ``files``: the same difference by the source file of the code that ran (self cost: the shares add
      up to 100%), the ``top`` largest;
    - ``bytecode``: the evaluator's own instructions.
    """
    difference = cell["total"] - reference["total"]
    skip = reentrant(cell["edges"] | reference["edges"])

    def share(x: float):
        return round(100 * x / difference, 1) if difference else None

    def largest(a: dict, b: dict, keep) -> list:
        found = [(k, a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b) if keep(k)]
        return sorted((x for x in found if x[1]), key=lambda x: (-abs(x[1]), str(x[0])))[:top]

    def wide(fn) -> bool:
        return (cell["inclusive"].get(fn, 0.0) >= spine * cell["total"]
                or reference["inclusive"].get(fn, 0.0) >= spine * reference["total"])

    functions = largest(cell["inclusive"], reference["inclusive"],
                        lambda fn: fn not in skip and not fn.startswith("0x") and not wide(fn))
    files: dict = defaultdict(float)
    for which, sign in ((cell, 1), (reference, -1)):
        for path, cost in which["files"].items():
            files[_short(path)] += sign * cost
    evaluator = cell["self"].get(EVALUATOR, 0.0) - reference["self"].get(EVALUATOR, 0.0)
    return {"difference": round(difference, 1),
            "functions": [{"function": fn, "instructions": round(delta, 1), "share_pct": share(delta),
                           "calls": round(cell["calls"].get(fn, 0.0) - reference["calls"].get(fn, 0.0), 2)}
                          for fn, delta in functions],
            "files": [{"file": path, "role": FILE_ROLES.get(path, ""), "instructions": round(delta, 1),
                       "share_pct": share(delta)} for path, delta in largest(files, {}, lambda k: True)],
            "bytecode": {"instructions": round(evaluator, 1), "share_pct": share(evaluator)}}
