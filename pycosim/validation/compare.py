"""Errors of the array model against SPICE, per quantity, and the cells that disagree.

Relative error of one element (model value m, SPICE value s):

    e = |m − s| / max(|s|, f·rms(s))

with rms(s) over all elements of the quantity and the floor fraction f (default 0.1): a signed quantity
that passes near zero (a read result, a weight) would otherwise divide by ~0; 10 % of the quantity's
typical size keeps those elements from reporting an "infinite" error for a tiny absolute one. The
median and maximum of e are the table's numbers; an element with e above the quantity's tolerance is
named (quantity, element label, both values).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FLOOR_FRACTION = 0.1
#: A quantity with a tolerance at or above this is informational: shown, not checked.
INFO_TOL = 10.0


@dataclass
class Quantity:
    """One compared quantity. spice/model: arrays of the same shape (SI units, or network units for reads
    and weights); labels: one text per element (e.g. 'input 3, column 1'); tol: per-element relative
    tolerance; need_frac: fraction of elements that must be within tol (1 = all; the update's g: 0.95);
    median_tol: tolerance of the median error (None = not checked); unit and scale for display (values
    are shown × scale in unit); note: how the quantity is obtained on each side; why: for an
    informational quantity (tol ≥ :data:`INFO_TOL`, e.g. ``np.inf``: not held to a tolerance), the reason,
    printed on its line of the table. An informational quantity never counts as agreeing."""

    key: str
    name: str
    spice: np.ndarray
    model: np.ndarray
    labels: list[str]
    tol: float
    unit: str = ""
    scale: float = 1.0
    need_frac: float = 1.0
    median_tol: float | None = None
    note: str = ""
    why: str = ""
    floor_fraction: float = FLOOR_FRACTION
    errors: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        self.spice = np.asarray(self.spice, float).ravel()
        self.model = np.asarray(self.model, float).ravel()
        if self.spice.shape != self.model.shape or len(self.labels) != self.spice.size:
            raise ValueError(f"{self.key}: spice {self.spice.shape}, model {self.model.shape} and "
                             f"{len(self.labels)} labels do not match")
        self.errors = relative_errors(self.model, self.spice, self.floor_fraction)

    @property
    def within(self) -> float:
        """Fraction of elements with e ≤ tol."""
        return float(np.mean(self.errors <= self.tol)) if self.errors.size else 1.0

    @property
    def informational(self) -> bool:
        """True for a quantity shown for information only (tol ≥ :data:`INFO_TOL`): it neither agrees nor
        disagrees."""
        return self.tol >= INFO_TOL

    @property
    def agrees(self) -> bool:
        """True only for a checked quantity inside its tolerance (:attr:`passed` and not informational)."""
        return self.passed and not self.informational

    @property
    def passed(self) -> bool:
        """Not beyond tolerance: the required fraction of elements within tol and the median within median_tol
        (an informational quantity, whose tol is infinite, is never beyond it)."""
        ok = self.within >= self.need_frac - 1e-12
        if self.median_tol is not None and self.errors.size:
            ok = ok and float(np.median(self.errors)) <= self.median_tol
        return ok

    def beyond(self, limit: int = 20) -> list[dict]:
        """The elements with e > tol, worst first (at most *limit*)."""
        idx = np.flatnonzero(self.errors > self.tol)
        idx = idx[np.argsort(-self.errors[idx])][:limit]
        return [{"element": self.labels[k], "spice": float(self.spice[k]), "model": float(self.model[k]),
                 "rel_error": float(self.errors[k])} for k in idx]

    def summary(self) -> dict:
        e = self.errors
        return {
            "name": self.name, "unit": self.unit, "n": int(e.size),
            "median_rel_error": float(np.median(e)) if e.size else 0.0,
            "max_rel_error": float(e.max()) if e.size else 0.0,
            "tolerance": self.tol, "median_tolerance": self.median_tol, "required_fraction_within": self.need_frac,
            "fraction_within": self.within, "passed": self.passed, "checked": not self.informational,
            "agrees": self.agrees, "why_not_checked": self.why if self.informational else None,
            "floor": float(self.floor_fraction * _rms(self.spice)),
            "n_beyond": int(np.count_nonzero(e > self.tol)), "beyond": self.beyond(), "note": self.note,
        }


def _rms(a: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(a)))) if a.size else 0.0


def relative_errors(model, spice, floor_fraction: float = FLOOR_FRACTION) -> np.ndarray:
    """e = |m − s| / max(|s|, floor_fraction·rms(s)) element-wise (module docstring); 0 where both are 0."""
    m, s = np.asarray(model, float).ravel(), np.asarray(spice, float).ravel()
    den = np.maximum(np.abs(s), floor_fraction * _rms(s))
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.abs(m - s) / den
    return np.where(den > 0, e, np.where(m == s, 0.0, np.inf))


def effect_size(with_effect, without, floor_fraction: float = FLOOR_FRACTION) -> dict:
    """Size of a physical effect on a quantity: relative change (errors of *without* against *with_effect*,
    the same definition as the table): median and maximum."""
    e = relative_errors(without, with_effect, floor_fraction)
    return {"median_rel": float(np.median(e)), "max_rel": float(e.max())} if e.size else {"median_rel": 0.0, "max_rel": 0.0}


def agreement(quantities: list[Quantity]) -> dict:
    """Counts of the table: 'checked' (quantities held to a tolerance), 'agree' (checked and inside it),
    'disagree', 'info' (shown for information only, :attr:`Quantity.informational`)."""
    checked = [q for q in quantities if not q.informational]
    agree = sum(q.agrees for q in checked)
    return {"checked": len(checked), "agree": agree, "disagree": len(checked) - agree,
            "info": len(quantities) - len(checked)}


def verdict_line(quantities: list[Quantity], checks_failed: int = 0) -> str:
    """One line: how many checked quantities agree within their tolerance, how many disagree, and how many
    are shown for information only (not counted as agreeing)."""
    a = agreement(quantities)
    ok = a["disagree"] == 0 and checks_failed == 0
    text = (f"{a['agree']} of {a['checked']} checked quantities agree within tolerance"
            + (f", {a['disagree']} DISAGREE (named above)" if a["disagree"] else "")
            + (f", {checks_failed} check(s) FAILED" if checks_failed else ""))
    if a["info"]:
        text += f"; {a['info']} shown for information only, not compared (reasons in the table)"
    return ("agree: " if ok else "DISAGREE: ") + text


def table(quantities: list[Quantity]) -> str:
    """The printed table: quantity, n, median and maximum relative error, tolerance, result (ok / DISAGREE,
    or for an informational quantity "not checked: " and its reason)."""
    head = f"{'quantity':<40} {'n':>5} {'median':>8} {'max':>8} {'tol':>6}  result"
    lines = [head, "-" * len(head)]
    for q in quantities:
        s = q.summary()
        tol = "info" if q.informational else f"{q.tol:.0%}"
        res = f"not checked: {q.why or 'no reason given'}" if q.informational else ("ok" if q.passed else "DISAGREE")
        if q.need_frac < 1 and not q.informational:
            res += f" ({s['fraction_within']:.0%} within)"
        lines.append(f"{q.name:<40} {s['n']:>5} {s['median_rel_error']:>8.2%} {s['max_rel_error']:>8.2%} {tol:>6}  {res}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Check:
    """A pass/fail check of the validation (besides the quantities): check (its text), n (elements checked),
    within (elements that pass), passed; for the transfer checks also max_abs_error (network units),
    set_pulses, resets (device RESETs) and, SPICE side, iterations (verify iterations of the loop)."""

    check: str
    n: int
    within: int
    passed: bool
    max_abs_error: float | None = None
    set_pulses: int | None = None
    resets: int | None = None
    iterations: int | None = None

    def as_dict(self) -> dict:
        """The record of validate.json 'checks' (unset fields left out)."""
        d = {"check": self.check, "n": self.n, "within": self.within}
        if self.max_abs_error is not None:
            d["max_abs_error"] = self.max_abs_error
        d["passed"] = self.passed
        for k in ("set_pulses", "resets", "iterations"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k)
        return d
