"""Small server-side SVG bar charts: readable at a glance, no JavaScript, no outside library.
Colours and fonts are attributes (no inline styles), so the pages' strict CSP holds."""
from __future__ import annotations

import math
from html import escape

from markupsafe import Markup

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
INK = "#212b32"  # NHS black
GRID = "#d8dde0"
PALETTE = ("#005eb8", "#41b6e6", "#ed8b00", "#009639", "#7c2855", "#768692")


def _ticks(peak: float) -> list[float]:
    """Round axis steps (1, 2, 2.5, 5 × 10ⁿ; whole numbers from 1 up) covering `peak` in about 4 steps."""
    if peak <= 0:
        return [0, 1]
    raw = peak / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if step < 1:
        step = 1 if peak >= 1 else step
    count = math.ceil(peak / step - 1e-9)
    return [round(i * step, 6) for i in range(count + 1)]


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _open(width: int, height: int, title: str, font_size: int = 12) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'role="img" aria-label="{escape(title)}" class="chart" font-family="{FONT}" font-size="{font_size}">'
            f"<title>{escape(title)}</title>")


def column_chart(categories: list[str], series: list[tuple[str, list[float]]], *, title: str,
                 unit: str = "", width: int = 640, height: int = 260) -> Markup:
    """Grouped vertical bars: one group per category, one bar per series, with a legend."""
    left, right, top, bottom = 44, 12, 34, 42
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = _ticks(max([v for _, values in series for v in values] or [0]))
    peak = ticks[-1]
    parts = [_open(width, height, title)]
    for value in ticks:
        y = top + plot_h - plot_h * value / peak
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{INK}">{_fmt(value)}</text>')
    n_cat = max(len(categories), 1)
    group_w = plot_w / n_cat
    bar_w = min(28, group_w * 0.8 / max(len(series), 1))
    for ci, category in enumerate(categories):
        x0 = left + ci * group_w + (group_w - bar_w * len(series)) / 2
        for si, (name, values) in enumerate(series):
            value = values[ci] if ci < len(values) else 0
            h = plot_h * value / peak
            x = x0 + si * bar_w
            parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE[si % len(PALETTE)]}" rx="2"><title>{escape(category)} · {escape(name)}: '
                         f'{_fmt(value)}{escape(unit)}</title></rect>')
            if value:
                parts.append(f'<text x="{x + (bar_w - 2) / 2:.1f}" y="{top + plot_h - h - 4:.1f}" '
                             f'text-anchor="middle" fill="{INK}" font-size="10">{_fmt(value)}</text>')
        label = category.split("-W")[-1] if "-W" in category else category
        label = f"W{label}" if "-W" in category else label
        parts.append(f'<text x="{left + ci * group_w + group_w / 2:.1f}" y="{top + plot_h + 16}" '
                     f'text-anchor="middle" fill="{INK}">{escape(label)}</text>')
    lx = left
    for si, (name, _) in enumerate(series):
        parts.append(f'<rect x="{lx}" y="10" width="12" height="12" rx="2" fill="{PALETTE[si % len(PALETTE)]}"/>')
        parts.append(f'<text x="{lx + 17}" y="20" fill="{INK}">{escape(name)}</text>')
        lx += 30 + 8 * len(name)
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="{INK}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(items: list[tuple[str, float | None]], *, title: str, unit: str = "", width: int = 640,
              highlight: set[str] | None = None, value_format=None, missing: str = "—") -> Markup:
    """Horizontal bars, one per labelled value; labels on the left, values at the bar ends. A value
    of None (a count withheld) draws no bar, only the `missing` text."""
    highlight = highlight or set()
    row_h, left, right, top = 28, 250, 70, 8
    height = top * 2 + row_h * max(len(items), 1)
    plot_w = width - left - right
    peak = max([v for _, v in items if v is not None] or [0]) or 1
    fmt = value_format or (lambda v: f"{_fmt(v)}{unit}")
    parts = [_open(width, height, title)]
    if not items:
        parts.append(f'<text x="{width / 2}" y="{height / 2 + 4}" text-anchor="middle" fill="#4c6272">'
                     "Nothing in this period</text>")
    for i, (label, value) in enumerate(items):
        y = top + i * row_h
        colour = "#d5281b" if label in highlight else PALETTE[0]
        short = label if len(label) <= 34 else label[:33] + "…"
        parts.append(f'<text x="{left - 8}" y="{y + 17}" text-anchor="end" fill="{INK}">{escape(short)}</text>')
        if value is None:
            parts.append(f'<text x="{left + 6}" y="{y + 17}" fill="{INK}">{escape(missing)}</text>')
            continue
        w = plot_w * value / peak
        parts.append(f'<rect x="{left}" y="{y + 4}" width="{max(w, 1):.1f}" height="{row_h - 8}" rx="2" '
                     f'fill="{colour}"><title>{escape(label)}: {escape(fmt(value))}</title></rect>')
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + 17}" fill="{INK}">{escape(fmt(value))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def timeline(spans: list[tuple[float, float, str]], *, days: int, title: str, width: int = 1340,
             day_labels: list[str] | None = None) -> Markup:
    """A strip over `days` days: spans given as (start fraction, end fraction, kind), where kind is
    'covered' or 'gap'; gaps in red."""
    left, right, height = 4, 4, 54
    plot_w = width - left - right
    parts = [_open(width, height, title, font_size=11),
             f'<rect x="{left}" y="6" width="{plot_w}" height="26" fill="#e8edee" rx="3"/>']
    for start, end, kind in spans:
        colour = "#d5281b" if kind == "gap" else "#009639"
        parts.append(f'<rect x="{left + plot_w * start:.1f}" y="6" width="{max(plot_w * (end - start), 1.5):.1f}" '
                     f'height="26" fill="{colour}"/>')
    for d in range(days + 1):
        x = left + plot_w * d / days
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="4" y2="36" stroke="#ffffff" stroke-width="1"/>')
        if day_labels and d < len(day_labels):
            parts.append(f'<text x="{x + plot_w / days / 2:.1f}" y="48" text-anchor="middle" fill="{INK}">'
                         f"{escape(day_labels[d])}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))
