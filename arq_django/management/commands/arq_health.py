"""``manage.py arq_health [--queue Q] [--json]``: the health endpoint's checks; exit 0 healthy, 1 not."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from arq_django.health import health_report
from arq_django.management.commands._output import write_json


class Command(BaseCommand):
    help = "Run the health checks (Redis, database, workers, backlog); exit 1 if any fails."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--queue", help="check workers and backlog of this queue only")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        report = health_report(options["queue"])
        data = report.as_dict()
        if options["json"]:
            write_json(self.stdout, data)
        else:
            self.stdout.write(f"status: {data['status']}")
            for name, check in data["checks"].items():
                extra = check.get("error") or ", ".join(
                    f"{q}: {_figures(v)}" for q, v in sorted(check.get("queues", {}).items())
                )
                state = "ok" if check["ok"] else "FAIL"
                self.stdout.write(f"  {name:<9} {state:<4} {check['ms']:>7.1f} ms  {extra}".rstrip())
        if not report.ok:
            failed = [name for name, check in data["checks"].items() if not check["ok"]]
            raise CommandError(f"unhealthy: {', '.join(failed)}", returncode=1)


def _figures(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k}={'-' if v is None else v}" for k, v in value.items())
    return str(value)
