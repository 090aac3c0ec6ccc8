"""Issue 18's targets, from one run's figures: ratios of arq_django to the best peer, each line ``met`` or
``MISSED``. Pure functions of the figures (``tests/bench/test_peers_targets.py``)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

P99_MS = 10.0
ENQUEUE_VS_PEER = 1.0
AENQUEUE_VS_ARQ = 1.5
DRAIN_VS_PEER = 1.2
PROCESSES_2_VS_1 = 1.6
MIRROR_ON_VS_OFF = 0.85


@dataclass(frozen=True)
class Result:
    """One system's figures (``None`` where it was not measured or failed)."""

    label: str
    mode: str = ""
    peer: bool = True
    enqueue_per_s: float | None = None
    aenqueue_per_s: float | None = None
    drain_per_s: float | None = None
    warm_ms: tuple[float, ...] = ()
    cold_ms: tuple[float, ...] = ()
    repeated_runs: int = 0
    """Runs beyond one per job during the drain (a redelivery); ``drain_per_s`` counts first starts."""
    error: str = ""

    def latency(self, kind: str, p: float) -> float | None:
        samples = self.warm_ms if kind == "warm" else self.cold_ms
        return percentile(samples, p) if samples else None


@dataclass(frozen=True)
class Target:
    label: str
    value: float | None
    target: str
    met: bool

    def line(self) -> str:
        shown = f"{self.value:8.2f}" if self.value is not None else f"{'n/a':>8}"
        return f"  {self.label:72} {shown}   target {self.target:10} {'met' if self.met else 'MISSED'}"


@dataclass(frozen=True)
class Extras:
    """The paired drains: ``--processes 2`` over ``--processes 1``, mirror on over off, round by round."""

    processes_ratios: tuple[float, ...] = ()
    mirror_ratios: tuple[float, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


def percentile(samples: Sequence[float], p: float) -> float:
    """Nearest rank: with 50 samples p99 is the slowest."""
    ordered = sorted(samples)
    return ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)]


def _value(result: Result, figure: str) -> float | None:
    if figure in ("enqueue_per_s", "drain_per_s", "aenqueue_per_s"):
        value: float | None = getattr(result, figure)
        return value
    kind, p = figure.split("_p")  # "warm_p50", "cold_p99"
    return result.latency(kind, float(p))


LOWER_IS_BETTER = {"warm_p50", "warm_p99", "cold_p50", "cold_p99"}


def best_peer(results: Mapping[str, Result], figure: str) -> tuple[str, float] | None:
    """The peer with the best ``figure`` (highest rate, lowest latency) and its value."""
    found = [(key, v) for key, r in results.items() if r.peer and (v := _value(r, figure)) is not None]
    if not found:
        return None
    pick = min if figure in LOWER_IS_BETTER else max
    return pick(found, key=lambda pair: pair[1])


def ratios(results: Mapping[str, Result], ours: Sequence[str]) -> list[str]:
    """Lines ``arq_django <variant> / best peer (<peer>)`` per figure: above 1 is better for rates, below 1
    for latencies."""
    lines = []
    for figure in ("enqueue_per_s", "drain_per_s", "cold_p50", "cold_p99", "warm_p50", "warm_p99"):
        best = best_peer(results, figure)
        if best is None:
            continue
        for key in ours:
            value = _value(results[key], figure) if key in results else None
            if value is None or not best[1]:
                continue
            lines.append(
                f"  {figure:14} {results[key].label:38} / best peer {results[best[0]].label:22} "
                f"{value / best[1]:6.2f}"
            )
    return lines


def _at_least(label: str, value: float | None, floor: float) -> Target:
    return Target(label, value, f">= {floor:g}", value is not None and value >= floor)


def _at_most(label: str, value: float | None, ceiling: float) -> Target:
    return Target(label, value, f"<= {ceiling:g}", value is not None and value <= ceiling)


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    return ours / theirs if ours is not None and theirs else None


def targets(
    results: Mapping[str, Result], defaults: Sequence[str], raw_arq: str, extras: Extras
) -> list[Target]:
    """Every target line: rates as ratios to the best peer, latencies as ms against the best peer's."""
    lines: list[Target] = []
    best = {
        figure: best_peer(results, figure)
        for figure in ("enqueue_per_s", "drain_per_s", "cold_p50", "warm_p50")
    }

    def peer_value(figure: str) -> float | None:
        found = best[figure]
        return found[1] if found else None

    for key in defaults:
        ours = results.get(key)
        if ours is None:
            continue
        name = ours.label
        lines.append(
            _at_least(
                f"enqueue() {name} / best peer",
                _ratio(ours.enqueue_per_s, peer_value("enqueue_per_s")),
                ENQUEUE_VS_PEER,
            )
        )
        lines.append(
            _at_least(
                f"drain {name} / best peer",
                _ratio(ours.drain_per_s, peer_value("drain_per_s")),
                DRAIN_VS_PEER,
            )
        )
        for kind in ("cold", "warm"):
            p50, best_p50 = ours.latency(kind, 50), peer_value(f"{kind}_p50")
            lines.append(
                Target(
                    f"{kind} enqueue->start p50 ms {name} (best peer {best_p50 or 0:.1f})",
                    p50,
                    "<= best",
                    p50 is not None and best_p50 is not None and p50 <= best_p50,
                )
            )
            lines.append(_at_most(f"{kind} enqueue->start p99 ms {name}", ours.latency(kind, 99), P99_MS))
    first = results.get(defaults[0]) if defaults else None
    raw = results.get(raw_arq)
    lines.append(
        _at_least(
            f"aenqueue() {first.label if first else 'arq_django'} / raw arq enqueue_job",
            _ratio(first.aenqueue_per_s if first else None, raw.enqueue_per_s if raw else None),
            AENQUEUE_VS_ARQ,
        )
    )
    median = statistics.median(extras.processes_ratios) if extras.processes_ratios else None
    lines.append(
        _at_least("drain --processes 2 / --processes 1 (median of rounds)", median, PROCESSES_2_VS_1)
    )
    median = statistics.median(extras.mirror_ratios) if extras.mirror_ratios else None
    lines.append(_at_least("drain mirror on / off (median of rounds)", median, MIRROR_ON_VS_OFF))
    return lines
