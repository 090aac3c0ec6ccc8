"""Server-side SVG charts: readable without JavaScript, coloured by the admin's CSS (dashboard.css)."""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from arq_django.dashboard.series import Durations, Throughput

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 480, 150, 34, 18, 8
SEGMENTS = (("complete", "complete"), ("retried", "retried"), ("failed", "failed"))


def _n(value: float) -> str:
    """A coordinate as SVG text (format_html escapes its arguments into strings first)."""
    return f"{value:.1f}"


def _nice_max(value: float) -> float:
    """The smallest of 1, 2 or 5 times 10^k at or above ``value`` (at least 1), for the y axis."""
    scale = 1.0
    while True:
        for step in (1, 2, 5):
            if step * scale >= value:
                return step * scale
        scale *= 10


def throughput_chart(series: Throughput, label: str) -> SafeString:
    """Stacked bars, one ``<g class="arq-bar">`` per bucket (complete, retried, failed from the bottom)."""
    n = len(series.buckets)
    top = _nice_max(max((b.total for b in series.buckets), default=0))
    plot_w, plot_h = WIDTH - LEFT, HEIGHT - BOTTOM - TOP
    slot = plot_w / max(n, 1)
    fmt = "%H:%M"
    bars = []
    for i, b in enumerate(series.buckets):
        x, y = LEFT + i * slot, float(TOP + plot_h)
        rects = []
        for attr, css in SEGMENTS:
            count = getattr(b, attr)
            if count:
                h = count / top * plot_h
                y -= h
                rects.append(
                    format_html(
                        '<rect class="arq-{}" x="{}" y="{}" width="{}" height="{}"/>',
                        css,
                        _n(x + slot * 0.1),
                        _n(y),
                        _n(slot * 0.8),
                        _n(h),
                    )
                )
        bars.append(
            format_html(
                '<g class="arq-bar" data-start="{}" data-total="{}" data-complete="{}" data-retried="{}" '
                'data-failed="{}"><title>{}: {} complete, {} retried, {} failed</title>{}</g>',
                b.start.isoformat(),
                b.total,
                b.complete,
                b.retried,
                b.failed,
                b.start.strftime(fmt),
                b.complete,
                b.retried,
                b.failed,
                SafeString("".join(rects)),
            )
        )
    ticks = [0, n // 2, n - 1] if n > 2 else list(range(n))
    anchors = {0: "start", n - 1: "end"}
    x_labels = format_html_join(
        "",
        '<text class="arq-axis" x="{}" y="{}" text-anchor="{}">{}</text>',
        (
            (
                _n(LEFT + (i + 0.5) * slot),
                HEIGHT - 4,
                anchors.get(i, "middle"),
                series.buckets[i].start.strftime(fmt),
            )
            for i in ticks
        ),
    )
    return format_html(
        '<svg class="arq-chart" viewBox="0 0 {w} {h}" role="img" aria-label="{label}" '
        'data-buckets="{n}" data-total="{total}">'
        '<line class="arq-grid" x1="{l}" y1="{t}" x2="{w}" y2="{t}"/>'
        '<line class="arq-grid" x1="{l}" y1="{b}" x2="{w}" y2="{b}"/>'
        '<text class="arq-axis" x="{lx}" y="{ty}" text-anchor="end">{top}</text>'
        '<text class="arq-axis" x="{lx}" y="{b}" text-anchor="end">0</text>'
        "{bars}{x_labels}</svg>",
        w=WIDTH,
        h=HEIGHT,
        label=label,
        n=n,
        total=series.total,
        l=LEFT,
        t=TOP,
        b=TOP + plot_h,
        lx=LEFT - 4,
        ty=TOP + 8,
        top=f"{top:g}",
        bars=SafeString("".join(bars)),
        x_labels=x_labels,
    )


def seconds_text(value: float) -> str:
    """A run time a person reads at a glance: ``0.4 ms``, ``12 ms``, ``1.25 s``, ``> 600 s``."""
    if value == float("inf"):
        return "> 600 s"
    if value < 0.01:
        return f"{value * 1000:.1f} ms"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.2f} s"


def duration_bar(d: Durations, longest: float) -> SafeString:
    """One function's p50 (solid) inside its p95 (light), on a scale shared by the table's rows."""
    scale = 200 / longest if longest > 0 else 0.0
    return format_html(
        '<svg class="arq-duration" viewBox="0 0 200 12" role="img" aria-label="p50 {} s, p95 {} s" '
        'data-function="{}"><rect class="arq-p95" x="0" y="1" width="{}" height="10"/>'
        '<rect class="arq-p50" x="0" y="1" width="{}" height="10"/></svg>',
        d.p50,
        d.p95,
        d.function,
        _n(min(d.p95, longest) * scale),
        _n(min(d.p50, longest) * scale),
    )
