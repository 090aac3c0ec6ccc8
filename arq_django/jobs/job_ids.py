"""The rule for job ids a caller chooses (``_job_id=``, the API's ``job_id``, ``arq_enqueue --job-id``).

An id is 1 to :data:`MAX_LENGTH` characters from :data:`ALLOWED`: ASCII letters, digits and ``_ - . : @ + =``.
That keeps ids out of log-line tricks (CR, LF, NUL), fits the mirror's 255-character column, and is
safe in a URL path (no ``/``). Generated ids (uuid4 hex, ``unique:<job>:<sha256>``, cron ticks
``<cron name>:<ms>``) follow the rule too.

Ids chosen over HTTP may not take the shapes of generated ids (:func:`check_not_reserved`): such an
id would stand in for the real unique job or cron tick, which would then be skipped.
"""

from __future__ import annotations

import re

from arq_django.exceptions import InvalidJobId

MAX_LENGTH = 255
ALLOWED = "ASCII letters, digits and _ - . : @ + ="
RULE = f"a job id is 1 to {MAX_LENGTH} characters from {ALLOWED}"
_VALID = re.compile(rf"[A-Za-z0-9_.:@+=-]{{1,{MAX_LENGTH}}}")
UNIQUE_PREFIX = "unique:"
_TICK = re.compile(r"(.+):[0-9]+")


def shown(value: object) -> str:
    """``value`` for an error message: repr'd (so CR/LF/NUL show escaped) and cut to about 80 characters,
    so a 10 KB input is not echoed back whole."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text)} characters as repr)"


def check_job_id(job_id: object, *, job: str) -> str:
    """``job_id`` if it follows :data:`RULE`; else :class:`InvalidJobId` naming the job and the rule."""
    if not isinstance(job_id, str) or _VALID.fullmatch(job_id) is None:
        raise InvalidJobId(f"job {job!r}: job id {shown(job_id)} is not allowed: {RULE}.")
    return job_id


def check_not_reserved(job_id: str, *, job: str, cron_names: set[str]) -> str:
    """Refuse the shapes of ids the package generates: ``unique:...`` and ``<cron name>:<digits>``."""
    tick = _TICK.fullmatch(job_id)
    if job_id.startswith(UNIQUE_PREFIX) or (tick is not None and tick.group(1) in cron_names):
        raise InvalidJobId(
            f"job {job!r}: job id {shown(job_id)} is reserved: ids starting with {UNIQUE_PREFIX!r} belong "
            "to unique jobs and '<cron job>:<digits>' to cron ticks; choose another id."
        )
    return job_id
