"""The UI as a researcher reads it (issue 14 item 8), in Debian's Chromium against a real `grpolab up`: values on
hover, smoothing, log scale and x axes; the runs table sorted and filtered through the URL; the editor linting
exactly what Submit accepts (B1); Cancel confirmed and Retry safe against a double click (B4); notes, rename,
tags and archive; no horizontal overflow at phone width (B6)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Server, shot
from tests.e2e.test_ui import BUGGY, editor_text, paste_config

pytestmark = pytest.mark.e2e

# tiny and fixed (no GL001): a run finishes in seconds on a 2-core CPU
TINY = """algorithm:
  estimator: grpo
  group_size: 4
rollout:
  batch_size: 16
run:
  steps: {steps}
  seed: {seed}
  eval_episodes: 0
  checkpoint_every: 0
"""


def tiny(steps: int = 8, seed: int = 0) -> str:
    return TINY.format(steps=steps, seed=seed)


@pytest.fixture(scope="module")
def finished_runs(server: Server) -> list[dict[str, Any]]:
    """Three small runs (seeds 2, 0, 1) shared by the chart and table tests; the charts read res-alpha, which
    is waited for (the others only need a name and a config)."""
    runs = [
        server.api(
            "POST",
            "/runs",
            {"name": f"res-{name}", "config_text": tiny(steps=steps, seed=seed), "tags": ["researcher"]},
        )
        for name, seed, steps in (("bravo", 2, 1), ("alpha", 0, 6), ("charlie", 1, 1))
    ]
    server.wait_status(runs[1]["id"], {"succeeded"}, timeout=300)
    return runs


def metrics_of(server: Server, run_id: str) -> list[dict[str, Any]]:
    return server.api("GET", f"/runs/{run_id}/metrics")["items"]


def ema(values: list[float], weight: float) -> list[float]:
    """TensorBoard's debiased EMA, written again here so the test does not trust the code it checks."""
    out, last = [], 0.0
    for i, v in enumerate(values, start=1):
        last = last * weight + (1 - weight) * v
        out.append(last / (1 - weight**i))
    return out


def set_range(page: Any, label: str, value: float) -> None:
    """Move a slider as a drag does: one input event with the new value (Playwright cannot fill a range)."""
    page.get_by_label(label).evaluate(
        """(el, v) => {
            Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(el, String(v));
            el.dispatchEvent(new Event('input', { bubbles: true }));
        }""",
        value,
    )


def hover_chart(page: Any, chart_id: str, frac: float) -> None:
    over = page.locator(f'figure[data-chart="{chart_id}"] .u-over')
    box = over.bounding_box()
    page.mouse.move(box["x"] + box["width"] * frac, box["y"] + box["height"] / 2)


def test_hover_shows_step_and_value_then_smoothing_and_axes(
    signed_in: Any, server: Server, finished_runs: list[dict[str, Any]]
) -> None:
    page = signed_in
    page.evaluate("() => localStorage.removeItem('grpolab.chartView')")
    run = finished_runs[1]
    points = metrics_of(server, run["id"])
    reward = {p["step"]: p["metrics"]["rollout/reward_mean"] for p in points}
    page.goto(f"{server.url}/runs/{run['id']}")
    chart = 'figure[data-chart="rollout/reward_mean"]'
    page.locator(f"{chart} canvas").first.wait_for()
    assert page.title() == "res-alpha · GRPO Lab"

    # hover: a tooltip with the step and the value logged at that step; the legend shows the same value
    hover_chart(page, "rollout/reward_mean", 0.5)
    tip = page.locator(f"{chart} [data-testid=chart-tooltip]")
    tip.wait_for()
    hovered = page.evaluate("() => window.__charts['rollout/reward_mean'].hover")
    step = int(hovered["x"])
    assert step in reward and 1 < step < max(reward)
    assert hovered["values"][0] == pytest.approx(reward[step])
    text = tip.inner_text()
    assert f"step {step}" in text
    value = float(re.search(r"res-alpha: (-?[\d.]+)", text).group(1))
    assert value == pytest.approx(reward[step], abs=1e-3)
    legend = page.locator(f'{chart} .chart-legend li[data-label="res-alpha"]')
    assert float(legend.get_attribute("data-value")) == pytest.approx(reward[step])
    shot(page, "researcher-01-hover")

    # smoothing: the smoothed curve is the debiased EMA of the raw one, which stays drawn (faint)
    page.mouse.move(0, 0)
    set_range(page, "smoothing", 0.8)
    page.wait_for_function("() => window.__charts['rollout/reward_mean'].smoothed[0] !== null")
    drawn = page.evaluate("() => window.__charts['rollout/reward_mean']")
    raw = [reward[s] for s in sorted(reward)]
    assert drawn["series"][0]["y"] == pytest.approx(raw)
    assert drawn["smoothed"][0]["y"] == pytest.approx(ema(raw, 0.8))
    hover_chart(page, "rollout/reward_mean", 0.5)
    assert "raw " in page.locator(f"{chart} [data-testid=chart-tooltip]").inner_text()
    shot(page, "researcher-02-smoothed")

    # x axis = train time: cumulative rollout + learn seconds of each step
    page.mouse.move(0, 0)
    page.get_by_label("X axis").select_option("time")
    page.wait_for_function("() => window.__charts['rollout/reward_mean'].view.xAxis === 'time'")
    xs = page.evaluate("() => window.__charts['rollout/reward_mean'].series[0].x")
    total, expected = 0.0, []
    for p in points:
        total += p["metrics"]["time/rollout_s"] + p["metrics"]["time/learn_s"]
        expected.append(total)
    assert xs == pytest.approx(expected)

    # log scale: values ≤ 0 are not drawn and the chart says how many
    page.get_by_label("X axis").select_option("step")
    page.get_by_label("Log scale").check()
    page.wait_for_function("() => window.__charts['rollout/reward_mean'].view.log === true")
    logged = page.evaluate("() => window.__charts['rollout/reward_mean'].series[0].y")
    assert logged == [v if v > 0 else None for v in raw]
    page.get_by_label("Log scale").uncheck()
    set_range(page, "smoothing", 0)


def test_runs_table_sorts_and_keeps_its_state_in_the_url(
    signed_in: Any, server: Server, finished_runs: list[dict[str, Any]]
) -> None:
    page = signed_in
    page.goto(f"{server.url}/?tag_prefix=resea")
    page.locator("table.runs tbody tr").nth(2).wait_for()
    names = lambda: page.locator("table.runs tbody tr td:nth-child(2) a").all_inner_texts()  # noqa: E731
    assert sorted(names()) == ["res-alpha", "res-bravo", "res-charlie"]

    page.get_by_role("button", name="Name", exact=True).click()
    page.wait_for_url(re.compile(r"sort=name&order=asc"))  # a name column starts A to Z
    page.wait_for_function("() => document.querySelector('th[data-sort=name]').ariaSort === 'ascending'")
    page.wait_for_function(
        "() => [...document.querySelectorAll('table.runs tbody tr td:nth-child(2) a')].map(a => a.textContent)"
        ".join() === 'res-alpha,res-bravo,res-charlie'"
    )
    page.get_by_role("button", name="Name", exact=True).click()  # the same column again: flipped
    page.wait_for_function("() => document.querySelector('th[data-sort=name]').ariaSort === 'descending'")
    assert "order=asc" not in page.url
    page.wait_for_function(
        "() => [...document.querySelectorAll('table.runs tbody tr td:nth-child(2) a')].map(a => a.textContent)"
        ".join() === 'res-charlie,res-bravo,res-alpha'"
    )

    # a config column through the picker, sorted in the browser
    page.get_by_text(re.compile("^Columns")).click()
    page.get_by_label(re.compile("config run.seed")).check()
    page.wait_for_url(re.compile(r"cols=config%3Arun.seed|cols=config:run.seed"))
    page.locator('td[data-col="config:run.seed"]').filter(has_text="2").wait_for()
    page.get_by_role("button", name="run.seed").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('table.runs tbody tr td:nth-child(2) a')].map(a => a.textContent)"
        ".join() === 'res-bravo,res-charlie,res-alpha'"
    )
    shot(page, "researcher-03-sorted-by-seed")

    # the URL is the view: opened fresh, it shows the same filter, columns and order
    url = page.url
    assert "tag_prefix=resea" in url and "sort=config" in url
    page.goto("about:blank")
    page.goto(url)
    page.locator('td[data-col="config:run.seed"]').first.wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll('table.runs tbody tr td:nth-child(2) a')].map(a => a.textContent)"
        ".join() === 'res-bravo,res-charlie,res-alpha'"
    )
    assert page.get_by_label("Tag").input_value() == "resea"
    # the ID column shows the ids the CLI needs
    ids = page.locator("table.runs tbody tr td:nth-child(3)").all_inner_texts()
    assert sorted(ids) == sorted(r["id"] for r in finished_runs)


def test_editor_lints_what_submit_accepts(signed_in: Any, server: Server) -> None:
    """B1: a verl key beside GRPO Lab keys used to lint clean (auto-detected as verl) while Submit refused it."""
    page = signed_in
    page.goto(f"{server.url}/new")
    paste_config(page, "algorithm:\n  estimator: grpo\n  norm_return: true\nactor_rollout_ref: {}\n")
    status = page.locator(".lint-status")
    status.filter(has_text="error").wait_for()
    assert status.get_attribute("data-format") == "grpolab"
    finding = page.locator('li.finding[data-rule="GL000"]')
    assert "actor_rollout_ref" in finding.inner_text()
    assert page.get_by_test_id("submit").is_disabled()
    assert "cannot be allowed" in page.locator("#submit-why").inner_text()  # B10
    # Markdown in why/fix is rendered, not shown raw (B8)
    finding.get_by_text("Why and how to fix").click()
    assert "`" not in finding.locator("details").inner_text()


def test_allow_keeps_focus_in_the_panel_and_ctrl_shift_z_redoes(signed_in: Any, server: Server) -> None:
    """B12: after the allow reason and Enter, focus is on the lint summary, not <body>. B17: Ctrl-Shift-Z redoes."""
    page = signed_in
    page.goto(f"{server.url}/new")
    paste_config(page, BUGGY)
    finding = page.locator('li.finding[data-rule="GL001"]')
    finding.get_by_role("button", name="Allow with a reason…").click()
    finding.get_by_role("textbox").fill("ablation")
    page.keyboard.press("Enter")
    page.locator(".lint-status[data-lint-errors='0']").wait_for()
    assert page.evaluate("() => document.activeElement.className") == "lint-status"
    # the sev badge of an allowed finding is not in error red (B9)
    assert page.locator('li.finding[data-rule="GL001"] .sev').get_attribute("class") == "sev sev-allowed"

    paste_config(page, "run:\n  steps: 3\n")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("End")
    page.keyboard.type("0")
    assert "steps: 30" in editor_text(page)
    page.keyboard.press("Control+z")
    assert "steps: 30" not in editor_text(page)
    page.keyboard.press("Control+Shift+Z")
    assert "steps: 30" in editor_text(page)


def test_cancel_asks_first_and_a_double_click_on_retry_does_not_cancel(
    signed_in: Any, server: Server
) -> None:
    page = signed_in
    long = "run:\n  steps: 5000\n  eval_episodes: 0\n  checkpoint_every: 0\nrollout:\n  batch_size: 16\n"
    run = server.api("POST", "/runs", {"name": "res-long", "config_text": long})
    page.goto(f"{server.url}/runs/{run['id']}")
    # B5: once it runs, the header shows its attempt and a duration without a reload
    page.locator("main[data-status='running']").wait_for(timeout=120_000)
    facts = "(dt) => document.evaluate(`//dt[text()='${dt}']/following-sibling::dd`, document).iterateNext()?.textContent"
    page.wait_for_function(f"() => ({facts})('Attempts') === '1'")
    page.wait_for_function(f"() => !['—', undefined].includes(({facts})('Duration'))")
    page.get_by_role("button", name="Cancel run…").click()
    page.get_by_role("button", name="Keep it").click()  # asked, then kept: nothing happened
    assert server.api("GET", f"/runs/{run['id']}")["status"] in {"queued", "running"}
    page.get_by_role("button", name="Cancel run…").click()
    page.get_by_role("button", name="Yes, cancel it").click()
    page.locator("main[data-status='cancelled']").wait_for(timeout=120_000)

    # two clicks 250 ms apart on the same spot: the second lands where Cancel appears once the retry is done
    box = page.get_by_role("button", name="Retry").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.click(x, y)
    page.wait_for_timeout(250)
    page.mouse.click(x, y)
    page.locator("main[data-status='queued'], main[data-status='running']").wait_for()
    page.wait_for_timeout(1500)
    after = server.api("GET", f"/runs/{run['id']}")
    assert after["status"] in {"queued", "running"} and not after["cancel_requested"]
    reasons = [h["reason"] or "" for h in after["history"]]
    since_retry = reasons[max(i for i, r in enumerate(reasons) if r.startswith("retried")) :]
    assert not [r for r in since_retry if "cancel" in r], reasons
    # the second click at most opened the confirmation, with focus on "Keep it"
    if page.get_by_role("group", name="confirm cancel").is_visible():
        assert page.evaluate("() => document.activeElement.textContent") == "Keep it"
        page.keyboard.press("Enter")
    page.get_by_role("button", name="Cancel run…").click()
    page.get_by_role("button", name="Yes, cancel it").click()
    server.wait_status(run["id"], {"cancelled"})


def test_rename_tags_notes_and_archive(signed_in: Any, server: Server) -> None:
    page = signed_in
    run = server.api("POST", "/runs", {"name": "res-edit", "config_text": tiny(steps=2), "tags": ["old"]})
    page.goto(f"{server.url}/runs/{run['id']}")
    page.get_by_role("button", name="Edit name, tags, notes…").click()
    form = page.locator("form.edit-form")
    form.get_by_label("Name").fill("res-edited")
    form.get_by_label("Tags").fill("new, researcher-edit")
    form.get_by_label("Notes (Markdown)").fill("Baseline for the **lr** sweep.")
    form.get_by_role("button", name="Save").click()
    page.locator("h1").filter(has_text="res-edited").wait_for()
    assert page.locator(".run-notes strong").inner_text() == "lr"
    stored = server.api("GET", f"/runs/{run['id']}")
    assert (stored["name"], stored["tags"], stored["notes"]) == (
        "res-edited",
        ["new", "researcher-edit"],
        "Baseline for the **lr** sweep.",
    )
    page.wait_for_function("() => document.title === 'res-edited · GRPO Lab'")

    page.get_by_role("button", name="Archive").click()
    page.get_by_test_id("archived").wait_for()
    assert server.api("GET", f"/runs/{run['id']}")["archived"] is True
    listed = server.api("GET", "/runs?tag=researcher-edit")["items"]
    assert listed == []  # hidden from the default list
    page.goto(f"{server.url}/?archived=1&tag=researcher-edit")
    page.locator(f'tr[data-run-id="{run["id"]}"]').wait_for()


PAGES = ["/", "/runs/{id}", "/new", "/compare", "/compare?ids={ids}", "/sweeps", "/queue", "/rules"]


def test_no_horizontal_overflow_at_phone_width(
    browser: Any, server: Server, finished_runs: list[dict[str, Any]]
) -> None:
    # a name with no place to break (seen in CI: the compare picker grew to 474 px); queued on the gpu queue,
    # which no worker here serves, then cancelled: it never trains
    long_name = "phone-width-" + "x" * 90
    parked = server.api(
        "POST", "/runs", {"name": long_name, "config_text": "resources:\n  gpus: 1\n", "tags": ["phone"]}
    )
    server.api("POST", f"/runs/{parked['id']}/cancel")
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="light", is_mobile=True)
    page = ctx.new_page()
    page.goto(f"{server.url}/#token={server.token}")
    page.get_by_test_id("me").wait_for()
    ids = ",".join(r["id"] for r in finished_runs[:2])
    wide: dict[str, int] = {}
    for path in PAGES:
        page.goto(server.url + path.format(id=finished_runs[0]["id"], ids=ids))
        page.locator("main h1").first.wait_for()
        page.wait_for_timeout(800)  # charts and lazy editor laid out
        width = page.evaluate("() => document.documentElement.scrollWidth")
        if width > 390:
            wide[path] = width
            shot(page, f"researcher-phone-{len(wide)}")
    ctx.close()
    assert not wide, f"pages wider than the 390 px screen: {wide}"


def test_a_viewer_sees_no_buttons_that_would_change_a_run(browser: Any, server: Server) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "BROKER_URL"}}
    grpolab = Path(sys.executable).with_name("grpolab")
    add = [str(grpolab), "user", "add", "res-viewer", "--role", "viewer", "--data-dir", str(server.data_dir)]
    token = subprocess.run(
        add, capture_output=True, text=True, env=env, check=True, timeout=120
    ).stdout.strip()
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.goto(f"{server.url}/#token={token}")
    page.get_by_test_id("me").wait_for()
    cancelled = server.api("POST", "/runs", {"name": "res-for-viewer", "config_text": tiny(steps=1)})
    server.api("POST", f"/runs/{cancelled['id']}/cancel")
    server.wait_status(cancelled["id"], {"cancelled"})
    page.goto(f"{server.url}/runs/{cancelled['id']}")
    page.locator("main[data-status='cancelled']").wait_for()
    page.locator("#notes-title").wait_for()
    # the page says it is read-only once it knows the role; no button that changes the run is drawn, before or after
    page.get_by_test_id("read-only").wait_for()
    buttons = page.locator("main button").all_inner_texts()
    assert not [b for b in buttons if re.search(r"Retry|Cancel|Edit|Archive", b)], buttons
    page.goto(f"{server.url}/")
    page.locator("table.runs").wait_for()
    assert page.locator("main").get_by_role("link", name="New run").count() == 0
    page.goto(f"{server.url}/new")
    page.locator("#submit-why").filter(has_text="A viewer can read runs but not submit them").wait_for()
    assert page.get_by_test_id("submit").is_disabled()
    ctx.close()
