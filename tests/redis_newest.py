"""``make test-redis-newest``: read ``pip index versions redis`` on stdin; fail unless this venv's redis-py
is the newest release the worker's arq allows (so CI's whole suite runs on it)."""

from __future__ import annotations

import importlib.metadata
import re
import sys

from packaging.requirements import Requirement
from packaging.version import Version


def main() -> int:
    listing = sys.stdin.read()
    match = re.search(r"Available versions: (.+)", listing)
    if not match:
        print(f"pip index versions redis printed no versions:\n{listing}", file=sys.stderr)
        return 1
    (cap,) = [Requirement(r) for r in importlib.metadata.requires("arq") or [] if r.startswith("redis")]
    allowed = [v for v in map(Version, match[1].split(", ")) if not v.is_prerelease and v in cap.specifier]
    newest, installed = max(allowed), Version(importlib.metadata.version("redis"))
    if installed != newest:
        print(
            f"redis-py {installed} is installed; the newest arq allows ({cap}) is {newest}", file=sys.stderr
        )
        return 1
    print(f"redis-py {installed}: the newest release arq {importlib.metadata.version('arq')} allows ({cap})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
