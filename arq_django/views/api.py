"""The JSON API under ``arq/api/``: list and enqueue jobs, read and abort one, stats and workers.

Every view needs a bearer token from ``ARQ_DJANGO["API_TOKENS"]`` or a staff session whose user holds
``arq_django.view_jobresult`` (GET) or ``arq_django.change_jobresult`` (POST: enqueue, abort); enqueueing
is limited to the job names in ``API_ENQUEUE_ALLOWED``. Errors are ``{"error": "..."}`` with 400 (bad
input), 401/403 (who you are), 404 (unknown job), 409 (conflict) or 503 (Redis unavailable).
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import redis
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone

from arq_django.client.abort import abort
from arq_django.conf import get_config
from arq_django.connection import clients_for
from arq_django.exceptions import ArqDjangoError, BadRequest, EnqueueError
from arq_django.jobs.job_ids import MAX_LENGTH, check_job_id, check_not_reserved, shown
from arq_django.jobs.registry import registry
from arq_django.jobs.routing import is_known, known_queues
from arq_django.mirror.retention import CRON_NAME as RETENTION_CRON
from arq_django.ops import actions, jobs
from arq_django.ops.durations import parse_duration
from arq_django.ops.encoding import OpsJSONEncoder
from arq_django.ops.outcomes import read_function_stats
from arq_django.ops.status import read_status
from arq_django.ops.workers import read_workers
from arq_django.views.auth import View, api_tokens, error, protected

logger = logging.getLogger("arq_django.api")

MAX_LIMIT = 500
ENQUEUE_FIELDS = {"name", "args", "kwargs", "queue", "job_id", "defer"}
MAX_DEPTH = 64
"""Deepest nesting of lists and objects a POST body may hold (deeper data is refused with a 400)."""
_LIMIT = re.compile(r"[0-9]{1,4}")


def respond(data: Any, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, encoder=OpsJSONEncoder, safe=False)


def _guarded(view: View) -> View:
    """Turn bad input into 400 and an unreachable Redis into 503, never a 500 with a traceback."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except BadRequest as e:
            return error(400, str(e))
        except (redis.RedisError, EnqueueError) as e:
            logger.warning("API %s %s: Redis unavailable: %s", request.method, request.path, e)
            return error(503, "the job queue is unavailable, try again")

    return wrapped


def api(*methods: str) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        return protected(methods, api_tokens, write=("POST",))(_guarded(view))

    return decorator


def _query_limit(request: HttpRequest) -> int:
    raw = request.GET.get("limit", "50")
    # ASCII digits only (str.isdigit() takes "²", which int() refuses), and few of them.
    if _LIMIT.fullmatch(raw) is None or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}, got {shown(raw)}")
    return int(raw)


def _known_queue(queue: str | None, job: str | None = None) -> str | None:
    if queue is not None and not is_known(queue):
        what = f"job {job!r}: queue" if job else "queue"
        raise BadRequest(
            f"{what} {shown(queue)} is not a known queue; known queues: {', '.join(known_queues())}"
        )
    return queue


def _url_job_id(job_id: str) -> str:
    """A job id from the URL: longer than any id can be is a 400 (shorter unknown ones are 404s)."""
    if len(job_id) > MAX_LENGTH:
        raise BadRequest(f"no job id is longer than {MAX_LENGTH} characters, got {len(job_id)}")
    return job_id


def _duration(name: str, value: Any) -> timedelta:
    try:
        return parse_duration(value)
    except (ValueError, TypeError) as e:
        raise BadRequest(f"{name}: {e}") from e


@api("GET", "POST")
def job_list(request: HttpRequest) -> HttpResponse:
    """GET: jobs filtered by ``status``, ``function``, ``queue``, ``since`` (e.g. ``1h``), ``limit``.
    POST: enqueue ``{"name", "args", "kwargs", "queue", "job_id", "defer"}``."""
    if request.method == "POST":
        return _enqueue(request)
    status = request.GET.get("status") or None
    if status is not None and status not in jobs.STATUSES:
        raise BadRequest(f"unknown status {shown(status)}; use one of {', '.join(jobs.STATUSES)}")
    since = request.GET.get("since")
    found = jobs.list_jobs(
        status=status,
        function=request.GET.get("function") or None,
        queue=_known_queue(request.GET.get("queue") or None),
        since=timezone.now() - _duration("since", since) if since else None,
        limit=_query_limit(request),
    )
    return respond({"jobs": [j.as_dict() for j in found]})


def _too_deep(value: Any) -> bool:
    """Whether ``value`` nests lists and dicts deeper than :data:`MAX_DEPTH` (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            if depth > MAX_DEPTH:
                return True
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return False


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        raw = request.body
    except RequestDataTooBig as e:
        raise BadRequest("the body is larger than settings.DATA_UPLOAD_MAX_MEMORY_SIZE allows") from e
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequest(f"malformed JSON body: {e}") from e
    except RecursionError as e:  # nesting that json cannot even parse
        raise BadRequest(f"the JSON body nests deeper than {MAX_DEPTH} levels") from e
    if _too_deep(body):
        raise BadRequest(f"the JSON body nests deeper than {MAX_DEPTH} levels")
    if not isinstance(body, dict):
        raise BadRequest('the body must be a JSON object like {"name": "email", "kwargs": {...}}')
    unknown = sorted(set(body) - ENQUEUE_FIELDS)
    if unknown:
        names = ", ".join(shown(k) for k in unknown[:5])
        raise BadRequest(f"unknown fields [{names}]; known fields are {sorted(ENQUEUE_FIELDS)}")
    return body


def _enqueue(request: HttpRequest) -> HttpResponse:
    body = _body(request)
    config = get_config()
    name, args, kwargs = body.get("name"), body.get("args", []), body.get("kwargs", {})
    queue, job_id, defer = body.get("queue"), body.get("job_id"), body.get("defer")
    if not isinstance(name, str) or not name:
        raise BadRequest('"name" must be the name of a job, e.g. "email"')
    if name not in config.api_enqueue_allowed:
        return error(
            403, f"job {shown(name)} may not be enqueued over the API (ARQ_DJANGO['API_ENQUEUE_ALLOWED'])"
        )
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise BadRequest(f'job {name!r}: "args" must be a JSON array and "kwargs" a JSON object')
    if queue is not None and not isinstance(queue, str):
        raise BadRequest(f'job {name!r}: "queue" must be the name of a queue (a string)')
    _known_queue(queue, name)
    if job_id is not None:
        if not isinstance(job_id, str) or not job_id:
            raise BadRequest(f'job {name!r}: "job_id" must be a non-empty string')
        try:
            cron_names = {s.name for s in registry.all() if s.cron is not None} | {RETENTION_CRON}
            check_not_reserved(check_job_id(job_id, job=name), job=name, cron_names=cron_names)
        except ArqDjangoError as e:
            raise BadRequest(str(e)) from e
    try:
        handle = actions.submit(
            name,
            args,
            kwargs,
            queue=queue,
            job_id=job_id,
            defer=None if defer is None else _duration("defer", defer),
        )
    except EnqueueError:
        raise
    except (ArqDjangoError, ValueError, TypeError) as e:
        raise BadRequest(str(e)) from e
    if handle is None:
        return error(409, f"a job with id {job_id!r} already exists")
    response = respond(
        {"job_id": handle.job_id, "function": handle.function, "queue": handle.queue_name}, status=202
    )
    response["Location"] = reverse("arq_django:api-job", args=[handle.job_id])
    return response


@api("GET")
def job_detail(request: HttpRequest, job_id: str) -> HttpResponse:
    """A job's status, arguments, timings and result (or error)."""
    found = jobs.get_job(_url_job_id(job_id))
    if found is None:
        return error(404, f"job {job_id!r} not found: unknown, or its result has expired")
    return respond(found.as_dict())


@api("POST")
def job_abort(request: HttpRequest, job_id: str) -> HttpResponse:
    """Ask the workers to abort a waiting or running job (202); 409 once it has finished."""
    if abort(_url_job_id(job_id)):
        return respond({"job_id": job_id, "abort_requested": True}, status=202)
    if jobs.get_job(job_id) is None:
        return error(404, f"job {job_id!r} not found: unknown, or its result has expired")
    return error(409, f"job {job_id!r} has already finished")


@api("GET")
def stats(request: HttpRequest) -> HttpResponse:
    """Queue depths, live worker counts, last-hour outcomes and per-function totals."""
    status = read_status()
    queues = [q.depth.queue for q in status.queues]
    functions = [
        {"queue": s.queue, "function": s.function, "outcomes": s.outcomes, "duration_sum": s.duration_sum}
        for client, on in clients_for(queues)
        if on
        for s in read_function_stats(client, on)
    ]
    return respond({"at": status.at, "queues": [q.as_dict() for q in status.queues], "functions": functions})


@api("GET")
def workers(request: HttpRequest) -> HttpResponse:
    """Every live worker's last heartbeat."""
    beats = [w for client, _ in clients_for(list(known_queues())) for w in read_workers(client)]
    return respond({"workers": [w.as_dict() for w in beats]})
