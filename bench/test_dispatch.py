"""Dispatch: one full WSGI call of the variant's app with a prepared environ, body consumed."""
import pytest

from bench.subjects import BASELINES, baseline_subject, variant_subject


@pytest.mark.benchmark(group="dispatch")
def test_dispatch(benchmark, variant, scenario):
    subject = variant_subject(variant, "dispatch", scenario)
    benchmark.group = f"dispatch-{scenario}"
    result = benchmark(subject.call)
    subject.check(result)


@pytest.mark.benchmark(group="dispatch-baselines")
@pytest.mark.parametrize("name", BASELINES)
def test_dispatch_baseline(benchmark, name):
    subject = baseline_subject(name, "dispatch")
    result = benchmark(subject.call)
    subject.check(result)
