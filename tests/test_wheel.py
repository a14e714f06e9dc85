"""A non-editable wheel carries the SPICE files and MNIST; `pycosim doctor` works from outside the checkout."""

import site
import subprocess
import os
import sys
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_installs_and_doctor_passes(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
                   check=True, capture_output=True, text=True)
    (wheel,) = wheels.glob("pycosim-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = [f"pycosim/{p.relative_to(ROOT)}" for d in ("netlists", "circuits") for p in (ROOT / d).glob("*.*")]
    assert "pycosim/circuits/rc_step.cir" in shipped
    assert set(shipped) <= set(names), set(shipped) - set(names)
    assert "pycosim/datasets/data/mnist/train-images-idx3-ubyte.gz" in names

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    # the installed package only: a PYTHONPATH pointing at a source tree (how the suite is run from a worktree)
    # would shadow it in the subprocesses
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    py = env_dir / "bin" / "python"
    # dependencies come from this interpreter's site-packages (no network needed); pycosim from the wheel only
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True, env=clean).stdout.strip()
    (Path(purelib) / "_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], check=True,
                   capture_output=True, text=True, env=clean)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    out = subprocess.run([str(env_dir / "bin" / "pycosim"), "doctor"], cwd=outside, capture_output=True, text=True,
                         env=clean)
    assert out.returncode == 0, out.stdout + out.stderr
    assert str(env_dir) in out.stdout  # SPICE files and MNIST found inside the installed package
    assert "[ok] ngspice" in out.stdout
    assert "[ok] calibration" in out.stdout  # shipped bundle inside the wheel, hashes match its netlists
    show = subprocess.run([str(env_dir / "bin" / "pycosim"), "calibration", "show"], cwd=outside,
                          capture_output=True, text=True, env=clean)
    assert show.returncode == 0 and "netlists/pcm.lib" in show.stdout and str(env_dir) in show.stdout
