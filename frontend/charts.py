"""Bar charts drawn as inline SVG on the server: no script, no data leaves the page."""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

BAR = "#4a6fa5"
OVER = "#b5443b"
MUTED = "#777"


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"


def columns(values: list[tuple[str, float]], *, title: str, label_every: int = 1, height: int = 120) -> SafeString:
    """Vertical bars, one per (label, value), left to right; every `label_every`-th label is written."""
    width, gap, top, bottom = 18, 4, 14, 18
    peak = max([v for _, v in values] + [1.0])
    bars, labels = [], []
    for n, (label, value) in enumerate(values):
        x = n * (width + gap)
        h = round((height - top - bottom) * value / peak, 1)
        y = height - bottom - h
        bars.append((x, y, width, h, label, _number(value)))
        if n % label_every == 0:
            labels.append((x + width / 2, height - 4, label))
    total_width = max(len(values) * (width + gap), 1)
    body = format_html_join(
        "", '<rect x="{}" y="{}" width="{}" height="{}" fill="' + BAR + '"><title>{}: {}</title></rect>', bars)
    text = format_html_join("", '<text x="{}" y="{}" font-size="9" text-anchor="middle" fill="' + MUTED + '">{}</text>',
                            labels)
    return format_html('<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{}" viewBox="0 0 {} {}" '
                       'width="{}" height="{}"><title>{}</title>'
                       '<text x="0" y="10" font-size="10">peak {}</text>{}{}</svg>',
                       title, total_width, height, total_width, height, title, _number(peak), body, text)


def bars(rows: list[tuple[str, float, float]], *, title: str, unit: str) -> SafeString:
    """Horizontal bars, one per (label, value, limit); a bar at or over its limit is drawn in red and
    the limit is marked."""
    if not rows:
        return mark_safe("")
    label_width, bar_width, row_height = 120, 260, 18
    peak = max([max(v, limit) for _, v, limit in rows] + [1.0])
    parts = []
    for n, (label, value, limit) in enumerate(rows):
        y = n * row_height
        w = round(bar_width * value / peak, 1)
        mark = round(label_width + bar_width * limit / peak, 1)
        parts.append((y + 12, label, label_width, y + 3, w, OVER if value >= limit else BAR, label, _number(value),
                      unit, mark, y, mark, y + row_height - 2, label_width + w + 4, y + 12, _number(value), unit))
    height = len(rows) * row_height
    body = format_html_join(
        "",
        '<text x="0" y="{}" font-size="11">{}</text>'
        '<rect x="{}" y="{}" width="{}" height="12" fill="{}"><title>{}: {} {}</title></rect>'
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#222" stroke-dasharray="2 2"/>'
        '<text x="{}" y="{}" font-size="10" fill="' + MUTED + '">{} {}</text>',
        parts)
    return format_html('<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{}" viewBox="0 0 {} {}" '
                       'width="{}" height="{}"><title>{}</title>{}</svg>',
                       title, label_width + bar_width + 60, height, label_width + bar_width + 60, height, title, body)
