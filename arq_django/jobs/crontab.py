"""Cron schedules: a 5-field crontab string or arq's own keyword form, turned into arq's per-field sets.

Hand-written rather than a dependency because arq's ``cron()`` wants expanded sets per field, and the
errors must name the job and the field; the grammar is small (lists, ranges, steps, month and weekday
names, the ``@hourly`` family).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from arq_django.exceptions import CronSpecError

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
CRONTAB_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
ARQ_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    names_start: int = 0


# The five crontab fields, in order. Day-of-week accepts 0-7 (0 and 7 are Sunday).
_CRONTAB_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, MONTHS, 1),
    _Field("day-of-week", 0, 7, CRONTAB_DAYS, 0),
)
# arq's keyword form: field name -> (low, high).
_ARQ_RANGES = {
    "month": (1, 12),
    "day": (1, 31),
    "weekday": (0, 6),
    "hour": (0, 23),
    "minute": (0, 59),
    "second": (0, 59),
}

Values = frozenset[int] | None
"""The allowed values of one field; ``None`` means any (``*``)."""


@dataclass(frozen=True)
class CronSchedule:
    """When a cron job runs, in arq's terms (weekday 0 = Monday); ``None`` fields match anything."""

    month: Values = None
    day: Values = None
    weekday: Values = None
    hour: Values = None
    minute: Values = None
    second: Values = frozenset({0})
    microsecond: int = 123_456
    """arq's default: slightly after the second, when Redis is less busy."""
    source: str = ""
    """The schedule as written, for messages and logs."""

    def arq_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``arq.cron.cron()``."""
        fields = ("month", "day", "weekday", "hour", "minute", "second")
        kwargs: dict[str, Any] = {}
        for name in fields:
            values = getattr(self, name)
            kwargs[name] = None if values is None else set(values)
        kwargs["microsecond"] = self.microsecond
        return kwargs


def parse(spec: str | Mapping[str, Any]) -> CronSchedule:
    """A crontab string (``"*/5 * * * *"``, ``"@daily"``) or arq's form (``{"minute": {0, 30}}``).

    Raises :class:`CronSpecError` naming the bad field.
    """
    if isinstance(spec, str):
        return parse_crontab(spec)
    if isinstance(spec, Mapping):
        return parse_arq(spec)
    raise CronSpecError(
        f"expected a crontab string or a dict of arq cron fields, got {type(spec).__name__} {spec!r}"
    )


def parse_crontab(text: str) -> CronSchedule:
    source = text.strip()
    expanded = MACROS.get(source.lower(), source)
    if expanded.startswith("@"):
        hint = " (use run_at_startup=True)" if expanded.lower() == "@reboot" else ""
        raise CronSpecError(f"unknown macro {source!r}{hint}; known: {', '.join(MACROS)}")
    parts = expanded.split()
    if len(parts) != 5:
        raise CronSpecError(
            f"{source!r} has {len(parts)} fields; a crontab has 5: minute hour day-of-month month day-of-week"
        )
    minute, hour, dom, month, dow = (
        _expand(part, field) for part, field in zip(parts, _CRONTAB_FIELDS, strict=True)
    )
    if dom is not None and dow is not None:
        # crontab runs when *either* day field matches, arq only when both do: refuse rather than guess.
        raise CronSpecError(
            f"{source!r} restricts both day-of-month and day-of-week; crontab means 'either', arq's "
            "cron means 'both'. Restrict only one of them (or use arq's form with day= and weekday=)."
        )
    weekday = None if dow is None else frozenset((d - 1) % 7 for d in dow)  # crontab 0/7=Sun -> arq 6
    return CronSchedule(
        month=month, day=dom, weekday=weekday, hour=hour, minute=minute, second=frozenset({0}), source=source
    )


def _expand(part: str, field: _Field) -> Values:
    values: set[int] = set()
    for item in part.lower().split(","):
        values |= _expand_item(item, field, part)
    full = set(range(field.low, field.high + 1))
    if field.name == "day-of-week":
        values = {0 if v == 7 else v for v in values}
        full = set(range(7))
    return None if values == full else frozenset(values)


def _expand_item(item: str, field: _Field, part: str) -> set[int]:
    def bad(why: str) -> CronSpecError:
        return CronSpecError(f"{field.name} field {part!r}: {why}")

    if not item:
        raise bad("empty list item")
    base, _, step_text = item.partition("/")
    step = 1
    if step_text:
        if not step_text.isdigit() or int(step_text) < 1:
            raise bad(f"step {step_text!r} must be a whole number >= 1")
        step = int(step_text)
    if base == "*":
        low, high = field.low, field.high
    elif "-" in base:
        first, _, last = base.partition("-")
        low, high = _value(first, field, bad), _value(last, field, bad)
        if low > high:
            raise bad(f"range {base!r} runs backwards")
    else:
        low = _value(base, field, bad)
        high = field.high if step_text else low  # "5/15" means 5-max/15, as in Vixie cron
    return set(range(low, high + 1, step))


def _value(text: str, field: _Field, bad: Any) -> int:
    if text in field.names:
        return field.names.index(text) + field.names_start
    if not text.isdigit():
        names = f" or a name ({'/'.join(field.names)})" if field.names else ""
        raise bad(f"{text!r} is not a number{names}")
    value = int(text)
    if not field.low <= value <= field.high:
        raise bad(f"{value} is out of range {field.low}-{field.high}")
    return value


def parse_arq(spec: Mapping[str, Any]) -> CronSchedule:
    """arq's own form: ``{"minute": {0, 30}, "hour": 9}``; weekday is 0-6 (Monday first) or a name."""
    unknown = sorted(set(spec) - {*_ARQ_RANGES, "microsecond"})
    if unknown:
        known = [*_ARQ_RANGES, "microsecond"]
        raise CronSpecError(f"unknown field(s) {unknown}; arq's cron fields are {known}")
    if not spec:
        raise CronSpecError("an empty dict would run every second; name at least one field (e.g. second=0)")
    fields: dict[str, Any] = {}
    for name, (low, high) in _ARQ_RANGES.items():
        if name not in spec:
            continue
        fields[name] = _arq_values(name, spec[name], low, high)
    microsecond = spec.get("microsecond", 123_456)
    if isinstance(microsecond, bool) or not isinstance(microsecond, int) or not 0 <= microsecond < 1_000_000:
        raise CronSpecError(f"microsecond must be a whole number 0-999999, got {microsecond!r}")
    return CronSchedule(**fields, microsecond=microsecond, source=repr(dict(spec)))


def _arq_values(name: str, raw: Any, low: int, high: int) -> Values:
    if raw is None:
        return None
    items = raw if isinstance(raw, (set, frozenset, list, tuple)) else [raw]
    if not items:
        raise CronSpecError(f"{name} is empty: it would never run")
    values: set[int] = set()
    for item in items:
        if name == "weekday" and isinstance(item, str) and item.lower() in ARQ_WEEKDAYS:
            values.add(ARQ_WEEKDAYS.index(item.lower()))
            continue
        if isinstance(item, bool) or not isinstance(item, int) or not low <= item <= high:
            raise CronSpecError(f"{name} value {item!r} must be a whole number {low}-{high}")
        values.add(item)
    return frozenset(values)
