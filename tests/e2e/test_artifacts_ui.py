"""The run page's outputs in real Chromium against a real `grpolab up`: sample episodes, eval curves, the checkpoint
download (a tar.gz that opens, with the checkpoint's bytes) and the metrics CSV."""

from __future__ import annotations

import csv
import io
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Server, shot

pytestmark = pytest.mark.e2e

# tiny and fast; evaluations at steps 2 and 4 draw the eval curve
CONFIG = """\
model: {hidden_size: 16, num_layers: 1, num_heads: 2, intermediate_size: 32}
algorithm: {group_size: 4}
rollout: {batch_size: 8}
run: {steps: 4, checkpoint_every: 0, sample_episodes: 3, eval_every: 2, eval_episodes: 8}
resources: {cpu_threads: 1}
"""


def test_run_page_shows_samples_and_downloads_a_checkpoint(
    signed_in: Any, server: Server, tmp_path: Path
) -> None:
    page = signed_in
    run = server.api("POST", "/runs", {"name": "e2e-artifacts", "config_text": CONFIG, "tags": ["e2e"]})
    done = server.wait_status(run["id"], {"succeeded", "failed"}, timeout=240)
    assert done["status"] == "succeeded", done.get("error")
    page.goto(f"{server.url}/runs/{run['id']}")

    # sample episodes: the latest step first, one row per kept episode, with text, reward and advantage
    samples = page.get_by_test_id("sample-episodes")
    samples.locator("table.samples[data-step='4']").wait_for()
    rows = samples.get_by_test_id("sample-row")
    assert rows.count() == 3
    first = rows.first.locator("td").all_inner_texts()
    assert first[0].strip() == "0 · 0" and first[1].strip()  # group · episode, and the prompt's text
    assert first[3].strip() not in ("", "—") and first[4].strip() not in ("", "—")  # reward, advantage
    samples.get_by_label("sample step").select_option("2")
    samples.locator("table.samples[data-step='2']").wait_for()

    # eval curves: the periodic evaluations (steps 2, 4) and the final one
    page.locator("figure[data-chart='eval:eval/success_rate']").wait_for()
    drawn = page.evaluate("() => window.__charts['eval:eval/success_rate'].series")
    assert drawn[0]["x"][-2:] == [2, 4] and drawn[1]["label"] == "final"

    # the checkpoint download: fetched with the token, saved by the browser, a tar.gz that opens
    item = page.get_by_test_id("checkpoints").locator("li[data-step='4']")
    with page.expect_download() as info:
        item.get_by_role("button", name="download checkpoint of step 4").click()
    download = info.value
    assert download.suggested_filename == f"{run['id']}-step-000004.tar.gz"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    folder = server.data_dir / "runs" / run["id"] / "checkpoints" / "step-000004"
    with tarfile.open(saved, "r:gz") as tar:
        weights = tar.extractfile(f"{run['id']}-step-000004/model.safetensors")
        assert weights is not None and weights.read() == (folder / "model.safetensors").read_bytes()

    # the metrics CSV, one row per step
    with page.expect_download() as info:
        page.get_by_role("button", name="Metrics CSV").click()
    rows_csv = list(csv.reader(io.StringIO(Path(info.value.path()).read_text())))
    assert rows_csv[0][0] == "step" and [r[0] for r in rows_csv[1:]] == ["1", "2", "3", "4"]
    shot(page, "09-run-artifacts")
