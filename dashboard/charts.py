"""Geometry of the dashboard's charts, drawn as server-side SVG by templates/dashboard/_*_chart.html.

No chart library and no script: the numbers are already on the server, an SVG of a few rectangles is all a funnel,
a drop-off curve or a bar per day needs, and it prints, scales and works without JavaScript. Bars are placed in
percentages of the chart's width and labels in pixels, so text keeps its size on a 375 px phone; each chart has a
title and a description for screen readers and its numbers in a table beside it.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class FunnelRow:
    label: str
    opened: int  # percent of the run's students
    completed: int
    watched: int | None
    y: int  # top of the row, in pixels

    @property
    def opened_x(self):
        return round((100 - self.opened) / 2, 2)

    @property
    def completed_x(self):
        return round((100 - self.completed) / 2, 2)


FUNNEL_ROW = 44  # a label line, then the bar


def funnel(stats) -> tuple[list[FunnelRow], int]:
    """Return one centred pair of bars per lesson (opened, and completed inside it) and the chart's height."""
    rows = [
        FunnelRow(
            label=f"{position}. {item.lesson.title}",
            opened=item.opened_percent,
            completed=item.completed_percent,
            watched=item.watched_percent,
            y=position * FUNNEL_ROW - FUNNEL_ROW,
        )
        for position, item in enumerate(stats, start=1)
    ]
    return rows, max(FUNNEL_ROW, len(rows) * FUNNEL_ROW)


def drop_off_path(reached: list[int], *, students: int) -> str:
    """Return the area under "share of students still watching" at 0 %, 10 %, … 100 % of a video, in a 100×100 box."""
    if not reached:
        return ""
    whole = students or 1
    step = 100 / (len(reached) - 1)
    points = [f"{round(n * step, 2)},{round(100 - 100 * count / whole, 2)}" for n, count in enumerate(reached)]
    return f"M0,100 L{' L'.join(points)} L100,100 Z"


@dataclass(frozen=True)
class DayBar:
    day: object
    students: int
    x: float  # percent of the width
    width: float
    height: float  # percent of the plot's height

    @property
    def y(self):
        return round(100 - self.height, 2)


def day_bars(days) -> tuple[list[DayBar], int]:
    """Return one bar per day, scaled to the busiest day, and that day's count (the axis' top)."""
    top = max((day.students for day in days), default=0) or 1
    width = 100 / max(1, len(days))
    bars = [
        DayBar(
            day.day,
            day.students,
            round(n * width + width * 0.1, 3),
            round(width * 0.8, 3),
            round(100 * day.students / top, 2),
        )  # fmt: skip
        for n, day in enumerate(days)
    ]
    return bars, top
