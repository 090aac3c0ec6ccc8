"""Property suite: bad input at every API parameter and body gets a clear 4xx (or a valid 2xx), never a 5xx.

Hypothesis throws NUL, lone surrogates, CR/LF, huge and non-finite numbers, deep nesting, 10 KB ids,
over-long durations and non-UTF-8 bytes at the query parameters of ``GET api/jobs/``, every field of the
enqueue body (and the raw body), job ids in URLs, and abort, through Django's test client against the
test Redis. Runs on SQLite and on PostgreSQL (``make test-postgres``). The counts (inputs tried, 2xx,
4xx, 5xx) go to ``.run/hardening-api-counts-<database vendor>.json``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

TOKEN = "tok-" + "h" * 40
AUTH = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
EXAMPLES = 1000
SUITE = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

SPECIAL_TEXT = [
    "",
    "\x00",
    "nul\x00id",
    "\ud800",
    "a\udfffb",
    "line\r\nbreak",
    "x" * 10_000,
    " " * 50_000,
    "²",
    "9" * 5000,
    "1000000d",
    "99999999999999d",
    "1e300",
    "Infinity",
    "NaN",
    "-1",
    "0",
    "unique:add:" + "0" * 64,
    "every_second:1700000000000",
    "arq:queue",
    "mail",
    "arq:result:x",
    "../../etc/passwd",
    "%00",
    "<script>",
    "add",
    "complete",
    "failed",
    "1h",
    "50",
]
text = st.one_of(
    st.sampled_from(SPECIAL_TEXT),
    st.text(st.characters(blacklist_categories=()), max_size=30),  # surrogates included
    st.text(max_size=10),
)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=10**300, max_value=10**4000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e300, -1e300, float("inf"), float("-inf"), float("nan"), 2**63, -(2**63) - 1, 10**20]),
)
leaves = st.one_of(st.none(), st.booleans(), numbers, text)
json_values = st.recursive(
    leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3), max_leaves=8
)
job_names = st.one_of(
    st.sampled_from(["add", "echo", "count", "unique_job", "boom", "nonexistent"]), json_values
)
queues = st.one_of(st.sampled_from(["arq:queue", "mail", "elsewhere"]), json_values)
bodies = st.fixed_dictionaries(
    {"name": job_names},
    optional={
        "args": st.one_of(st.lists(json_values, max_size=4), json_values),
        "kwargs": st.one_of(st.dictionaries(text, json_values, max_size=3), json_values),
        "queue": queues,
        "job_id": st.one_of(text, json_values),
        "defer": st.one_of(numbers, text, json_values),
        "surprise": json_values,
    },
)


def _encode(body: Any, how: str) -> bytes:
    """A body as JSON bytes: ASCII escapes (lone surrogates as \\ud800), or raw UTF-8 where lone
    surrogates become bytes that are not UTF-8."""
    try:
        if how == "ascii":
            return json.dumps(body).encode()
        return json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
    except ValueError:  # an int past Python's 4300-digit str limit: send its digits raw instead
        return b'{"name": "add", "defer": ' + b"9" * 5000 + b"}"


def _deep(depth: int, where: str) -> bytes:
    nest = "[" * depth + "]" * depth
    if where == "body":
        return nest.encode()
    return b'{"name": "add", "' + where.encode() + b'": ' + nest.encode() + b"}"


raw_bodies = st.one_of(
    st.tuples(bodies, st.sampled_from(["ascii", "raw"])).map(lambda b: _encode(*b)),
    st.tuples(st.integers(1, 20_000), st.sampled_from(["body", "args", "kwargs", "defer", "job_id"])).map(
        lambda d: _deep(*d)
    ),
    st.binary(max_size=300),
    st.sampled_from([b"", b"null", b"[]", b"{", b'{"name": "add", "defer": Infinity}', b'{"name": NaN}']),
)
# URL parts as bytes, percent-encoded as a client would send them (non-UTF-8 included).
url_bytes = st.one_of(
    text.map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=40),
    st.sampled_from([b"\xff\xfe", b"\xed\xa0\x80", b"x" * 10_000, b"a/b", b".."]),
)
PARAMS = ["status", "function", "queue", "since", "limit", "other"]
queries = st.dictionaries(st.sampled_from(PARAMS), url_bytes, max_size=5)


class Tally:
    """Counts per response class; written to ``.run/hardening-api-counts-<vendor>.json`` at the end."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def check(self, response: HttpResponse, what: str) -> None:
        status = response.status_code
        self.counts["inputs"] += 1
        self.counts[f"{status // 100}xx"] += 1
        assert status < 500, f"{what} -> {status}: {response.content[:300]!r}"
        assert 200 <= status < 500, f"{what} -> {status}"
        if status >= 400 and response.get("Content-Type", "").startswith("application/json"):
            message = response.json()["error"]
            assert isinstance(message, str) and message and len(message) < 2000, message


@pytest.fixture(scope="module")
def tally() -> Iterator[Tally]:
    counts = Tally()
    yield counts
    out = ROOT / ".run" / f"hardening-api-counts-{connection.vendor}.json"
    Path(out.parent).mkdir(exist_ok=True)
    data = {"inputs": 0, "2xx": 0, "4xx": 0, "5xx": 0, **counts.counts}
    out.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


@pytest.fixture
def api(settings, redis_url) -> Client:  # type: ignore[no-untyped-def]
    settings.ARQ_DJANGO = {
        **settings.ARQ_DJANGO,
        "API_TOKENS": [TOKEN],
        "API_ENQUEUE_ALLOWED": ["add", "echo", "count", "unique_job", "nonexistent"],
        "QUEUES": ["arq:queue", "mail"],
    }
    return Client()


def _query(params: dict[str, bytes]) -> str:
    return "&".join(f"{k}={quote_from_bytes(v, safe='')}" for k, v in params.items())


@SUITE
@given(params=queries)
def test_list_parameters(api, tally, redis_client, params):
    response = api.get(f"/arq/api/jobs/?{_query(params)}", **AUTH)
    tally.check(response, f"GET jobs ?{params!r:.200}")


@SUITE
@given(body=raw_bodies)
def test_enqueue_bodies(api, tally, body):
    response = api.post("/arq/api/jobs/", body, content_type="application/json", **AUTH)
    tally.check(response, f"POST jobs {body[:200]!r}")
    if response.status_code == 202:
        assert response.json()["job_id"]


@SUITE
@given(job_id=url_bytes, method=st.sampled_from(["get", "abort", "put", "delete"]), body=raw_bodies)
def test_job_ids_in_urls_and_abort(api, tally, job_id, method, body):
    path = f"/arq/api/jobs/{quote_from_bytes(job_id, safe='')}/"
    if method == "get":
        response = api.get(path, **AUTH)
    elif method == "abort":
        response = api.post(path + "abort/", body, content_type="application/json", **AUTH)
    else:
        response = getattr(api, method)(path, **AUTH)
    tally.check(response, f"{method} {path[:200]}")


@SUITE
@given(params=queries, body=raw_bodies)
def test_a_queue_holding_odd_members_still_lists(api, tally, redis_client, params, body):
    """Whatever sits in a queue (members that are not UTF-8, records that do not decode)."""
    member = body[:255] or b"empty"
    redis_client.zadd("arq:queue", {member: 1})
    redis_client.set(b"arq:job:" + member, body)
    response = api.get(f"/arq/api/jobs/?{_query({k: v for k, v in params.items() if k != 'queue'})}", **AUTH)
    tally.check(response, f"GET jobs with member {member[:100]!r}")
    for path in ("/arq/api/stats/", "/arq/api/workers/"):
        tally.check(api.get(path, **AUTH), path)
