"""Evaluation under two CPU processes gathers exactly the numbers of one process."""

import json

from stargan_cli.evaluate.run import evaluate

from .spawn import in_two_processes, join_group
from .test_fid import ChannelMeans


def _in_each_process(rank: int, port: int, run: str, out: str) -> None:
    join_group(rank, port)
    evaluate(run, out=out, batch_size=4, features=ChannelMeans(), fid_images=10)  # only the main one writes


def test_two_processes_report_the_numbers_of_one(trained_run, tmp_path):
    single = evaluate(
        trained_run, out=tmp_path / "one.json", batch_size=4, features=ChannelMeans(), fid_images=10
    )
    assert single is not None
    in_two_processes(_in_each_process, str(trained_run), str(tmp_path / "two.json"))
    one = json.loads((tmp_path / "one.json").read_text())
    two = json.loads((tmp_path / "two.json").read_text())
    assert two["scores"] == one["scores"] and two["summary"] == one["summary"]  # exactly, not approximately
    assert sum(s["pairs"] for s in one["scores"]) == 12 * 4  # 12 test faces, 3 batches; Male, Young: 12 each
    assert all(s["fid"] is not None for s in two["scores"])  # FID/KID too: the same features, in order
