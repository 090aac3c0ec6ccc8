"""``make bench-peers``'s table (``bench.peers.report``): what a reader of the README sees per system."""

from __future__ import annotations

from bench.peers import systems
from bench.peers.report import table
from bench.peers.targets import Result

HUEY, SAQ = systems.PEERS[0], systems.PEERS[2]


def test_a_redelivered_job_is_shown_beside_the_drain_and_a_failure_in_place_of_figures():
    results = {
        "huey": Result("huey", "10 threads", drain_per_s=2000.0, warm_ms=(3.0,), cold_ms=(5.0,)),
        "saq": Result("saq", "asyncio", drain_per_s=1500.0, repeated_runs=1, error="", warm_ms=(2.0,)),
    }
    rows = table(results, {"huey": "3.5.4", "saq": "0.26.4"}, [HUEY, SAQ])
    assert rows[2] == "| huey 3.5.4 | 10 threads | - | 2,000 | 5.0 / 5.0 | 3.0 / 3.0 |"
    assert "| 1,500 (+1 repeated run) |" in rows[3]

    failed = {"huey": Result("huey", "10 threads", error="worker exited with 1\nTraceback ...")}
    assert table(failed, {}, [HUEY])[2] == "| huey | 10 threads | failed: worker exited with 1 | | | |"
