"""Evaluation under two CPU processes gathers exactly the numbers of one process."""

import json

from stargan_cli.evaluate.run import evaluate

from .spawn import in_two_processes, join_group


def _in_each_process(rank: int, port: int, run: str, out: str) -> None:
    join_group(rank, port)
    evaluate(run, out=out, batch_size=4)  # only the main process writes


def test_two_processes_report_the_numbers_of_one(trained_run, tmp_path):
    single = evaluate(trained_run, out=tmp_path / "one.json", batch_size=4)  # 12 test faces: 3 batches
    assert single is not None
    in_two_processes(_in_each_process, str(trained_run), str(tmp_path / "two.json"))
    one = json.loads((tmp_path / "one.json").read_text())
    two = json.loads((tmp_path / "two.json").read_text())
    assert two["scores"] == one["scores"] and two["summary"] == one["summary"]  # exactly, not approximately
    assert sum(s["pairs"] for s in one["scores"]) == 12 * 4  # Male, Young: 12 each; hair: 24 in all
