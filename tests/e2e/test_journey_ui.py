"""What a newcomer's first session (README, examples/, the printed link) ran into in the browser."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.conftest import Server, shot
from tests.e2e.test_sweeps_ui import TINY

# The examples open with a `# description:` line of some 180 characters, as examples/default.yaml does.
LONG_LINE_CONFIG = (
    "# description: " + "a long line of the kind the examples open with " * 4 + "\nresources:\n  gpus: 1\n"
)


def test_a_run_with_a_long_config_line_fits_a_phone(browser: Any, server: Server) -> None:
    # Seen with examples/default.yaml: at 390 px the run page was 1380 px wide, the Config section's column
    # growing to its longest line. Queued on the gpu queue, which no worker here serves, then cancelled.
    run = server.api("POST", "/runs", {"name": "journey-long-line", "config_text": LONG_LINE_CONFIG})
    server.api("POST", f"/runs/{run['id']}/cancel")
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="light", is_mobile=True)
    page = ctx.new_page()
    page.goto(f"{server.url}/#token={server.token}")
    page.get_by_test_id("me").wait_for()
    page.goto(f"{server.url}/runs/{run['id']}")
    page.get_by_text("a long line of the kind").first.wait_for()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    if width > 390:
        shot(page, "journey-phone-run-long-line")
    ctx.close()
    assert width <= 390, f"the run page is {width} px wide on a 390 px screen"


def test_a_refused_sweep_grid_points_at_the_error_where_it_is(signed_in: Any, server: Server) -> None:
    # The submit row said "(see below)" while the server's answer stands above it.
    page = signed_in
    page.goto(f"{server.url}/sweeps")
    page.get_by_role("button", name="New sweep").click()
    page.get_by_label("grid key 1").fill("algorithm.estimatr")
    page.get_by_label("grid values 1").fill("grpo, rloo")
    why = page.locator("#sweep-why")
    why.filter(has_text="The server refused the grid").wait_for()
    error = page.locator(".error-box", has_text="did you mean 'algorithm.estimator'")
    error.wait_for()
    assert why.inner_text() == "The server refused the grid (see above)"
    assert error.bounding_box()["y"] < page.get_by_test_id("submit-sweep").bounding_box()["y"]


def test_a_band_chart_legend_keeps_each_arm_on_one_line_at_phone_width(browser: Any, server: Server) -> None:
    # uPlot's inline legend put the marker, a long arm label and its value on three lines in a narrow chart
    # (a label of two grid keys, as here, is wider than the chart at 390 px)
    sweep = server.api(
        "POST",
        "/sweeps",
        {
            "name": "journey-legend",
            "config_text": TINY,
            "grid": {"algorithm.estimator": ["grpo", "rloo"], "run.steps": [3]},
        },
    )
    for run in sweep["items"]:
        server.wait_status(run["id"], {"succeeded"})
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="light", is_mobile=True)
    page = ctx.new_page()
    page.goto(f"{server.url}/#token={server.token}")
    page.get_by_test_id("me").wait_for()
    asked: list[str] = []  # what the page asks about this sweep: a finished sweep is not polled every 3 s
    page.on("request", lambda r: asked.append(r.url) if f"/api/v1/sweeps/{sweep['id']}" in r.url else None)
    page.goto(f"{server.url}/sweeps/{sweep['id']}")
    rows = page.locator(
        'figure[data-chart="sweep-rollout/reward_mean"] .u-legend tr.u-series:not(.band-edge)'
    )
    rows.nth(2).wait_for()  # the step row and one per arm
    offsets = []
    for i in (1, 2):
        marker = rows.nth(i).locator(".u-marker").bounding_box()
        label = rows.nth(i).locator(".u-label").bounding_box()
        offsets.append(round(label["y"] - marker["y"]))
    if max(offsets) > 8:
        shot(page, "journey-phone-band-legend")
    page.wait_for_timeout(7000)  # two poll periods
    ctx.close()
    assert max(offsets) <= 8, f"arm labels start {offsets} px below their markers"
    details = [u for u in asked if "/summary" not in u]
    summaries = [u for u in asked if "/summary" in u]
    assert len(details) == 1 and 1 <= len(summaries) <= 2, asked


def test_a_tag_chip_does_not_break_at_its_hyphen(signed_in: Any, server: Server) -> None:
    # In the runs table at 1280 px the Tags column is narrow: "h7-ex" was drawn as "h7-" over "ex".
    run = server.api(
        "POST", "/runs", {"name": "journey-tag", "config_text": LONG_LINE_CONFIG, "tags": ["journey-tag"]}
    )
    server.api("POST", f"/runs/{run['id']}/cancel")
    page = signed_in
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{server.url}/?tag=journey-tag")
    chip = page.locator(f'tr[data-run-id="{run["id"]}"] button.tag')
    chip.wait_for()
    lines = page.evaluate(
        "(el) => Math.round(el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight))",
        chip.element_handle(),
    )
    assert lines == 1, f"the tag chip is drawn on {lines} lines"


def test_a_sweep_that_does_not_exist_shows_one_error_and_the_way_back(signed_in: Any, server: Server) -> None:
    # It showed the error, then the metric and band controls and a second error for the summary.
    page = signed_in
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/sweeps/nosuchsweep" in r.url else None)
    page.goto(f"{server.url}/sweeps/nosuchsweep")
    page.locator(".error-box", has_text="no sweep with id 'nosuchsweep'").wait_for()
    assert page.locator("main .error-box").count() == 1
    # the 404 is not asked again every 3 s (nor the summary of a sweep that is not there)
    page.wait_for_timeout(3500)
    assert len([u for u in asked if u.endswith("/api/v1/sweeps/nosuchsweep")]) == 1, asked
    assert len([u for u in asked if "/summary" in u]) <= 1, asked
    assert page.locator("main fieldset").count() == 0
    page.get_by_role("link", name="All sweeps").click()
    page.wait_for_url(f"{server.url}/sweeps")


def test_the_runs_table_reads_at_1280_px(signed_in: Any, server: Server) -> None:
    # The Name column wrapped to three lines while Created was wide ("11/30/2026, 12:49:18 PM" on three lines) and
    # Finished scrolled out of view. A trained run (sparkline and reward drawn) with a sweep-long name, as then.
    name = 'journey 1280 sweep · algorithm.estimator="rloo", run.steps=3'
    run = server.api("POST", "/runs", {"name": name, "config_text": TINY, "tags": ["h8-1280"]})
    server.wait_status(run["id"], {"succeeded"})
    page = signed_in
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{server.url}/?tag=h8-1280")
    row = page.locator(f'tr[data-run-id="{run["id"]}"]')
    row.locator("td.reward svg").wait_for()
    lines = page.evaluate(
        "(a) => Math.round(a.getBoundingClientRect().height / parseFloat(getComputedStyle(a).lineHeight))",
        row.locator("td.run-name a").element_handle(),
    )
    scroll = page.locator(".table-scroll").evaluate("(el) => el.scrollWidth - el.clientWidth")
    created = row.locator('td[data-col="created"] time')
    widths = page.evaluate(
        "() => [...document.querySelectorAll('table.runs thead th')].map(th => Math.round(th.offsetWidth))"
    )
    if lines > 2 or scroll > 0:
        shot(page, "journey-runs-1280")
    assert lines <= 2, f"the run name takes {lines} lines (column widths {widths})"
    assert scroll <= 0, f"the table is {scroll} px wider than the page (column widths {widths})"
    assert re.fullmatch(r"just now|\d+ min ago", created.inner_text()), created.inner_text()
    assert created.get_attribute("title")  # the exact time
    # at phone width the table still scrolls inside itself, not the page
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_function("() => document.documentElement.clientWidth <= 390")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    # the run's Summary: no "stopped false", the wall time as a duration
    page.goto(f"{server.url}/runs/{run['id']}")
    summary = page.locator("section[aria-labelledby=summary]")
    summary.locator('[data-key="wall_s"] dd').wait_for()
    assert summary.locator('[data-key="stopped"]').count() == 0
    assert summary.locator('[data-key="wall_s"] dt').inner_text() == "wall time"
    wall = summary.locator('[data-key="wall_s"] dd').inner_text()
    assert re.fullmatch(r"\d+(\.\d)? s|\d+m \d\ds", wall), wall
