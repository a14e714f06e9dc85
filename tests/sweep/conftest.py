"""Shared helpers of the sweep tests: tiny sweep files (a 4-unit hidden layer, 100 training examples)."""

import pytest

TINY = """
name = "tiny"
base = "ambrogio2018"
set = ["network.hidden=4", "transfer.interval=50"]
seeds = {seeds}
baseline = {baseline}

[budget]
epochs = 1
train_subset = 100
test_subset = 50

[vary]
{vary}
"""


@pytest.fixture
def write_sweep(tmp_path):
    """write_sweep(vary_text, seeds="[0]", baseline="true", name="s.toml") → path of a tiny sweep file."""

    def write(vary: str, seeds: str = "[0]", baseline: str = "true", name: str = "s.toml"):
        p = tmp_path / name
        p.write_text(TINY.format(vary=vary, seeds=seeds, baseline=baseline))
        return p

    return write
