"""The JSON API: who may call it (the full matrix), what it answers, and every 400/404/409."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from arq_django import enqueue
from arq_django.views.auth import token_matches
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

TOKEN = "tok-" + "a" * 40
OTHER_TOKEN = "tok-" + "b" * 40


@pytest.fixture
def api_settings(settings, redis_url):
    settings.ARQ_DJANGO = {
        **settings.ARQ_DJANGO,
        "API_TOKENS": [OTHER_TOKEN, TOKEN],
        "API_ENQUEUE_ALLOWED": ["add", "echo", "count"],
        "QUEUES": ["arq:queue", "mail"],
        "HEARTBEAT_INTERVAL": 0.1,
    }
    return settings


def with_perms(user, *codenames: str):
    """``user`` holding ``codenames`` of the arq_django app, fetched again (permissions are cached)."""
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="arq_django", codename__in=codenames)
    )
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def staff(django_user_model):
    """A staff user with the permissions the API asks for: view (GET) and change (enqueue, abort)."""
    user = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    return with_perms(user, "view_jobresult", "change_jobresult")


@pytest.fixture
def staff_client(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def post_json(client: Client, path: str, data, **extra):
    body = data if isinstance(data, (str, bytes)) else json.dumps(data)
    return client.post(path, body, content_type="application/json", **extra)


GETS = ["/arq/api/jobs/", "/arq/api/jobs/some-id/", "/arq/api/stats/", "/arq/api/workers/"]


@pytest.mark.parametrize("path", GETS)
def test_get_matrix(path, api_settings, client, django_user_model, staff_client):
    anonymous = client.get(path)
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"].startswith("Bearer")
    user = django_user_model.objects.create_user("plain", password="pw")
    plain = Client()
    plain.force_login(user)
    assert plain.get(path).status_code == 403
    assert client.get(path, **bearer("wrong")).status_code == 401
    assert client.get(path, HTTP_AUTHORIZATION="Basic c3RhZmY6cHc=").status_code == 401
    assert client.get(path, HTTP_AUTHORIZATION="Bearer ").status_code == 401
    assert staff_client.get(path, **bearer("wrong")).status_code == 401  # a bad token is never ignored
    ok = {200, 404}  # some-id does not exist: authorized, then not found
    assert client.get(path, **bearer()).status_code in ok
    assert client.get(path, **bearer(OTHER_TOKEN)).status_code in ok
    assert staff_client.get(path).status_code in ok


def test_post_matrix_with_csrf(api_settings, django_user_model, staff):
    payload = {"name": "add", "args": [1, 2]}
    anonymous = Client(enforce_csrf_checks=True)
    assert post_json(anonymous, "/arq/api/jobs/", payload).status_code == 401
    plain = Client(enforce_csrf_checks=True)
    plain.force_login(django_user_model.objects.create_user("plain", password="pw"))
    assert post_json(plain, "/arq/api/jobs/", payload).status_code == 403
    session = Client(enforce_csrf_checks=True)
    session.force_login(staff)
    refused = post_json(session, "/arq/api/jobs/", payload)
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]
    token = "c" * 32  # Django accepts an unmasked secret in both the cookie and the header
    session.cookies["csrftoken"] = token
    assert post_json(session, "/arq/api/jobs/", payload, HTTP_X_CSRFTOKEN="d" * 32).status_code == 403
    assert post_json(session, "/arq/api/jobs/", payload, HTTP_X_CSRFTOKEN=token).status_code == 202
    # Tokens need no CSRF token; a wrong token is 401 even with a staff session.
    assert post_json(anonymous, "/arq/api/jobs/", payload, **bearer()).status_code == 202
    wrong = post_json(session, "/arq/api/jobs/", payload, HTTP_X_CSRFTOKEN=token, **bearer("x"))
    assert wrong.status_code == 401
    assert post_json(anonymous, "/arq/api/jobs/x/abort/", {}).status_code == 401


VERBS = [
    ("get", "/arq/api/jobs/"),
    ("get", "/arq/api/jobs/some-id/"),
    ("get", "/arq/api/stats/"),
    ("get", "/arq/api/workers/"),
    ("get", "/arq/metrics"),
    ("post", "/arq/api/jobs/"),
    ("post", "/arq/api/jobs/some-id/abort/"),
]


def call(client: Client, method: str, path: str):
    if method == "get":
        return client.get(path)
    return post_json(client, path, {"name": "add", "args": [1, 2]} if path == "/arq/api/jobs/" else {})


@pytest.mark.parametrize(("method", "path"), VERBS)
def test_staff_without_permissions_is_refused(api_settings, django_user_model, method, path):
    session = Client()
    session.force_login(django_user_model.objects.create_user("bare", password="pw", is_staff=True))
    response = call(session, method, path)
    needed = "arq_django.change_jobresult" if method == "post" else "arq_django.view_jobresult"
    assert response.status_code == 403 and needed in response.json()["error"]


@pytest.mark.parametrize(("method", "path"), VERBS)
def test_each_permission_opens_its_verbs(api_settings, django_user_model, redis_client, method, path):
    user = django_user_model.objects.create_user("some", password="pw", is_staff=True)
    # view lets a user read, not write; change lets a user write, not read.
    other = "change_jobresult" if method == "get" else "view_jobresult"
    session = Client()
    session.force_login(with_perms(user, other))
    assert call(session, method, path).status_code == 403
    session.force_login(with_perms(user, "view_jobresult" if method == "get" else "change_jobresult"))
    assert call(session, method, path).status_code in {200, 202, 404}
    superuser = Client()
    superuser.force_login(django_user_model.objects.create_superuser("root", password="pw"))
    assert call(superuser, method, path).status_code in {200, 202, 404}


def test_tokens_are_compared_exactly():
    assert token_matches(TOKEN, (OTHER_TOKEN, TOKEN))
    assert not token_matches(TOKEN[:-1], (TOKEN,))
    assert not token_matches(TOKEN + "x", (TOKEN,))
    assert not token_matches(TOKEN, ())


def test_methods(api_settings, client):
    assert client.put("/arq/api/jobs/", **bearer()).status_code == 405
    assert client.get("/arq/api/jobs/x/abort/", **bearer()).status_code == 405
    assert client.post("/arq/api/stats/", **bearer()).status_code == 405
    assert client.delete("/arq/api/workers/", **bearer()).status_code == 405


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "malformed JSON"),
        ("[1, 2]", "must be a JSON object"),
        ({"name": "add", "when": 1}, "unknown fields ['when']"),
        ({"args": [1]}, '"name" must be'),
        ({"name": "add", "args": {"a": 1}}, '"args" must be a JSON array'),
        ({"name": "add", "kwargs": [1]}, '"kwargs" a JSON object'),
        ({"name": "add", "queue": "elsewhere"}, "queue 'elsewhere' is not a known queue"),
        ({"name": "add", "defer": "soon"}, "defer: not a duration"),
        ({"name": "add", "defer": -5}, "must not be negative"),
        ({"name": "add", "job_id": ""}, '"job_id" must be'),
        # Arguments the handler cannot take are refused here, not left to fail in the worker (issue 21).
        ({"name": "count", "args": [1, 2, 3, 4]}, "too many positional arguments"),
        ({"name": "count", "args": ["key"]}, None),
    ],
)
def test_enqueue_400s(api_settings, client, body, message):
    response = post_json(client, "/arq/api/jobs/", body, **bearer())
    if message is None:
        assert response.status_code == 202
        return
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]


def test_enqueue_only_allowed_jobs(api_settings, client, settings, redis_client):
    refused = post_json(client, "/arq/api/jobs/", {"name": "boom", "args": ["x"]}, **bearer())
    assert refused.status_code == 403 and "API_ENQUEUE_ALLOWED" in refused.json()["error"]
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "API_ENQUEUE_ALLOWED": ["add", "nonexistent"]}
    unknown = post_json(client, "/arq/api/jobs/", {"name": "nonexistent"}, **bearer())
    assert unknown.status_code == 400 and "is not registered" in unknown.json()["error"]
    assert redis_client.zcard("arq:queue") == 0


def test_enqueue_then_read(api_settings, client, redis_client):
    response = post_json(
        client,
        "/arq/api/jobs/",
        {
            "name": "echo",
            "args": [1],
            "kwargs": {"_job_id": "not-an-option"},
            "queue": "mail",
            "defer": "1h",
            "job_id": "api-1",
        },
        **bearer(),
    )
    assert response.status_code == 202
    assert response.json() == {"job_id": "api-1", "function": "echo", "queue": "mail"}
    assert response["Location"] == "/arq/api/jobs/api-1/"
    duplicate = post_json(client, "/arq/api/jobs/", {"name": "echo", "job_id": "api-1"}, **bearer())
    assert duplicate.status_code == 409
    detail = client.get("/arq/api/jobs/api-1/", **bearer()).json()
    assert detail["status"] == "deferred" and detail["queue"] == "mail" and detail["function"] == "echo"
    assert detail["args"] == [1] and detail["kwargs"] == {"_job_id": "not-an-option"}
    listed = client.get("/arq/api/jobs/?status=deferred&queue=mail", **bearer()).json()["jobs"]
    assert [j["job_id"] for j in listed] == ["api-1"]
    assert client.get("/arq/api/jobs/?status=queued", **bearer()).json()["jobs"] == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=lost", "unknown status 'lost'"),
        ("limit=0", "limit must be"),
        ("limit=x", "limit must be"),
        ("since=yesterday", "since: not a duration"),
    ],
)
def test_list_400s(api_settings, client, query, message):
    response = client.get(f"/arq/api/jobs/?{query}", **bearer())
    assert response.status_code == 400 and message in response.json()["error"]


def test_404s(api_settings, client):
    for response in (
        client.get("/arq/api/jobs/nope/", **bearer()),
        post_json(client, "/arq/api/jobs/nope/abort/", {}, **bearer()),
    ):
        assert response.status_code == 404 and "'nope' not found" in response.json()["error"]


def test_results_abort_stats_and_workers_with_a_real_worker(api_settings, client, thread_worker):
    thread_worker()
    done, failed = enqueue("add", 2, 3), enqueue("boom", "bad")
    running = enqueue("count", "slow", seconds=30)
    wait_for(lambda: client.get(f"/arq/api/jobs/{running.job_id}/", **bearer()).json()["status"] == "running")
    wait_for(done.result_info)
    wait_for(failed.result_info)
    complete = client.get(f"/arq/api/jobs/{done.job_id}/", **bearer()).json()
    assert complete["status"] == "complete" and complete["result"] == 5 and complete["error"] is None
    assert complete["start_time"] and complete["finish_time"]
    error = client.get(f"/arq/api/jobs/{failed.job_id}/", **bearer()).json()
    assert error["status"] == "failed" and error["error"] == "builtins.ValueError: bad"
    assert [j["job_id"] for j in client.get("/arq/api/jobs/?status=failed", **bearer()).json()["jobs"]] == [
        failed.job_id
    ]
    by_function = client.get("/arq/api/jobs/?function=add", **bearer()).json()["jobs"]
    assert [j["job_id"] for j in by_function] == [done.job_id]
    everything = client.get("/arq/api/jobs/", **bearer()).json()["jobs"]
    assert everything[0]["job_id"] == running.job_id and len(everything) == 3

    aborted = post_json(client, f"/arq/api/jobs/{running.job_id}/abort/", {}, **bearer())
    assert aborted.status_code == 202 and aborted.json()["abort_requested"] is True
    wait_for(running.result_info)
    assert client.get(f"/arq/api/jobs/{running.job_id}/", **bearer()).json()["status"] == "aborted"
    again = post_json(client, f"/arq/api/jobs/{running.job_id}/abort/", {}, **bearer())
    assert again.status_code == 409

    # The worker writes its outcome figures within 50 ms of a job's end (worker.stats.GATHER_S).
    wait_for(lambda: client.get("/arq/api/stats/", **bearer()).json()["queues"][0]["last_hour"]["aborted"])
    stats = client.get("/arq/api/stats/", **bearer()).json()
    [default, mail] = stats["queues"]
    assert default["queue"] == "arq:queue" and default["workers"] == 1 and mail["workers"] == 0
    assert default["last_hour"]["complete"] == 1 and default["last_hour"]["failed"] == 1
    stats = client.get("/arq/api/stats/", **bearer()).json()
    functions = {f["function"]: f["outcomes"] for f in stats["functions"]}
    assert functions == {"add": {"complete": 1}, "boom": {"failed": 1}, "count": {"aborted": 1}}
    wait_for(lambda: client.get("/arq/api/workers/", **bearer()).json()["workers"][0]["jobs_failed"] == 2)
    [worker] = client.get("/arq/api/workers/", **bearer()).json()["workers"]
    assert worker["queue"] == "arq:queue" and worker["jobs_complete"] == 1 and worker["jobs_failed"] == 2


def test_redis_down_is_503_not_500(api_settings, client, settings):
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "REDIS_URL": "redis://127.0.0.1:1/0"}
    for response in (
        client.get("/arq/api/jobs/", **bearer()),
        post_json(client, "/arq/api/jobs/", {"name": "add", "args": [1, 2]}, **bearer()),
        client.get("/arq/api/stats/", **bearer()),
    ):
        assert response.status_code == 503 and "127.0.0.1" not in response.content.decode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "add", "job_id": "unique:add:" + "0" * 64}, "is reserved"),  # a unique job's id
        ({"name": "add", "job_id": "every_second:1700000000000"}, "is reserved"),  # a cron tick's id
        ({"name": "add", "job_id": "arq_django.prune_results:1700000000000"}, "is reserved"),
        ({"name": "add", "job_id": "line\nbreak"}, "1 to 255 characters from ASCII letters"),
        ({"name": "add", "job_id": "x" * 10_000}, "1 to 255 characters"),
        ({"name": "add", "job_id": "nul\x00"}, "1 to 255 characters"),
        ({"name": "add", "job_id": 7}, '"job_id" must be a non-empty string'),
        ({"name": "add", "queue": ["arq:queue"]}, '"queue" must be the name of a queue'),
    ],
)
def test_enqueue_refuses_bad_and_reserved_ids(api_settings, client, redis_client, body, message):
    response = post_json(client, "/arq/api/jobs/", body, **bearer())
    assert response.status_code == 400, response.content
    assert message in response.json()["error"] and "job 'add'" in response.json()["error"]
    assert redis_client.zcard("arq:queue") == 0


def test_a_reserved_id_cannot_skip_the_real_job(api_settings, client, settings):
    """Before: the API took a cron tick's id, so the tick (same id) was silently skipped."""
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "QUEUES": ["arq:queue", "cron-test"]}
    tick = "every_second:1700000000000"
    assert post_json(client, "/arq/api/jobs/", {"name": "add", "job_id": tick}, **bearer()).status_code == 400
    assert enqueue("every_second", _job_id=tick, _queue_name="cron-test") is not None


def nested(depth: int) -> str:
    return '{"name": "add", "args": [' + "[" * depth + "]" * depth + "]}"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[" * 10_000 + "]" * 10_000, "nests deeper than 64 levels"),
        (nested(200), "nests deeper than 64 levels"),
        ('{"name": "add", "defer": 1e300}', "at most 36525 days"),
        ('{"name": "add", "defer": 1e400}', "at most 36525 days"),  # json reads 1e400 as inf
        ('{"name": "add", "defer": Infinity}', "at most 36525 days"),
        ('{"name": "add", "defer": NaN}', "must not be negative or NaN"),
        ('{"name": "add", "defer": "99999999999999d"}', "at most 36525 days"),
        ('{"name": "add", "defer": "' + " " * 50_000 + '"}', "(50000 characters)"),
        ('{"name": "add", "defer": [1]}', "defer: not a duration: list"),
        (b'{"name": "\xff\xfe"}', "malformed JSON body"),
    ],
)
def test_bad_bodies_are_400s_not_500s(api_settings, client, body, message):
    response = post_json(client, "/arq/api/jobs/", body, **bearer())
    assert response.status_code == 400, response.content[:300]
    assert message in response.json()["error"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=1000000d", "at most 36525 days"),
        ("since=" + "9" * 5000, "not a duration"),
        ("limit=%C2%B2", "limit must be"),  # "²": str.isdigit() says yes, int() says no
        ("limit=" + "9" * 5000, "limit must be"),
        ("queue=elsewhere", "queue 'elsewhere' is not a known queue"),
        ("queue=arq:result:x", "is not a known queue"),
    ],
)
def test_bad_queries_are_400s_not_500s(api_settings, client, query, message):
    response = client.get(f"/arq/api/jobs/?{query}", **bearer())
    assert response.status_code == 400, response.content[:300]
    assert message in response.json()["error"]


def test_a_known_queue_is_listed(api_settings, client):
    assert client.get("/arq/api/jobs/?queue=mail", **bearer()).json() == {"jobs": []}


def test_a_queue_member_that_is_not_utf8(api_settings, client, redis_client):
    redis_client.zadd("arq:queue", {b"\xff\xfejob": 1})
    response = client.get("/arq/api/jobs/", **bearer())
    assert response.status_code == 200
    assert [j["job_id"] for j in response.json()["jobs"]] == ["\\xff\\xfejob"]
    assert client.get("/arq/api/stats/", **bearer()).status_code == 200


def test_overlong_url_ids_are_400s(api_settings, client):
    long = "x" * 10_000
    assert client.get(f"/arq/api/jobs/{long}/", **bearer()).status_code == 400
    assert post_json(client, f"/arq/api/jobs/{long}/abort/", {}, **bearer()).status_code == 400
