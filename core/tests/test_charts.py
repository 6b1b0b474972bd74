import pytest

from core.charts import PLOT_LEFT, PLOT_RIGHT, ROW_HEIGHT, BarInput, axis_scale, bar_chart

PLOT_WIDTH = PLOT_RIGHT - PLOT_LEFT


@pytest.mark.parametrize(
    ("peak", "scale"),
    [
        (0, (1, 1)),
        (3, (3, 1)),
        (5, (5, 1)),
        (7, (8, 2)),
        (63, (80, 20)),
        (100, (100, 20)),
        (1234, (1500, 500)),
    ],
)
def test_the_axis_ends_on_a_round_tick_at_or_past_the_peak(peak, scale):
    assert axis_scale(peak) == scale


def test_bars_are_as_long_as_their_value_on_a_common_axis():
    chart = bar_chart([BarInput("A", 40), BarInput("B", 10), BarInput("C", 0)], axis_label="units")

    assert [bar.width for bar in chart.bars] == [PLOT_WIDTH, PLOT_WIDTH / 4, 0]
    assert [tick.value for tick in chart.ticks] == [0, 10, 20, 30, 40]
    assert chart.ticks[-1].x == PLOT_RIGHT


def test_bars_are_stacked_one_row_apart_and_the_chart_grows_with_them():
    few = bar_chart([BarInput("A", 1)], axis_label="units")
    many = bar_chart([BarInput(str(n), n) for n in range(10)], axis_label="units")

    assert [bar.y for bar in many.bars[:3]] == [many.bars[0].y + n * ROW_HEIGHT for n in range(3)]
    assert many.height - few.height == 9 * ROW_HEIGHT


def test_a_marker_past_every_bar_stretches_the_axis_and_pushes_the_value_after_it():
    (bar,) = bar_chart([BarInput("A", 5, marker=20)], axis_label="units").bars

    assert bar.marker_x == PLOT_RIGHT
    assert bar.width == PLOT_WIDTH / 4
    assert bar.value_x > bar.marker_x


def test_an_empty_chart_still_has_an_axis():
    chart = bar_chart([], axis_label="units")

    assert chart.bars == []
    assert [tick.value for tick in chart.ticks] == [0, 1]
