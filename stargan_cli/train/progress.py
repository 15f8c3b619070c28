"""The training progress bar and metrics.jsonl (one JSON object per log interval)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from rich.progress import TextColumn

from ..console import progress
from ..files import replaced


class TrainProgress:
    def __init__(self, run_dir: Path | None, start: int, total: int, enabled: bool) -> None:
        self.run_dir, self.start, self.total, self.enabled = run_dir, start, total, enabled
        self.last_logs: dict[str, float] = {}
        self._images = 0
        self._since = time.perf_counter()

    def __enter__(self) -> TrainProgress:
        if self.enabled:
            self._bar = progress(TextColumn("{task.fields[stats]}"))
            self._bar.__enter__()
            self._task = self._bar.add_task("train", total=self.total, completed=self.start, stats="")
            path = self.run_dir / "metrics.jsonl"
            _drop_records_after(path, self.start)
            self._metrics = path.open("a", encoding="utf-8")
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self._metrics.close()
            self._bar.__exit__(*exc)

    def advance(self, step: int, images: int) -> None:
        self._images += images
        if self.enabled:
            self._bar.update(self._task, completed=step)

    def log(self, step: int, logs: dict[str, float], lr: float, images: int) -> dict[str, float]:
        """Write one metrics.jsonl record (on the enabled process) and return it."""
        self._images += images
        now = time.perf_counter()
        seconds = now - self._since
        rate = self._images / max(seconds, 1e-9)
        self._images, self._since = 0, now
        self.last_logs = logs
        record = {
            "step": step,
            **{k: round(v, 6) for k, v in logs.items()},
            "lr": lr,
            "images/s": round(rate, 2),
            "seconds": round(seconds, 3),  # of this interval: their sum is the training time
        }
        if not self.enabled:
            return record
        self._metrics.write(json.dumps(record) + "\n")
        self._metrics.flush()
        stats = " ".join(f"{k} {v:.3f}" for k, v in logs.items()) + f" | {rate:.0f} img/s"
        self._bar.update(self._task, completed=step, stats=stats)
        return record


def read_metrics(path: Path) -> tuple[list[dict], int]:
    """metrics.jsonl -> its records (JSON objects) and the number of damaged lines (cut short by a crash,
    edited, not UTF-8, not an object), which are left out; ([], 0) when there is no file."""
    if not path.is_file():
        return [], 0
    records, damaged = [], 0
    for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict):
            records.append(record)
        elif line.strip():
            damaged += 1
    return records, damaged


def _drop_records_after(path: Path, step: int) -> None:
    """A run resumed from `step` logs the steps after it again: drop what the interrupted run had logged
    past its last checkpoint, so that metrics.jsonl holds each step once. Rewritten atomically."""
    if not path.is_file():
        return
    lines = path.read_bytes().decode("utf-8", errors="replace").splitlines(keepends=True)
    kept = []
    for line in lines:
        try:
            if json.loads(line)["step"] > step:
                continue
        except (ValueError, KeyError, TypeError):  # a line cut short by a crash
            continue
        kept.append(line)
    if kept != lines:
        with replaced(path) as tmp:
            tmp.write_text("".join(kept), encoding="utf-8")
