"""``RedisContainer`` for arq's conftest, pointing at the redis-server ``run.py`` started for the suite."""

from __future__ import annotations

import os
from typing import Any


class RedisContainer:
    """Same surface as the part of testcontainers' class arq's fixtures use; starts nothing."""

    def __init__(self, image: str = "redis:latest", **_: Any) -> None:
        self.image = image
        self.port = int(os.environ["ARQ_SUITE_REDIS_PORT"])

    def __enter__(self) -> RedisContainer:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def get_container_host_ip(self) -> str:
        return "127.0.0.1"

    def get_exposed_port(self, port: int) -> int:
        return port
