"""What a sweep can vary, and how its values are written and read back."""

import pytest

from napari_neural_style.core.config import OPTIONS, TASKS, Config
from napari_neural_style.core.errors import InputError
from napari_neural_style.core.sweep_spec import (
    SWEEPS,
    cluster_progress,
    format_values,
    parse_values,
    sweepable,
)


@pytest.mark.parametrize("parameter", list(SWEEPS))
def test_every_default_sweep_reads_back_and_makes_valid_configs(parameter):
    entry = SWEEPS[parameter]
    assert parameter in OPTIONS and (entry.task is None or entry.task in TASKS)
    values = parse_values(parameter, format_values(entry.values))
    assert values == entry.values
    task = entry.task or "transfer"
    for value in values:
        Config.for_task(task, **{**entry.overrides, parameter: value})


def test_layer_lists_are_separated_by_semicolons():
    assert parse_values("style_layers", "conv_1,conv_2; conv_3-4") == ("conv_1,conv_2",
                                                                       "conv_3-4")
    assert parse_values("seed", "0, 1,2") == (0, 1, 2)


def test_bad_sweeps_are_refused_in_words():
    with pytest.raises(InputError, match="cannot sweep 'size'"):
        sweepable("size")
    with pytest.raises(InputError, match="bad value"):
        parse_values("seed", "0, one")


def test_cluster_progress_says_what_runs_where():
    assert cluster_progress("value", 2, 4, {2: (37, 100)}) == \
        "2 of 4 values done on the cluster; value 3 at step 37/100"
    assert cluster_progress("frame", 0, 3, {}) == "0 of 3 frames done on the cluster"
