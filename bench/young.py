"""Young-generation counts counted once per stage: by its first worker, given to the others, which check some.

What a request adds to the young generation's count (``bench.request_worker.young_count_per_call``: tracked
objects allocated minus freed, the collector paused, counted right after a young collection) is what the
whole-request stages charge its collections by. Counted so, it is a property of the code, not of the
process: in the 40 workers of a full ``make request`` (each its own hash seed and app creation order) all 131
subjects counted the same to the last digit, and all 80 of a full payload sweep in its 16 workers; counting
took 1.1 s of each request worker's 4.1 s and 0.7 s of each payload worker's set-up. So a stage's first worker
counts every subject, the later ones are given its counts (``shared_young``, the ``prepare`` of
``harness.processes.run_workers``) and each counts ``YOUNG_RECHECKED`` subjects of its own choosing again;
``young_check`` gathers those recounts for the stage's results and warnings.
"""
from __future__ import annotations

import numpy as np

YOUNG_RECHECKED = 8  # subjects a worker given the first worker's counts counts again itself


def counted_or_shared(job: dict, subjects: int, rng, count) -> tuple:
    """(every subject's count, the recounts as [index, count] pairs). ``count(indices)``: the counts of those
    subjects, counted now. The first worker (no ``young_shared`` in its job) counts all; a later one takes the
    shared counts and recounts ``YOUNG_RECHECKED`` subjects drawn with ``rng``."""
    shared = job.get("young_shared")
    if shared is None:
        return np.asarray(count(list(range(subjects))), dtype=float), []
    picked = sorted(rng.choice(subjects, min(YOUNG_RECHECKED, subjects), replace=False).tolist())
    return np.asarray(shared, dtype=float), [[i, round(float(x), 3)] for i, x in zip(picked, count(picked))]


def shared_young(job: dict, done: list) -> dict:
    """A job with the first worker's counts, once there is a first worker (``run_workers``'s ``prepare``)."""
    return {**job, "young_shared": done[0]["young_count_per_call"]} if done else job


def young_check(workers: list) -> dict:
    """The later workers' recounts of the first worker's counts: how many, and which differed."""
    keys, shared = workers[0]["keys"], workers[0]["young_count_per_call"]
    rechecked = [(w["index"], i, own) for w in workers[1:] for i, own in w.get("young_rechecked", [])]
    differ = [{"worker": index, "subject": keys[i], "first_worker": shared[i], "own": own}
              for index, i, own in rechecked if abs(own - shared[i]) > 1e-6]
    return {"counted_by": "the first worker; every later one counts some subjects again",
            "rechecked": len(rechecked), "differ": differ[:20], "differ_count": len(differ)}


def young_warning(check: dict) -> list:
    """The stage's warning when a recount differs (the collections' shares of those subjects are then approximate)."""
    if not check["differ_count"]:
        return []
    first = check["differ"][0]
    return [f"young-generation counts: {check['differ_count']} of {check['rechecked']} recounts in later workers "
            f"differ from the first worker's, which every worker's collections are charged by (e.g. "
            f"{first['subject']}: {first['first_worker']} against {first['own']}); those collection shares are "
            f"approximate"]
