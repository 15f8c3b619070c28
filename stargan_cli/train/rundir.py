"""Run directories (docs/design.md, contract 4): runs/NNNN-<name>/ with config.json, metrics.jsonl, samples/,
checkpoints/ and the latest generator.safetensors."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..config import Recipe, config_hash, recipe_from_dict
from ..errors import CheckpointError, ConfigError
from ..files import cannot_write, locked


def new_run_dir(runs_dir: str | Path, name: str) -> Path:
    """runs/NNNN-<name>/ with the next free number. Numbers are taken under a lock on runs/.lock, so runs
    started at once (of any recipe) never share one."""
    root = Path(runs_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cannot_write(root, exc) from None
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "run"
    with locked(root / ".lock", destination=root):
        numbers = [int(m.group(1)) for p in root.iterdir() if (m := re.match(r"(\d{4,})-", p.name))]
        path = root / f"{max(numbers, default=0) + 1:04d}-{safe}"
        try:
            path.mkdir()
        except OSError as exc:
            raise cannot_write(path, exc) from None
        _point_latest(root, path)
    return path


def _point_latest(root: Path, run: Path) -> None:
    """runs/latest -> the newest run, so `stargan evaluate runs/latest` works in scripts and the README."""
    link = root / "latest"
    if link.exists() and not link.is_symlink():
        return  # a real file or folder named latest belongs to the user: leave it
    tmp = root / f".latest.{run.name}"
    try:
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(run.name, target_is_directory=True)
        tmp.replace(link)
    except OSError:  # file systems without symlinks: the numbered name still works
        tmp.unlink(missing_ok=True)


def write_config(run_dir: Path, recipe: Recipe) -> None:
    (run_dir / "config.json").write_text(recipe.to_json(), encoding="utf-8")


def _read_config_data(run_dir: Path) -> dict:
    path = run_dir / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{run_dir} is not a run directory (no config.json); pass runs/NNNN-name")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path} is damaged ({exc})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} is damaged (a JSON object of recipe sections expected)")
    return data


def read_config(run_dir: Path) -> Recipe:
    """The run's recipe. A config.json of an earlier version is read with its settings where they are now
    (e.g. train.lambda_cls as loss.lambda_cls); the file itself is never rewritten."""
    data = _read_config_data(run_dir)
    try:
        return recipe_from_dict(data, migrate=True)
    except ConfigError as exc:  # readable, but not a recipe this version runs
        raise CheckpointError(
            f"{run_dir / 'config.json'}: {exc}; it was written by another stargan version or edited: "
            "fix or remove that entry, or use the version that trained the run"
        ) from None


def run_config_hash(run_dir: Path) -> str:
    """The hash of config.json as written when the run started: what its checkpoints must match."""
    return config_hash(_read_config_data(run_dir))
