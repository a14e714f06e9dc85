"""A GPU reference line for the same network at the same batch size (1): two bounds, no measurement.

No GPU is available to the project's machines, so the reference is computed from datasheet figures and a
stated kernel count (every constant a named assumption of :mod:`pycosim.assumptions`, with its source):

* **peak** (an upper bound of the GPU's efficiency): every operation at the datasheet's peak FP32 rate,
  t = ops/R_peak, at the board power P: GOP/s/W = R_peak/P (15.7 TFLOP/s / 300 W = 52.3 GOP/s/W for a
  V100), whatever the network or batch size;
* **batch-1 latency** (what a plain batch-1 SGD step costs): the step is a chain of small dependent kernels,
  each at least t_k (launch latency), so t = n_kernels·t_k and E = P·t, with, for L weight layers and one
  kernel per operation (no fusion, as a plain framework step issues them)::

      n_kernels(training example) = 2L (forward: matrix-vector product, bias + activation per layer)
                                  + 1 (softmax / loss gradient)
                                  + 2(L − 1) (backward, layers 2..L: transposed product, activation derivative)
                                  + 2L (update: outer-product (GER) and bias update per layer)  = 6L − 1
      n_kernels(inference) = 2L

The operation count is the accelerator's (:func:`pycosim.evaluate.energy.operations`, 2 operations per MAC,
Ambrogio et al., Nature 558, 60 (2018)), so the ratios are like for like. The true batch-1 figure of a GPU lies
between the two lines; Ambrogio et al. state their projection exceeds "today's GPUs by two orders of magnitude".
"""

from __future__ import annotations

from pycosim import assumptions as A


def kernels_per_step(n_weight_layers: int) -> dict:
    """{"training_example": 6L − 1, "inference": 2L} GPU kernels of one batch-1 step (module docstring)."""
    L = int(n_weight_layers)
    if L < 1:
        raise ValueError(f"a network needs at least one weight layer, got {n_weight_layers!r}")
    return {"training_example": 6 * L - 1, "inference": 2 * L}


def reference(layers) -> dict:
    """GPU reference of the network *layers* (sizes, input … output) at batch size 1 (module docstring).

    Returns {"gpu", "operations" {training_example, inference}, "kernels", "peak": {time_s, energy_J,
    gops_per_W} per kind, "batch1": the same, "assumptions": [names]}. Times in s, energies in J."""
    from pycosim.evaluate.energy import operations

    sizes = [int(n) for n in layers]
    ops = operations(sizes)
    kern = kernels_per_step(len(sizes) - 1)
    r, p, tk = A.GPU_PEAK_FP32_FLOPS.value, A.GPU_BOARD_POWER_W.value, A.GPU_KERNEL_TIME_S.value
    out = {"gpu": "NVIDIA Tesla V100 SXM2 (datasheet figures, not measured)", "batch_size": 1,
           "operations": {k: ops[k] for k in ("training_example", "inference")}, "kernels": kern,
           "assumptions": ["GPU_PEAK_FP32_FLOPS", "GPU_BOARD_POWER_W", "GPU_KERNEL_TIME_S"]}
    for name, t_of in (("peak", lambda k: ops[k] / r), ("batch1", lambda k: kern[k] * tk)):
        line = {}
        for k in ("training_example", "inference"):
            t = t_of(k)
            line[k] = {"time_s": t, "energy_J": p * t, "gops_per_W": ops[k] / (p * t) / 1e9}
        out[name] = line
    return out
