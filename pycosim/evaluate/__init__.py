"""After training: accuracy over time, energy, efficiency and PCM lifetime of a run directory.

* :func:`evaluate` (``pycosim evaluate RUNDIR``): test accuracy at times after training with PCM drift,
  read noise and the volatile 3T1C, with the circuit-derived model or the published statistical PCM model
  (:mod:`pycosim.evaluate.drift_eval` over the inference models of :mod:`pycosim.inference`);
* :func:`report` (``pycosim report RUNDIR …``): energy per training example and per inference, GOP/s/W,
  and the PCM endurance projection, runs side by side (:mod:`pycosim.evaluate.energy`,
  :mod:`pycosim.evaluate.lifetime`, :mod:`pycosim.evaluate.report`).

The run directory is only read, except for the files these commands write into it: ``evaluate.json``,
``report.json`` and ``plots/accuracy_vs_time.png``, ``plots/energy_breakdown.png``. See docs/evaluation.md.
"""

from pycosim.evaluate.drift_eval import evaluate, parse_times
from pycosim.evaluate.report import format_report, report

__all__ = ["evaluate", "format_report", "parse_times", "report"]
