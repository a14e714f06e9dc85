"""How hardware time passes during training: the clocks of 3T1C leakage and PCM drift (``schedule.kind``).

Two schedules, chosen once here by name (:data:`SCHEDULES`; the training loop only calls the protocol):

* ``accelerator`` — the projected accelerator of :mod:`pycosim.timing`: every example advances both clocks
  by t_example (derived from the bundle and the periphery), every transfer by its own duration (derived
  from its verify reads and pulses); a transfer longer than its interval of examples is reported.
* ``tester`` — the demonstration of Ambrogio et al., Nature 558, 60 (2018): a **mixed hardware–software
  experiment**, the PCM pairs on a test chip programmed and read by a tester, the 3T1C cells, the neurons
  and the arithmetic in software. The PCM clock is the experiment's wall time: each example takes
  ``schedule.example_s`` and each transfer ``schedule.transfer_s``, and the closed loop reads a device
  ``schedule.verify_delay_s`` after its pulse (assumptions, :mod:`pycosim.assumptions` ``TESTER_EXAMPLE_S``,
  ``TESTER_TRANSFER_S`` and ``TESTER_VERIFY_DELAY_S``, with the reasoning there and in docs/training.md); the
  3T1C cells (a circuit model in the paper's software) keep the accelerator's clock, so they leak as the
  projected design's cells would. In the crossbar's terms, per example::

      advance(t_accel)                               (both clocks: 3T1C leakage and PCM drift)
      advance(example_s − t_accel, hold_lsp=True)    (the PCM only)

  and per transfer the same with the accelerator's derived transfer time and ``transfer_s``.

Each schedule returns, for an example and for a transfer, the pair (t_both_s, t_pcm_only_s) of seconds that
both clocks advance and that only the PCM clock advances, and the verify delay of its closed loop
(``verify_delay_s()``: the tester's; None for the accelerator, whose layers derive theirs,
:func:`pycosim.timing.verify_delay_s`). The verify delay is inside the transfer's time, not added to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pycosim.errors import ConfigError


@dataclass(frozen=True)
class Accelerator:
    """Both clocks on the accelerator's derived time (module docstring)."""

    name = "accelerator"

    def example(self, t_accel_s: float) -> tuple[float, float]:
        """(t_both, t_pcm_only) (s) of one example whose accelerator time is t_accel_s: (t_accel_s, 0)."""
        return float(t_accel_s), 0.0

    def transfer(self, t_accel_s: float) -> tuple[float, float]:
        """(t_both, t_pcm_only) (s) of one transfer of derived duration t_accel_s: (t_accel_s, 0)."""
        return float(t_accel_s), 0.0

    def verify_delay_s(self) -> None:
        """Age of a device at its verify read: None — each layer derives its own from its row-serial transfer
        schedule (:func:`pycosim.timing.verify_delay_s`)."""
        return None

    def reports_overruns(self) -> bool:
        """A transfer longer than its interval of examples is a defect of this design: reported."""
        return True

    def summary(self, t_accel_s: float) -> dict:
        """metrics.json → schedule: the kind and the seconds per example on each clock."""
        return {"kind": self.name, "example_both_clocks_s": float(t_accel_s), "example_pcm_only_s": 0.0}


@dataclass(frozen=True)
class Tester:
    """PCM on the tester's wall clock, 3T1C on the accelerator's (module docstring).

    example_s: wall time of one example in the experiment (s); transfer_s: of one transfer (s); verify_delay: age
    of a device at the closed loop's verify read after its pulse (s)."""

    example_s: float
    transfer_s: float
    verify_delay: float = 0.0
    name = "tester"

    def verify_delay_s(self) -> float:
        """Age (s) of a device at its verify read on the tester: the configured verify_delay
        (schedule.verify_delay_s, default TESTER_VERIFY_DELAY_S)."""
        return float(self.verify_delay)

    def example(self, t_accel_s: float) -> tuple[float, float]:
        """(t_accel_s, max(example_s − t_accel_s, 0)) (s)."""
        return float(t_accel_s), max(self.example_s - float(t_accel_s), 0.0)

    def transfer(self, t_accel_s: float) -> tuple[float, float]:
        """(t_accel_s, max(transfer_s − t_accel_s, 0)) (s)."""
        return float(t_accel_s), max(self.transfer_s - float(t_accel_s), 0.0)

    def reports_overruns(self) -> bool:
        """The tester pauses the software for as long as a transfer takes: nothing to report."""
        return False

    def summary(self, t_accel_s: float) -> dict:
        """metrics.json → schedule: the kind, the seconds per example on each clock and the assumed wall times."""
        both, pcm = self.example(t_accel_s)
        return {"kind": self.name, "example_both_clocks_s": both, "example_pcm_only_s": pcm,
                "example_s": self.example_s, "transfer_s": self.transfer_s, "verify_delay_s": self.verify_delay,
                "note": "PCM on the tester's wall clock, 3T1C cells on the accelerator's (Ambrogio et al. 2018, mixed "
                        "hardware-software experiment; assumptions TESTER_EXAMPLE_S, TESTER_TRANSFER_S, "
                        "TESTER_VERIFY_DELAY_S)"}


#: kind → constructor from the ScheduleConfig
SCHEDULES = {
    "accelerator": lambda c: Accelerator(),
    "tester": lambda c: Tester(example_s=c.example_s, transfer_s=c.transfer_s, verify_delay=c.verify_delay_s),
}


def of(cfg) -> Accelerator | Tester:
    """The schedule of a :class:`pycosim.nn.config.ScheduleConfig` (ConfigError on an unknown kind)."""
    try:
        return SCHEDULES[cfg.kind](cfg)
    except KeyError:
        raise ConfigError(f"schedule.kind={cfg.kind!r}: allowed values are "
                          f"{', '.join(map(repr, SCHEDULES))}") from None
