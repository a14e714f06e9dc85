"""The README's Python snippet runs as written (in a fresh directory: its run goes to ./run1)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def python_blocks(text: str) -> list[str]:
    """The ```python fenced blocks of a Markdown text."""
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_readme_python_snippet_runs_as_written(tmp_path, monkeypatch):
    blocks = python_blocks((ROOT / "README.md").read_text())
    assert len(blocks) == 1 and "train.train(" in blocks[0]
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), scope)      # NameError for an undefined name, etc.
    assert scope["y"].shape == (250,) and scope["d"].shape == (785,)
    assert 0.0 < scope["metrics"]["test_accuracy"] <= 1.0
    assert (tmp_path / "run1" / "metrics.json").is_file()
