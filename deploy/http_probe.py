"""Exit 0 when a GET of the URL answers 200, else 1: the image's HEALTHCHECK (slim images have no curl).

Usage: ``python deploy/http_probe.py URL [--host HOST] [--timeout SECONDS]``. ``--host`` sets the Host
header, which must be one of ``DJANGO_ALLOWED_HOSTS`` (the default, the URL's host, usually is).
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request


def probe(url: str, host: str | None = None, timeout: float = 3.0) -> int:
    """GET ``url``; 0 on HTTP 200, 1 otherwise (with the reason on stderr)."""
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as e:
        status = e.code
        e.close()
    except (OSError, ValueError) as e:
        print(f"{url}: {e}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"{url}: HTTP {status}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="GET a URL; exit 0 on HTTP 200, else 1.")
    parser.add_argument("url")
    parser.add_argument("--host", help="Host header to send")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds (default 3)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return probe(args.url, args.host, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
