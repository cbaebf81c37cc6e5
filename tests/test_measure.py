"""What every measurement stands on: the floor, the planted cost and the app creation order."""
import random

from werkzeug.test import Client

from harness import measure
from variants import REGISTRY
from variants.contract import SCENARIOS, deviations


def test_the_floor_serves_the_contract():
    """Every scenario's request gets the contract's status, headers and JSON; anything else a 404."""
    client = Client(measure.floor_app())
    for scenario in SCENARIOS.values():
        response = client.open(scenario.path, method=scenario.method, headers=scenario.request_headers, data=scenario.body)
        assert deviations(scenario.case, response.status_code, response.headers, response.get_data()) == []
    assert client.get("/nowhere").status_code == 404
    assert client.get(SCENARIOS["admin"].path, headers={"Authorization": "Bearer nobody"}).status_code == 404


def test_the_floor_sends_jsonify_tuple_bytes():
    """The floor's bytes are the default idiom's, so a ratio to it compares like with like."""
    client = Client(REGISTRY["jsonify_tuple"].create_app())
    for name, scenario in SCENARIOS.items():
        response = client.open(scenario.path, method=scenario.method, headers=scenario.request_headers, data=scenario.body)
        assert response.get_data() == measure.floor_body(name) == measure.floor_response(name).get_data()


def test_planted_waits_and_then_calls_through():
    """The planted wrapper passes arguments and result through; the clock must pass the wait."""
    ticks = iter(range(0, 10_000, 100))  # a fake clock: 100 ns per read
    reads = []

    def clock():
        reads.append(next(ticks))
        return reads[-1]

    measure.busy_wait(1_000, clock=clock)
    assert reads[-1] - reads[0] >= 1_000 and len(reads) == 11
    assert measure.planted(lambda a, b=0: (a, b), 0)(1, b=2) == (1, 2)


def test_apps_are_created_in_a_shuffled_order_and_returned_by_name():
    made = []
    makers = {name: (lambda name=name: made.append(name) or name) for name in "abcdefgh"}
    apps = measure.create_in_random_order(makers, random.Random(3))
    assert list(apps) == list(makers) and all(apps[n] == n for n in makers)
    assert sorted(made) == list(makers) and made != list(makers)
    orders = set()
    for seed in range(5):
        made.clear()
        measure.create_in_random_order(makers, random.Random(seed))
        orders.add(tuple(made))
    assert len(orders) > 1
