"""Tiny server-rendered SVG bar charts (no JavaScript, fine under a strict CSP).

The functions return geometry only; templates draw it with autoescaping, so labels from users stay inert.
"""

from __future__ import annotations

WIDTH = 720
HEIGHT = 180
PAD_LEFT = 40
PAD_BOTTOM = 24


def stacked_bars(columns: list[tuple[str, list[tuple[str, int, str]]]], label_every: int = 1) -> dict:
    """columns: [(x label, [(series name, value, colour), ...]), ...] -> geometry for training/_chart.html."""
    n = max(1, len(columns))
    peak = max([sum(v for _, v, _ in segs) for _, segs in columns] + [1])
    plot_w = WIDTH - PAD_LEFT - 8
    plot_h = HEIGHT - PAD_BOTTOM - 8
    slot = plot_w / n
    bar_w = max(1.0, slot * 0.8)
    bars = []
    for i, (label, segs) in enumerate(columns):
        x = PAD_LEFT + i * slot + (slot - bar_w) / 2
        y = 8 + plot_h
        rects = []
        for name, value, colour in segs:
            if value <= 0:
                continue
            h = plot_h * value / peak
            y -= h
            rects.append({"y": round(y, 2), "h": round(h, 2), "fill": colour, "title": f"{label}: {value} {name}"})
        bars.append(
            {
                "x": round(x, 2),
                "w": round(bar_w, 2),
                "rects": rects,
                "label": label if i % max(1, label_every) == 0 else "",
                "label_x": round(x + bar_w / 2, 2),
            }
        )
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "bars": bars,
        "peak": peak,
        "axis_y": HEIGHT - PAD_BOTTOM,
        "label_y": HEIGHT - 8,
        "left": PAD_LEFT,
        "right": WIDTH - 8,
    }
