"""Plain JSON for job arguments and results shown by the API and the CLI's ``--json``."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from arq_django.exceptions import JobFailed


class OpsJSONEncoder(DjangoJSONEncoder):
    """Django's encoder (datetimes, Decimal, UUID...) plus bytes, sets and job failures; anything else
    becomes its ``repr`` so one odd value never hides a whole listing."""

    def default(self, o: Any) -> Any:
        if isinstance(o, (bytes, bytearray, memoryview)):
            return {"base64": base64.b64encode(bytes(o)).decode("ascii")}
        if isinstance(o, (set, frozenset)):
            return list(o)
        if isinstance(o, asyncio.CancelledError):
            return {"error": "aborted"}
        if isinstance(o, JobFailed):
            return {"error": o.exc_type, "message": o.message}
        if isinstance(o, BaseException):
            return {"error": type(o).__name__, "message": str(o)}
        try:
            return super().default(o)
        except TypeError:
            return repr(o)
