"""``make bench-peers``'s verdicts (``bench.peers.targets``): the best peer per figure, the ratios and the
``met`` / ``MISSED`` lines, on made-up figures."""

from __future__ import annotations

import pytest

from bench.peers.targets import Extras, Result, best_peer, percentile, ratios, targets

PEERS = {
    "huey": Result("huey", enqueue_per_s=9000, drain_per_s=2000, warm_ms=(3.0, 4.0), cold_ms=(5.0, 6.0)),
    "saq": Result("saq", enqueue_per_s=5000, drain_per_s=1500, warm_ms=(2.0, 9.0), cold_ms=(2.5, 30.0)),
    "arq": Result("raw arq", enqueue_per_s=2000, drain_per_s=200, warm_ms=(300.0,), cold_ms=(400.0,)),
    "broken": Result("broken", error="its worker exited with 1"),
}


def ours(**figures: object) -> Result:
    base: dict[str, object] = {
        "enqueue_per_s": 9500.0,
        "aenqueue_per_s": 3100.0,
        "drain_per_s": 2500.0,
        "warm_ms": (1.5, 2.0),
        "cold_ms": (2.0, 9.0),
    }
    return Result("arq_django, defaults, SQLite", peer=False, **(base | figures))  # type: ignore[arg-type]


def by_label(lines) -> dict[str, tuple[float | None, bool]]:
    return {t.label.split(" (best peer")[0]: (t.value, t.met) for t in lines}


def test_percentiles_are_nearest_rank():
    samples = list(range(1, 51))
    assert percentile(samples, 50) == 25 and percentile(samples, 99) == 50 and percentile([7.0], 99) == 7.0


def test_the_best_peer_is_the_fastest_rate_and_the_lowest_latency_among_peers_only():
    results = {**PEERS, "ours": ours(enqueue_per_s=99_999.0)}
    assert best_peer(results, "enqueue_per_s") == ("huey", 9000)
    assert best_peer(results, "drain_per_s") == ("huey", 2000)
    assert best_peer(results, "warm_p50") == ("saq", 2.0)
    assert best_peer(results, "cold_p99") == ("huey", 6.0)
    assert best_peer({"ours": ours()}, "drain_per_s") is None


def test_every_target_met():
    results = {**PEERS, "ours": ours()}
    lines = targets(results, ["ours"], "arq", Extras(processes_ratios=(1.7, 1.9, 1.5), mirror_ratios=(0.9,)))
    found = by_label(lines)
    assert all(t.met for t in lines), [t.line() for t in lines if not t.met]
    assert found["enqueue() arq_django, defaults, SQLite / best peer"][0] == pytest.approx(9500 / 9000)
    assert found["drain arq_django, defaults, SQLite / best peer"][0] == pytest.approx(1.25)
    assert found["aenqueue() arq_django, defaults, SQLite / raw arq enqueue_job"][0] == pytest.approx(1.55)
    assert found["drain --processes 2 / --processes 1 (median of rounds)"][0] == pytest.approx(1.7)
    assert found["cold enqueue->start p50 ms arq_django, defaults, SQLite"] == (2.0, True)


@pytest.mark.parametrize(
    ("figures", "extras", "missed"),
    [
        (
            {"enqueue_per_s": 8999.0},
            Extras((2.0,), (0.9,)),
            "enqueue() arq_django, defaults, SQLite / best peer",
        ),
        ({"drain_per_s": 2399.0}, Extras((2.0,), (0.9,)), "drain arq_django, defaults, SQLite / best peer"),
        (
            {"aenqueue_per_s": 2999.0},
            Extras((2.0,), (0.9,)),
            "aenqueue() arq_django, defaults, SQLite / raw arq enqueue_job",
        ),
        (
            {"warm_ms": (2.5, 3.0)},
            Extras((2.0,), (0.9,)),
            "warm enqueue->start p50 ms arq_django, defaults, SQLite",
        ),
        (
            {"cold_ms": (2.0, 10.5)},
            Extras((2.0,), (0.9,)),
            "cold enqueue->start p99 ms arq_django, defaults, SQLite",
        ),
        ({}, Extras((1.5, 1.59, 2.0), (0.9,)), "drain --processes 2 / --processes 1 (median of rounds)"),
        ({}, Extras((2.0,), (0.84,)), "drain mirror on / off (median of rounds)"),
        ({}, Extras((), (0.9,)), "drain --processes 2 / --processes 1 (median of rounds)"),
    ],
)
def test_one_figure_short_misses_its_line_only(figures, extras, missed):
    lines = targets({**PEERS, "ours": ours(**figures)}, ["ours"], "arq", extras)
    assert [label for label, (_, met) in by_label(lines).items() if not met] == [missed]


def test_ratios_name_the_best_peer_per_figure():
    lines = ratios({**PEERS, "ours": ours()}, ["ours"])
    drain = next(line for line in lines if line.lstrip().startswith("drain_per_s"))
    assert "best peer huey" in drain and drain.rstrip().endswith("1.25")
    assert any(line.lstrip().startswith("warm_p50") and "saq" in line for line in lines)
