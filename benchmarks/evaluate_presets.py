"""After training, side by side: 2pcm+3t1c (ambrogio2018), 2pcm (pcm-only), 4pcm (cristiano2018-4pcm).

Trains each preset on the same MNIST subset (784-250-125-10, ``--examples`` examples, one epoch, transfer
every ``--interval`` examples; finished run directories under ``--runs`` are reused), then runs
``pycosim evaluate`` (circuit and statistical models, with and without global drift compensation, and the
3T1C-leak mode for ambrogio2018) and ``pycosim report`` on the three. Writes the table to
``benchmarks/results/evaluate_presets.txt``.

    python benchmarks/evaluate_presets.py [--examples 4000] [--interval 1000] [--test 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

PRESETS = ("ambrogio2018", "pcm-only", "cristiano2018-4pcm")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=4000)
    ap.add_argument("--interval", type=int, default=1000)
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--times", default="0s,1ms,1s,1h,1d,1y")
    ap.add_argument("--runs", default="runs/evaluate")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "evaluate_presets.txt"))
    a = ap.parse_args()

    from pycosim.evaluate import evaluate, format_report, report
    from pycosim.nn.train import resolve_config, train

    root = Path(a.runs)
    lines = [f"# benchmarks/evaluate_presets.py --examples {a.examples} --interval {a.interval} --test {a.test} "
             f"--repeats {a.repeats} --times {a.times}",
             f"# {platform.node()} {time.strftime('%Y-%m-%d %H:%M')}; 784-250-125-10, MNIST first {a.examples} "
             f"training / {a.test} test examples, 1 epoch, seed 0", ""]
    dirs = []
    for name in PRESETS:
        out = root / name
        if not (out / "metrics.json").is_file():
            cfg = resolve_config(name, None, [f"transfer.interval={a.interval}", f"training.test_subset={a.test}"],
                                 epochs=1, train_subset=a.examples)
            t0 = time.perf_counter()
            train(cfg, out, progress=True)
            print(f"{name}: trained in {time.perf_counter() - t0:.0f} s")
        dirs.append(out)
    for out in dirs:
        t0 = time.perf_counter()
        for comp in ("none", "global"):
            evaluate(out, a.times, repeats=a.repeats, compensation=comp, noise_model="both", progress=True)
        if out.name == "ambrogio2018":
            evaluate(out, a.times, repeats=a.repeats, lsp_mode="leak", progress=True)
        print(f"{out.name}: evaluated in {time.perf_counter() - t0:.0f} s")
    reps = report(dirs, out_dir=root / "comparison")
    lines.append(format_report(reps))
    text = "\n".join(lines) + "\n"
    Path(a.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
