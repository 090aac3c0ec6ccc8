"""The example project's task model: an ``Export`` row is a job; its outcome is written back on the row."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models

from arq_django.models import TaskModel


def users_csv() -> str:
    """Every user as a CSV line (id, username, email), under a header line."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "username", "email"])
    users = get_user_model().objects.order_by("pk").values_list("pk", "username", "email")
    writer.writerows(users)
    return out.getvalue()


class Export(TaskModel):
    """A CSV export of the users; ``do_task`` fills ``rows`` and ``csv`` and returns a summary."""

    requested_by = models.CharField(max_length=150, blank=True)
    rows = models.PositiveIntegerField(null=True, blank=True)
    csv = models.TextField(blank=True)

    class TaskMeta:
        queue = "exports"  # a queue of its own: its workers are the model's (simpletask's worker count)
        timeout = 60
        max_tries = 3

    def __str__(self) -> str:
        return f"Export #{self.pk} ({self.status})"

    def do_task(self) -> Any:
        self.csv = users_csv()
        self.rows = self.csv.count("\n") - 1
        return {"rows": self.rows, "bytes": len(self.csv)}
