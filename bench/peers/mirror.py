"""The result mirror's cost on drain, as ``bench.run`` measures it (``bench.workers.drain_once``): our
worker with ``MIRROR`` off and on, paired round by round (their order swapping every round), in the
repository's venv. ``python -m bench.peers.mirror --redis-url URL --jobs N --rounds R`` prints one JSON
line: each round's on / off ratio."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import redis


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peers.mirror")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    from bench.run import setup_django

    setup_django(args.redis_url)
    from bench import database, workers

    database.prepare()
    admin = redis.Redis.from_url(args.redis_url)
    ratios, rates = [], []
    for round_ in range(args.rounds):
        kinds = ("arq_django", workers.MIRROR_ON)
        order = kinds if round_ % 2 == 0 else kinds[::-1]
        rate = {
            kind: args.jobs / workers.drain_once(kind, args.redis_url, admin, args.jobs).seconds
            for kind in order
        }
        rates.append(rate)
        ratios.append(rate[workers.MIRROR_ON] / rate["arq_django"])
    print(json.dumps({"ratios": ratios, "rates": rates}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
