"""A producer process for the many-producers fault test: ``python -m tests.chaos.producer N KEY``."""

from __future__ import annotations

import os
import sys

import django


def main() -> None:
    count, key = int(sys.argv[1]), sys.argv[2]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.test")
    django.setup()
    from arq_django import enqueue

    written = sum(1 for _ in range(count) if enqueue("count", key) is not None)
    print(written)


if __name__ == "__main__":
    main()
