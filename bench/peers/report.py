"""The report of ``make bench-peers``: the table (Markdown, as the READMEs quote it), the paired rounds, the
ratios to the best peer and the targets; saved as text and JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.peers.systems import System
from bench.peers.targets import Extras, Result, Target, ratios


def ms(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else "-"


def rate(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None else "-"


def table(results: dict[str, Result], versions: dict[str, str], chosen: Sequence[System]) -> list[str]:
    head = "| system | worker mode | enqueue/s | drain/s | cold p50 / p99 ms | warm p50 / p99 ms |"
    lines = [head, "| --- | --- | --- | --- | --- | --- |"]
    for system in chosen:
        r = results.get(system.key)
        if r is None:
            continue
        name = f"{r.label} {versions.get(system.package, '')}".strip()
        if r.error:
            lines.append(f"| {name} | {r.mode} | failed: {r.error.splitlines()[0][:80]} | | | |")
            continue
        cold = f"{ms(r.latency('cold', 50))} / {ms(r.latency('cold', 99))}"
        warm = f"{ms(r.latency('warm', 50))} / {ms(r.latency('warm', 99))}"
        enqueue = rate(r.enqueue_per_s)
        if r.aenqueue_per_s is not None:
            enqueue += f" (aenqueue {rate(r.aenqueue_per_s)})"
        drain = rate(r.drain_per_s)
        if r.repeated_runs:
            drain += f" (+{r.repeated_runs} repeated {'run' if r.repeated_runs == 1 else 'runs'})"
        lines.append(f"| {name} | {r.mode} | {enqueue} | {drain} | {cold} | {warm} |")
    return lines


def render(
    head: str,
    results: dict[str, Result],
    versions: dict[str, str],
    chosen: Sequence[System],
    extras: Extras,
    ours: Sequence[str],
    checked: Sequence[Target],
) -> str:
    rounds = {"--processes 2 / 1": extras.processes_ratios, "mirror on / off": extras.mirror_ratios}
    return "\n".join(
        [
            head,
            "",
            *table(results, versions, chosen),
            "",
            *(f"  {note}" for note in extras.notes),
            *(
                f"  {name}, round by round: {', '.join(f'{x:.2f}' for x in got) or '-'}"
                for name, got in rounds.items()
            ),
            "",
            "RATIOS (arq_django / best peer; rates: above 1 is better, latencies: below 1)",
            *ratios(results, ours),
            "",
            "TARGETS",
            *(t.line() for t in checked),
        ]
    )


def save(out: Path, text: str, figures: dict[str, Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".txt").write_text(text + "\n")
    out.with_suffix(".json").write_text(json.dumps(figures, indent=1) + "\n")
    print(f"saved {out.with_suffix('.txt')} and {out.with_suffix('.json')}")
