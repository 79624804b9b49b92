"""Server-side SVG bar charts, accessible: role="img" named by its <title> and <desc>, nothing focusable inside;
the numbers themselves are in the table next to the chart."""
from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, VALUE_WIDTH = 320, 36  # narrow enough to stay legible on a phone
LABEL, BAR, GAP, GROUP_GAP = 18, 14, 2, 10  # each row: its label on a line, then a bar per series
MAX_LABEL = 42


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[:MAX_LABEL - 1] + "…"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}".replace(".", ",")


def bar_chart(chart_id: str, title: str, desc: str, rows: list[tuple[str, tuple[float, ...]]],
              series: tuple[str, ...]) -> Markup:
    """Horizontal grouped bars: per row its label, then one bar per series; a legend on top."""
    top = 28  # the legend
    group = LABEL + len(series) * (BAR + GAP) + GROUP_GAP
    height = top + max(1, len(rows)) * group + 4
    largest = max((v for _, values in rows for v in values), default=0) or 1
    scale = (WIDTH - VALUE_WIDTH) / largest
    parts = [f'<svg class="chart" id="{chart_id}" role="img" aria-labelledby="{chart_id}-titel {chart_id}-uitleg" '
             f'viewBox="0 0 {WIDTH} {height}" preserveAspectRatio="xMinYMin meet" focusable="false">',
             f'<title id="{chart_id}-titel">{escape(title)}</title>',
             f'<desc id="{chart_id}-uitleg">{escape(desc)}</desc>']
    x = 0
    for index, name in enumerate(series):
        parts.append(f'<rect class="series-{index}" x="{x}" y="6" width="12" height="12"/>'
                     f'<text class="legend-text" x="{x + 17}" y="16">{escape(name)}</text>')
        x += 30 + 7 * len(name)
    if not rows:
        parts.append(f'<text class="chart-label" x="0" y="{top + 14}">Geen gegevens in deze periode</text>')
    for row, (label, values) in enumerate(rows):
        y = top + row * group
        parts.append(f'<text class="chart-label" x="0" y="{y + LABEL - 5}">{escape(_short(label))}</text>')
        for index, value in enumerate(values):
            bar_y = y + LABEL + index * (BAR + GAP)
            width = max(value * scale, 1 if value else 0)
            parts.append(f'<rect class="series-{index}" x="0" y="{bar_y}" width="{width:.1f}" height="{BAR}"/>'
                         f'<text class="chart-value" x="{width + 4:.1f}" y="{bar_y + BAR - 3}">{_number(value)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
