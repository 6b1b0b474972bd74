"""Horizontal bar charts as plain geometry, in SVG user units: a template only draws what is here.

Computing the layout in Python keeps the charts server-side (no chart library, no JavaScript) and
lets unit tests check where every bar ends.
"""

import math
from dataclasses import dataclass

WIDTH = 720
PLOT_LEFT = 110  # right of the bar labels
PLOT_RIGHT = WIDTH - 52  # room for the value printed after each bar
ROW_HEIGHT = 22
BAR_HEIGHT = 14
VALUE_GAP = 6  # between the end of a bar (or its marker) and its value
MARKER_OVERHANG = 3  # how far a marker sticks out above and below its bar
TOP = 6
AXIS_HEIGHT = 42  # tick labels and the axis title, under the plot
TICKS = 5


@dataclass(frozen=True)
class BarInput:
    label: str
    value: int
    title: str = ""  # a tooltip
    marker: int | None = None  # a reference value drawn across the bar (e.g. a reorder point)
    highlight: bool = False


@dataclass(frozen=True)
class Bar:
    label: str
    title: str
    value: int
    y: float
    width: float
    text_y: float  # the baseline of the label and value texts, centred on the bar
    value_x: float  # after the bar and its marker, so that neither hides the value
    marker_x: float | None
    highlight: bool

    @property
    def marker_top(self) -> float:
        return self.y - MARKER_OVERHANG

    @property
    def marker_bottom(self) -> float:
        return self.y + BAR_HEIGHT + MARKER_OVERHANG


@dataclass(frozen=True)
class Tick:
    value: int
    x: float


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    ticks: list[Tick]
    axis_label: str
    plot_bottom: int
    width: int = WIDTH
    plot_left: int = PLOT_LEFT
    plot_right: int = PLOT_RIGHT
    plot_top: int = TOP
    bar_height: int = BAR_HEIGHT

    @property
    def height(self) -> int:
        return self.plot_bottom + AXIS_HEIGHT

    @property
    def label_x(self) -> int:
        return self.plot_left - 8

    @property
    def tick_label_y(self) -> int:
        return self.plot_bottom + 16

    @property
    def axis_label_x(self) -> float:
        return (self.plot_left + self.plot_right) / 2


def axis_scale(peak: int, ticks: int = TICKS) -> tuple[int, int]:
    """The axis end and the step between ticks: whole units, 1, 2 or 5 times a power of ten apart."""
    raw = max(peak, 1) / ticks
    if raw <= 1:
        step = 1
    else:
        magnitude = 10 ** math.floor(math.log10(raw))
        step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return max(math.ceil(peak / step), 1) * step, step


def bar_chart(items: list[BarInput], *, axis_label: str) -> BarChart:
    """One bar per item, top to bottom, on an axis from 0 long enough for every value and marker."""
    peak = max((max(item.value, item.marker or 0) for item in items), default=0)
    top, step = axis_scale(peak)

    def x(value: int) -> float:
        return round(PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * value / top, 1)

    bars = []
    for index, item in enumerate(items):
        y = TOP + index * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2
        marker_x = None if item.marker is None else x(item.marker)
        bars.append(
            Bar(
                label=item.label,
                title=item.title or f"{item.label}: {item.value}",
                value=item.value,
                y=y,
                width=round(x(item.value) - PLOT_LEFT, 1),
                text_y=y + BAR_HEIGHT / 2,
                value_x=max(x(item.value), marker_x or PLOT_LEFT) + VALUE_GAP,
                marker_x=marker_x,
                highlight=item.highlight,
            )
        )
    ticks = [Tick(value=value, x=x(value)) for value in range(0, top + 1, step)]
    return BarChart(bars=bars, ticks=ticks, axis_label=axis_label, plot_bottom=TOP + len(bars) * ROW_HEIGHT)
