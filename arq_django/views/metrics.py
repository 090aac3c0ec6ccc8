"""``arq/metrics``: Prometheus text format (needs the ``prometheus`` extra: ``prometheus_client``).

Every figure is read from Redis at scrape time: queue keys, worker heartbeats and the outcome and
duration counters all workers add to, so any web process reports the same totals for the whole fleet.
Access: a bearer token (``METRICS_TOKENS``, else ``API_TOKENS``) or a staff session whose user holds
``arq_django.view_jobresult``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import redis
from django.http import HttpRequest, HttpResponse

from arq_django.connection import clients_for
from arq_django.ops.outcomes import read_function_stats
from arq_django.ops.status import read_status
from arq_django.views.auth import error, metrics_tokens, protected

logger = logging.getLogger("arq_django.metrics")


class RedisCollector:
    """A ``prometheus_client`` collector reading the current figures once per scrape."""

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        status = read_status()
        depth = GaugeMetricFamily("arq_queue_jobs", "Jobs in a queue by state", labels=["queue", "state"])
        oldest = GaugeMetricFamily(
            "arq_queue_oldest_age_seconds", "How long the oldest queued job has been due", labels=["queue"]
        )
        running = GaugeMetricFamily("arq_running_jobs", "Jobs running now", labels=["queue"])
        workers = GaugeMetricFamily("arq_workers", "Live workers (fresh heartbeats)", labels=["queue"])
        for q in status.queues:
            d = q.depth
            depth.add_metric([d.queue, "queued"], d.queued)
            depth.add_metric([d.queue, "deferred"], d.deferred)
            oldest.add_metric([d.queue], d.oldest_age or 0.0)
            running.add_metric([d.queue], d.running)
            workers.add_metric([d.queue], q.workers)
        yield from (depth, oldest, running, workers)

        jobs = CounterMetricFamily(
            "arq_jobs", "Job tries ended, by function and outcome", labels=["queue", "function", "outcome"]
        )
        duration = HistogramMetricFamily(
            "arq_job_duration_seconds", "Job run time", labels=["queue", "function"]
        )
        queues = [q.depth.queue for q in status.queues]
        for s in (s for client, on in clients_for(queues) if on for s in read_function_stats(client, on)):
            for outcome, n in sorted(s.outcomes.items()):
                jobs.add_metric([s.queue, s.function, outcome], n)
            if s.buckets[-1][1]:
                duration.add_metric(
                    [s.queue, s.function], [(le, float(n)) for le, n in s.buckets], s.duration_sum
                )
        yield from (jobs, duration)


@protected(("GET",), metrics_tokens)
def metrics(request: HttpRequest) -> HttpResponse:
    try:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    except ImportError:
        return error(501, "metrics need prometheus_client: pip install 'arq-django[prometheus]'")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector())  # type: ignore[arg-type]
    try:
        body = generate_latest(registry)
    except (redis.RedisError, OSError) as e:
        logger.warning("metrics: Redis unavailable: %s", e)
        return error(503, "the job queue is unavailable, try again")
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
