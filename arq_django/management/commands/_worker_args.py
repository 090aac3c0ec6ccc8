"""Options shared by the commands that run workers (``arq_worker``, ``async_command``)."""

from __future__ import annotations

from django.core.management.base import CommandParser

from arq_django.worker.logs import LEVELS


def add_worker_arguments(parser: CommandParser) -> None:
    """``--log-level`` and ``--redis-retries``, shared by the commands that run workers."""
    parser.add_argument(
        "-l",
        "--log-level",
        type=str.upper,
        choices=LEVELS,
        help="level of the arq and arq_django loggers (default INFO where the project's LOGGING sets none)",
    )
    parser.add_argument(
        "--redis-retries",
        type=int,
        metavar="N",
        help="give up after N more failed attempts to reach Redis at start (default: keep trying)",
    )
