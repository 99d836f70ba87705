"""Sweeps in real Chromium against a real `grpolab up` (two real workers): an arm with GL001 is refused in the
form; a 2 × 3 sweep (estimator × seed) made in the form runs to the end and its page shows bands and the final
table with intervals, matching the API's numbers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Server, shot

pytestmark = pytest.mark.e2e

TINY = """\
algorithm:
  group_size: 4
rollout:
  batch_size: 8
optim:
  micro_batch_size: 8
run:
  steps: 3
  eval_episodes: 0
  checkpoint_every: 0
resources:
  cpu_threads: 1
"""


def open_form(page: Any, server: Server, base: str) -> None:
    page.goto(f"{server.url}/sweeps")
    page.get_by_role("button", name="New sweep").click()
    editor = page.get_by_test_id("config-editor")
    editor.wait_for()
    page.mouse.move(0, 0)
    editor.focus()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(base)  # one input event, as a paste: no auto-indent


def set_grid(page: Any, rows: list[tuple[str, str]]) -> None:
    for i, (key, values) in enumerate(rows, start=1):
        page.get_by_label(f"grid key {i}").fill(key)
        page.get_by_label(f"grid values {i}").fill(values)


def sweep_count(server: Server) -> int:
    return int(server.api("GET", "/sweeps")["total"])


def test_gl001_arm_is_refused_in_the_form(signed_in: Any, server: Server) -> None:
    page = signed_in
    before = sweep_count(server)
    open_form(page, server, TINY)
    page.get_by_label("Name").first.fill("norm ablation")
    set_grid(page, [("algorithm.norm_return", "false, true"), ("run.seed", "0")])
    assert page.get_by_test_id("arm-count").get_attribute("data-count") == "2"
    status = page.locator('[data-testid="arm-status"][data-refused="1"]')
    status.wait_for()
    assert "1 of 2 arms refused" in status.inner_text()
    refused = page.locator('li[data-arm="1"]')
    assert refused.get_attribute("data-ok") == "false"
    assert "algorithm.norm_return=true" in refused.inner_text()
    assert refused.locator('[data-rule="GL001"]').count() == 1
    assert page.locator('li[data-arm="0"]').get_attribute("data-ok") == "true"
    assert page.get_by_test_id("submit-sweep").is_disabled()
    assert "1 arm refused" in page.locator("#sweep-why").inner_text()
    shot(page, "sweep-gl001-refused")
    assert sweep_count(server) == before  # the preview stored nothing

    # acknowledging the rule for every arm (with a reason) lets the sweep through the check
    page.locator(".findings-panel").get_by_role("button", name="Allow with a reason…").click()
    page.get_by_label("Why does this run break GL001 on purpose?").fill(
        "ablation of the second normalization"
    )
    page.locator(".findings-panel").get_by_role("button", name="Allow", exact=True).click()
    page.locator('[data-testid="arm-status"][data-refused="0"]').wait_for()
    assert page.get_by_test_id("submit-sweep").is_enabled()


def test_2x3_sweep_from_the_form_runs_and_shows_bands_and_final_table(signed_in: Any, server: Server) -> None:
    page = signed_in
    open_form(page, server, TINY)
    page.get_by_label("Name").first.fill("estimator x seed")
    set_grid(page, [("algorithm.estimator", "grpo, rloo"), ("run.seed", "0, 1, 2")])
    assert page.get_by_test_id("arm-count").inner_text().startswith("2 × 3 = 6 runs")
    page.locator('[data-testid="arm-status"][data-refused="0"]').wait_for()
    page.get_by_test_id("submit-sweep").click()
    page.wait_for_url("**/sweeps/*")
    sweep_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    sweep = server.api("GET", f"/sweeps/{sweep_id}")
    assert sweep["runs"] == 6 and sweep["grid"] == {
        "algorithm.estimator": ["grpo", "rloo"],
        "run.seed": [0, 1, 2],
    }

    # six tiny runs, two at a time on the session's two workers
    page.locator('[data-testid="sweep-status"][data-status="finished"]').wait_for(timeout=600_000)
    sweep = server.api("GET", f"/sweeps/{sweep_id}")
    assert sweep["counts"] == {"succeeded": 6}, sweep["counts"]
    summary = server.api("GET", f"/sweeps/{sweep_id}/summary?metric=rollout/reward_mean")
    api_groups = {g["label"]: g for g in summary["groups"]}

    chart = page.locator('figure[data-chart="sweep-rollout/reward_mean"]')
    page.wait_for_function(
        "() => { const f = document.querySelector('figure[data-chart=\"sweep-rollout/reward_mean\"]');"
        " return f && JSON.parse(f.dataset.series).every(s => s.x.length === 3) }"
    )
    drawn = json.loads(chart.get_attribute("data-series"))
    assert [s["label"] for s in drawn] == [
        'algorithm.estimator="grpo" (3 seeds)',
        'algorithm.estimator="rloo" (3 seeds)',
    ]
    for s in drawn:
        group = api_groups[s["label"].rsplit(" (", 1)[0]]
        band = group["bands"]["rollout/reward_mean"]
        assert s["n"] == [3, 3, 3]
        assert s["mean"] == pytest.approx([p["mean"] for p in band])
        # the band is mean ± the sample std over the three seeds, as the API computed it
        assert s["hi"] == pytest.approx([p["mean"] + p["std"] for p in band])
        assert all(lo <= m <= hi for lo, m, hi in zip(s["lo"], s["mean"], s["hi"], strict=True))
    assert page.locator("figure[data-chart] canvas").count() >= 2  # uPlot drew the charts
    # hover: the legend reads out each arm's mean and its band's edges at that step; the edge rows are hidden
    over = chart.locator(".u-over")
    box = over.bounding_box()
    page.mouse.move(box["x"] + 2, box["y"] + box["height"] / 2)
    readout = chart.locator(".u-legend .u-series:not(.band-edge) .u-value").nth(1)
    page.wait_for_function("(el) => el.textContent.includes('[')", arg=readout.element_handle())
    m = re.fullmatch(r"(\S+) \[(\S+), (\S+)\]", readout.inner_text().strip())
    assert m, readout.inner_text()
    mean, lo, hi = (float(v) for v in m.groups())  # step 1, the cursor's nearest point
    assert mean == pytest.approx(drawn[0]["mean"][0], abs=1e-3) and lo <= mean <= hi
    assert hi == pytest.approx(drawn[0]["hi"][0], abs=1e-3)
    assert chart.locator(".u-legend .u-series.band-edge").first.is_hidden()

    table = page.get_by_test_id("final-table")
    rows = table.locator("tbody tr")
    assert rows.count() == 2
    for i in range(2):
        row = rows.nth(i)
        cell = row.locator('td[data-metric="rollout/reward_mean"]')
        group = api_groups[row.get_attribute("data-group")]
        final = group["final"]["rollout/reward_mean"]
        assert cell.get_attribute("data-n") == "3" and final["n"] == 3
        assert float(cell.get_attribute("data-mean")) == pytest.approx(final["mean"])
        if final["std"]:  # three seeds that differ: an interval is printed around the mean
            assert (
                float(cell.get_attribute("data-ci-low"))
                < final["mean"]
                < float(cell.get_attribute("data-ci-high"))
            )
            assert "95% CI [" in cell.inner_text()
        assert row.locator("a[data-run-link]").count() == 3
    page.get_by_label("95% interval of the mean").check()
    page.locator('figure[data-chart="sweep-rollout/reward_mean"][data-band="ci"]').wait_for()
    shot(page, "sweep-detail")
    link = rows.nth(0).locator("a[data-run-link]").first
    run_id = link.get_attribute("data-run-link")
    link.click()
    page.wait_for_url(f"**/runs/{run_id}")
    assert server.api("GET", f"/runs/{run_id}")["sweep_id"] == sweep_id


def test_a_viewer_reads_sweeps_but_gets_no_form(browser: Any, server: Server) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "BROKER_URL"}}
    grpolab = Path(sys.executable).with_name("grpolab")
    add = [
        str(grpolab),
        "user",
        "add",
        "sweep-viewer",
        "--role",
        "viewer",
        "--data-dir",
        str(server.data_dir),
    ]
    token = subprocess.run(
        add, capture_output=True, text=True, env=env, check=True, timeout=120
    ).stdout.strip()
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.goto(f"{server.url}/#token={token}")
    page.get_by_test_id("me").wait_for()
    page.goto(f"{server.url}/sweeps")
    page.get_by_text("A viewer reads sweeps; a member or an admin starts them.").wait_for()
    assert page.get_by_role("button", name="New sweep").count() == 0
    if sweep_count(server):  # the sweeps made by the tests above are listed for the viewer too
        page.locator("tr[data-sweep-id]").first.wait_for()
    ctx.close()
