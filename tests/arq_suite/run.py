"""``make arq-suite``: arq's own tests against plain arq (the baseline), then against arq_django's worker.

Usage: ``python tests/arq_suite/run.py <arq sdist dir>`` with the suite's venv. The suite FLUSHALLs, so it
gets a redis-server of its own on a free port, stopped afterwards. The run fails when a test that passes
on plain arq does not pass on our worker, unless :data:`replaced.REPLACED` lists it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from replaced import REPLACED  # noqa: E402

MIN_BASELINE_PASSED = 150
"""arq 0.28.0 has 174 tests; far fewer passing on plain arq means the harness, not the worker, broke."""
MIN_WORKERS_BUILT = 80
"""Workers the plugin must see built in our pass (96 with arq 0.28.0): fewer means the swap failed."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis(port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return server
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise SystemExit(f"arq-suite: redis-server on port {port} did not answer within 10 s")


def run_pass(arq_dir: Path, name: str, port: int, plugin: bool) -> dict[str, str]:
    report = arq_dir.parent / f"arq-suite-{name}.xml"
    report.unlink(missing_ok=True)
    paths = [str(HERE / "stubs")] + ([str(HERE)] if plugin else [])
    env = {
        **os.environ,
        "ARQ_SUITE_REDIS_PORT": str(port),
        "PYTHONPATH": os.pathsep.join(paths),
        "PYTHONDONTWRITEBYTECODE": "1",
        "ARQ_SUITE_BUILT_FILE": str(built_file(arq_dir)),
    }
    cmd = [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", f"--junitxml={report}"]
    if plugin:
        cmd += ["-p", "arq_suite_plugin"]
    print(f"== arq-suite: {name}", flush=True)
    subprocess.run(cmd, cwd=arq_dir, env=env, check=False)
    return outcomes(report)


def built_file(arq_dir: Path) -> Path:
    return arq_dir.parent / "arq-suite-workers-built.txt"


def outcomes(report: Path) -> dict[str, str]:
    """``nodeid -> passed | failed | skipped`` from a junit report."""
    result: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        module = case.get("classname", "").replace(".", "/")
        nodeid = f"{module}.py::{case.get('name')}"
        if case.find("skipped") is not None:
            result[nodeid] = "skipped"
        elif case.find("failure") is not None or case.find("error") is not None:
            result[nodeid] = "failed"
        else:
            result[nodeid] = "passed"
    return result


def count(results: dict[str, str]) -> str:
    values = list(results.values())
    return "passed {}, failed {}, skipped {}".format(
        *(values.count(k) for k in ("passed", "failed", "skipped"))
    )


def main(arq_dir: Path) -> int:
    port = free_port()
    built_file(arq_dir).unlink(missing_ok=True)
    server = start_redis(port)
    try:
        baseline = run_pass(arq_dir, "baseline", port, plugin=False)
        ours = run_pass(arq_dir, "arq_django", port, plugin=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
    stale = sorted(set(REPLACED) - set(baseline))
    regressions = sorted(
        t
        for t, outcome in baseline.items()
        if outcome == "passed" and ours.get(t) != "passed" and t not in REPLACED
    )
    by_design = [t for t in REPLACED if ours.get(t) == "skipped"]
    print(f"arq-suite baseline (plain arq): {count(baseline)}")
    print(f"arq-suite arq_django worker:    {count(ours)} (skipped by design: {len(by_design)})")
    for test in regressions:
        print(f"REGRESSION: {test} passes on arq, {ours.get(test, 'missing')} on arq_django")
    built = int(built_file(arq_dir).read_text()) if built_file(arq_dir).exists() else 0
    print(f"arq-suite: {built} arq_django workers built by arq's tests")
    if built < MIN_WORKERS_BUILT:
        print(f"arq-suite: fewer than {MIN_WORKERS_BUILT}: arq's tests did not get arq_django's worker")
        return 1
    for test in stale:
        print(f"STALE: {test} is in replaced.REPLACED but not in arq's suite")
    if list(baseline.values()).count("passed") < MIN_BASELINE_PASSED:
        print(f"arq-suite: fewer than {MIN_BASELINE_PASSED} tests pass on plain arq: the harness is broken")
        return 1
    return 1 if regressions or stale else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]).resolve()))
