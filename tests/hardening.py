"""Bad inputs for the property suites (``test_hardening_*``), and their tally in ``.run/``.

The values a careless producer or an attacker sends: NUL characters, lone surrogates, line breaks,
10 KB text, huge and non-finite numbers, deep nesting, bytes that are not UTF-8.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

from django.db import connection
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
TEN_KB = 10_240

NASTY_TEXT = st.one_of(
    st.text(max_size=12),
    st.text(st.characters(codec=None, categories=("Cs", "Cc", "Zl", "Co")), min_size=1, max_size=4),
    st.sampled_from(["\x00", "a\x00b", "\ud800", "x\udfff", "\udfff\ud800", "\r\nX", "😀", "\\u0000", "é"]),
    st.just("i" * TEN_KB),
)
"""Text, including what Redis keys, JSON columns, log lines and UTF-8 cannot all take."""

NUMBERS = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, math.inf, -math.inf, math.nan, 9.3e15, 2**63, 2**31, -1, 0, 0.5, 5]),
)

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | NUMBERS | NASTY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NASTY_TEXT, inner, max_size=3),
    max_leaves=8,
)
"""What ``json.loads`` can hand a job (NaN and infinities included: Python's parser accepts them)."""

IDS = st.one_of(
    st.uuids().map(str),
    st.from_regex(r"\A[a-z0-9:-]{1,40}\Z"),
    NASTY_TEXT,
    st.just("k" * TEN_KB),
    st.text(min_size=256, max_size=300),
)


def deep(depth: int) -> bytes:
    return b'{"type": "echo", "data": {"x": ' + b"[" * depth + b"]" * depth + b"}}"


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    """One raw list element: usually a message object with bad parts, sometimes not JSON at all."""
    kind = draw(st.sampled_from(["message"] * 6 + ["bytes", "deep"]))
    if kind == "bytes":
        return draw(
            st.binary(max_size=40) | st.sampled_from([b"\xff\xfe", b"{", b"null", b"[]", b'"x"', b""])
        )
    if kind == "deep":
        return deep(draw(st.sampled_from([50, 1_000, 10_000, 100_000])))
    obj: dict[str, Any] = {
        "type": draw(st.sampled_from(["echo", "add", "sync_add", "mail_job", "nope"]) | NASTY_TEXT)
    }
    if draw(st.booleans()):
        obj["data"] = draw(
            st.dictionaries(st.sampled_from(["a", "b", "key", "n"]) | NASTY_TEXT, JSON_VALUES, max_size=3)
        )
    if draw(st.booleans()):
        obj["args"] = draw(st.lists(JSON_VALUES, max_size=3))
    options = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "job_id": IDS,
                "queue": st.sampled_from(["mail", "arq:queue", "nope"]) | NASTY_TEXT,
                "defer_by": NUMBERS,
                "expires": NUMBERS,
                "defer_until": NUMBERS | NASTY_TEXT,
                "priority": NUMBERS,
            },
        )
    )
    if options:
        obj["options"] = options
    text = json.dumps(obj, ensure_ascii=draw(st.booleans()))
    # Unescaped surrogates become bytes that are not UTF-8, as a sloppy producer would send them.
    return text.encode("utf-8", "surrogatepass")


def record(suite: str, counts: Counter[str]) -> Path:
    """Merge ``counts`` into ``.run/hardening-counts-<database>.json`` under ``suite``; returns the file."""
    path = ROOT / ".run" / f"hardening-counts-{connection.vendor}.json"
    path.parent.mkdir(exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {}
    data[suite] = dict(sorted(counts.items()))
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(f"\n{suite} ({connection.vendor}): {data[suite]} -> {path}")
    return path
