"""Configuration mechanics: dict/TOML round trip, dotted overrides, one-line errors."""

from dataclasses import dataclass, field
from typing import Literal

import pytest

from pycosim import config
from pycosim.errors import ConfigError


@dataclass(frozen=True)
class Transfer:
    """test section"""
    interval: int = 8000
    mode: Literal["closed", "open"] = "closed"
    tolerance_S: float = 0.5e-6

    def __post_init__(self):
        if self.interval <= 0:
            raise ConfigError(f"transfer.interval={self.interval}: must be a positive number of examples")


@dataclass(frozen=True)
class Top:
    """test root"""
    layers: tuple[int, ...] = (784, 250, 125, 10)
    seed: int = 0
    lr: float = 0.1
    stochastic: bool = False
    transfer: Transfer = field(default_factory=Transfer)


def test_round_trip_toml(tmp_path):
    c = config.override(Top(), ["transfer.interval=4000", "layers=784,100,10", "stochastic=true", "lr=0.05"])
    assert c.transfer.interval == 4000 and c.layers == (784, 100, 10) and c.stochastic is True
    p = config.save_toml(c, tmp_path / "c.toml")
    assert config.load_toml(Top, p) == c
    assert "[transfer]" in p.read_text()


def test_int_accepted_for_float_and_paths_listed():
    assert config.from_dict(Top, {"lr": 1}).lr == 1.0
    assert "transfer.interval" in config.paths(Top)


@pytest.mark.parametrize("assignment, words", [
    ("transfer.intervall=3", ["unknown setting", "transfer.interval"]),
    ("nope=1", ["unknown setting", "layers, seed, lr"]),
    ("transfer.interval=abc", ["transfer.interval", "integer"]),
    ("transfer.interval=0", ["positive"]),
    ("transfer.mode=half", ["closed", "open"]),
    ("transfer=3", ["section"]),
    ("seed", ["PATH=VALUE"]),
    ("lr=true", ["number"]),
])
def test_bad_overrides_are_one_line_errors(assignment, words):
    with pytest.raises(ConfigError) as e:
        config.override(Top(), [assignment])
    msg = str(e.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg


def test_bad_toml_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        config.load_toml(Top, tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("seed = [\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load_toml(Top, bad)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('seed = "x"\n')
    with pytest.raises(ConfigError, match="seed"):
        config.load_toml(Top, wrong)
