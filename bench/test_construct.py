"""Construction: the idiom's return value turned into a response, in a pushed request context."""
import pytest

from bench.subjects import BASELINES, baseline_subject, calibration_subjects, variant_subject


@pytest.mark.benchmark(group="construct")
def test_construct(benchmark, variant, scenario):
    subject = variant_subject(variant, "construct", scenario)
    benchmark.group = f"construct-{scenario}"
    with subject.entered():
        result = benchmark(subject.call)
    subject.check(result)


@pytest.mark.benchmark(group="construct-baselines")
@pytest.mark.parametrize("name", BASELINES)
def test_construct_baseline(benchmark, name):
    subject = baseline_subject(name, "construct")
    with subject.entered():
        result = benchmark(subject.call)
    subject.check(result)


@pytest.mark.benchmark(group="construct-calibration")
@pytest.mark.parametrize("index", [0, 1], ids=["planted", "planted_reference"])
def test_construct_calibration(benchmark, index):
    subject = calibration_subjects()[index]
    with subject.entered():
        result = benchmark(subject.call)
    subject.check(result)
