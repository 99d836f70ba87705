"""The web UI in real Chromium against a real `grpolab up`: sign in, inline lint, submit, live curves, compare."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import Server, shot

pytestmark = pytest.mark.e2e

# The seed's buggy setting, made tiny so a run finishes in seconds on a 2-core CPU.
BUGGY = """# the seed's buggy setting, tiny
algorithm:
  estimator: grpo
  group_size: 8
  norm_return: true
rollout:
  batch_size: 32
run:
  steps: 12
  eval_episodes: 32
  checkpoint_every: 0
"""
NORM_LINE = 5


def paste_config(page: Any, text: str) -> None:
    """Replace the editor's text the way a paste does (one input event, no auto-indent)."""
    page.mouse.move(0, 0)  # a hover tooltip from an earlier step must not cover the editor
    page.get_by_test_id("config-editor").focus()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def editor_text(page: Any) -> str:
    return page.evaluate(
        "() => [...document.querySelectorAll('.cm-line')].map(l => l.textContent).join('\\n')"
    )


def test_signed_out_shows_only_sign_in(page: Any, server: Server) -> None:
    page.goto(f"{server.url}/runs/some-deep-link")
    page.get_by_role("heading", name="Sign in to GRPO Lab").wait_for()
    assert page.locator("nav").count() == 0
    page.get_by_label("API token").fill("glab_not-a-real-token")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").wait_for()
    assert "not accepted" in page.get_by_role("alert").inner_text()
    shot(page, "01-sign-in")
    page.get_by_label("API token").fill(server.token)
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_test_id("me").inner_text() == "first-run"
    # the deep link still resolves after signing in; an unknown run is a readable message, not a blank page
    page.get_by_role("alert").wait_for()
    assert "no run with id 'some-deep-link'" in page.get_by_role("alert").inner_text()


def test_fragment_token_is_stored_and_removed_from_url(page: Any, server: Server) -> None:
    page.goto(f"{server.url}/#token={server.token}")
    page.get_by_test_id("me").wait_for()
    assert "#token" not in page.url
    assert page.evaluate("() => localStorage.getItem('grpolab.token')") == server.token
    page.reload()
    page.get_by_test_id("me").wait_for()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in to GRPO Lab").wait_for()
    assert page.evaluate("() => localStorage.getItem('grpolab.token')") is None

    # a stored token the server refuses (revoked) leads back to sign-in, with the reason
    page.evaluate("() => localStorage.setItem('grpolab.token', 'glab_revoked')")
    page.reload()
    page.get_by_role("heading", name="Sign in to GRPO Lab").wait_for()
    assert "no longer accepts your token" in page.locator(".notice").inner_text()


def test_buggy_config_is_flagged_inline_then_fixed_run_succeeds(signed_in: Any, server: Server) -> None:
    page = signed_in
    page.get_by_role("link", name="New run").first.click()
    page.get_by_role("heading", name="New run").wait_for()
    paste_config(page, BUGGY)

    # GL001 underlined on the norm_return line, explained in the panel, and Submit disabled
    squiggle = page.locator(".cm-lintRange-error").first
    squiggle.wait_for()
    assert squiggle.inner_text() == "norm_return: true"
    line_text = squiggle.evaluate("el => el.closest('.cm-line').textContent")
    assert line_text.strip() == "norm_return: true"
    finding = page.locator('li.finding[data-rule="GL001"]')
    finding.wait_for()
    assert finding.get_attribute("data-line") == str(NORM_LINE)
    assert "double normalization" in finding.inner_text()
    assert finding.get_by_role("link", name=re.compile("GL001")).get_attribute("href") == "/rules/GL001"
    submit = page.get_by_test_id("submit")
    assert submit.is_disabled()
    shot(page, "02-new-run-gl001")

    # hovering the squiggle shows message, why and fix
    squiggle.hover()
    tooltip = page.locator(".cm-tooltip-lint .cm-finding")
    tooltip.wait_for()
    assert "Why:" in tooltip.inner_text() and "Fix:" in tooltip.inner_text()

    # fix it: norm_return false → no error, Submit enabled
    paste_config(page, BUGGY.replace("norm_return: true", "norm_return: false"))
    page.locator(".lint-status[data-lint-errors='0']").wait_for()
    assert page.locator(".cm-lintRange-error").count() == 0
    page.get_by_label("Name").fill("e2e-fixed")
    assert submit.is_enabled()
    submit.click()

    # the run page: follow it live until it succeeds, then check the reward chart's data against the API
    page.wait_for_url(re.compile(r"/runs/[^/]+$"))
    run_id = page.url.rsplit("/", 1)[1]
    page.locator("main[data-status='succeeded']").wait_for(timeout=180_000)
    page.locator("[data-live='ended']").wait_for()
    # where it ran, as the worker recorded it (executor, nodes, ranks)
    assert page.get_by_test_id("placement").inner_text() == "local"
    assert server.api("GET", f"/runs/{run_id}")["executor"] == "local"
    sse = page.evaluate("() => window.__sse")
    assert sse["metric"] >= 1 and sse["status"] >= 3, sse  # curves and statuses came over the stream
    metrics = server.api("GET", f"/runs/{run_id}/metrics")["items"]
    want_x = [m["step"] for m in metrics if m["metrics"].get("rollout/reward_mean") is not None]
    want_y = [m["metrics"]["rollout/reward_mean"] for m in metrics if m["step"] in want_x]
    assert len(want_x) == 12
    chart = page.evaluate("() => window.__charts['rollout/reward_mean']")
    assert chart["series"][0]["x"] == want_x
    assert chart["series"][0]["y"] == pytest.approx(want_y)
    assert int(page.locator('figure[data-chart="rollout/reward_mean"]').get_attribute("data-points")) == 12
    assert page.locator('figure[data-chart="rollout/reward_mean"] canvas').count() >= 1
    history = page.locator("ol.history").inner_text()
    assert "queued" in history and "running" in history and "succeeded" in history
    assert int(page.locator("pre.log").get_attribute("data-lines")) > 0
    shot(page, "03-run-detail")


def test_allow_with_a_reason_records_it_in_the_config(signed_in: Any, server: Server) -> None:
    page = signed_in
    page.goto(f"{server.url}/new")
    paste_config(page, BUGGY)
    finding = page.locator('li.finding[data-rule="GL001"]')
    finding.wait_for()
    finding.get_by_role("button", name="Allow with a reason…").click()
    finding.get_by_role("textbox").fill("ablation of the seed's double normalization")
    finding.get_by_role("button", name="Allow", exact=True).click()
    page.locator(".lint-status[data-lint-errors='0']").wait_for()
    text = editor_text(page)
    assert '  allow:\n    - rule: GL001\n      reason: "ablation of the seed\'s double normalization"' in text
    assert page.get_by_test_id("submit").is_enabled()
    assert (
        "Allowed: ablation of the seed's double normalization"
        in page.locator('li.finding[data-rule="GL001"]').inner_text()
    )


def test_compare_two_runs_overlays_curves_and_diffs_configs(signed_in: Any, server: Server) -> None:
    """The story's last step: the fixed pipeline next to the seed's double normalization (allowed on purpose)."""
    page = signed_in
    fixed = BUGGY.replace("norm_return: true", "norm_return: false")
    double = BUGGY + "lint:\n  allow:\n    - rule: GL001\n      reason: ablation\n"
    page.get_by_role("link", name="Runs").first.click()
    a = server.api("POST", "/runs", {"name": "cmp-fixed", "config_text": fixed, "tags": ["e2e"]})
    b = server.api("POST", "/runs", {"name": "cmp-double", "config_text": double, "tags": ["e2e"]})

    # the Runs table follows them live (no reload) until both succeed
    for r in (a, b):
        page.locator(f'tr[data-run-id="{r["id"]}"][data-status="succeeded"]').wait_for(timeout=240_000)
    for name in ("cmp-fixed", "cmp-double"):
        page.get_by_label(f"select {name} for compare").check()
    shot(page, "04-runs")
    page.get_by_role("button", name=re.compile("Compare selected")).click()
    page.wait_for_url(re.compile(r"/compare\?ids="))
    page.locator('figure[data-chart="compare:rollout/reward_mean"] canvas').first.wait_for()

    chart = page.evaluate("() => window.__charts['compare:rollout/reward_mean']")
    assert [s["label"] for s in chart["series"]] == ["cmp-fixed", "cmp-double"]
    for s, run in zip(chart["series"], (a, b), strict=True):
        metrics = server.api("GET", f"/runs/{run['id']}/metrics")["items"]
        assert len(metrics) == 12
        assert s["x"] == [m["step"] for m in metrics]
        assert s["y"] == pytest.approx([m["metrics"]["rollout/reward_mean"] for m in metrics])

    # filters on the Runs page: status + search narrow the table to these two
    page.get_by_role("link", name="Runs").first.click()
    page.get_by_label("Status").select_option("succeeded")
    page.get_by_label("Search").fill("cmp-")
    page.locator("table.runs tbody tr").nth(1).wait_for()
    page.wait_for_function("() => document.querySelectorAll('table.runs tbody tr').length === 2")
    names = page.locator("table.runs tbody tr td:nth-child(2) a").all_inner_texts()
    assert sorted(names) == ["cmp-double", "cmp-fixed"]
    page.go_back()
    page.locator("table.diff").wait_for()

    diff = {
        row.get_attribute("data-key"): row.locator("td").all_inner_texts()
        for row in page.locator("table.diff tbody tr").all()
    }
    assert diff == {
        "algorithm.norm_return": ["false", "true"],
        "lint.allow[0].rule": ["—", "GL001"],
        "lint.allow[0].reason": ["—", "ablation"],
    }
    shot(page, "05-compare")


def test_rule_page_and_dark_mode(browser: Any, server: Server) -> None:
    ctx = browser.new_context(viewport={"width": 1200, "height": 900}, color_scheme="dark")
    page = ctx.new_page()
    page.goto(f"{server.url}/rules/GL001#token={server.token}")
    page.get_by_role("heading", name=re.compile("GL001 double-normalization")).wait_for()
    assert "Why it matters" in page.locator("main").inner_text()
    bg = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert bg == "rgb(20, 22, 27)"
    shot(page, "06-rule-dark")
    page.goto(f"{server.url}/new")
    page.get_by_role("button", name=re.compile("Tiny CPU demo")).click()
    page.locator(".lint-status").filter(has_text="No problems").wait_for()
    shot(page, "07-new-run-dark")
    runs = server.api("GET", "/runs?status=succeeded&limit=1")["items"]
    if runs:  # when the other tests ran first: a finished run's page in dark
        page.goto(f"{server.url}/runs/{runs[0]['id']}")
        page.locator("main[data-status='succeeded'] [data-live='ended']").wait_for()
        shot(page, "09-run-detail-dark")
    ctx.close()


def test_editor_completes_keys_and_shows_docs_from_the_schema(signed_in: Any, server: Server) -> None:
    page = signed_in
    page.goto(f"{server.url}/new")
    page.locator(".lint-status").wait_for()
    paste_config(page, "algorithm:\n  estimator: grpo\n  norm")
    page.keyboard.press("Control+Space")
    options = page.locator(".cm-tooltip-autocomplete li")
    options.first.wait_for()
    assert "norm_return" in options.all_inner_texts()
    info = page.locator(".cm-completionInfo")
    info.wait_for()
    assert "algorithm.norm_return: boolean" in info.inner_text()
    assert "Learner-side whitening" in info.inner_text()
    page.locator(".cm-tooltip-autocomplete li[aria-selected]").wait_for()
    page.wait_for_timeout(150)  # CodeMirror ignores Enter in the first 75 ms after the list opens
    page.keyboard.press("Enter")
    page.keyboard.type("true")
    assert editor_text(page).endswith("  norm_return: true")

    # value completion offers the estimator's allowed values
    paste_config(page, "algorithm:\n  estimator: r")
    page.keyboard.press("Control+Space")
    page.locator(".cm-tooltip-autocomplete li").first.wait_for()
    values = page.locator(".cm-tooltip-autocomplete li").all_inner_texts()
    assert "rloo" in values and "reinforce_pp_baseline" in values

    # hover a key: its type, default and description
    page.keyboard.press("Escape")
    page.locator(".cm-line", has_text="estimator").get_by_text("estimator").hover()
    doc = page.locator(".cm-schema-doc")
    doc.wait_for()
    assert "algorithm.estimator" in doc.inner_text() and "Episode-level advantage" in doc.inner_text()
    shot(page, "08-editor-hover")


def test_cancel_retry_and_clone_from_the_run_page(signed_in: Any, server: Server) -> None:
    page = signed_in
    long = "run:\n  steps: 5000\n  eval_episodes: 0\n  checkpoint_every: 0\nrollout:\n  batch_size: 16\n"
    run = server.api("POST", "/runs", {"name": "e2e-long", "config_text": long, "tags": ["e2e", "long"]})
    page.goto(f"{server.url}/runs/{run['id']}")
    page.get_by_role("button", name="Cancel run…").click()
    page.get_by_role("button", name="Yes, cancel it").click()  # Cancel asks first (B4)
    page.locator("main[data-status='cancelled']").wait_for(timeout=120_000)
    page.get_by_role("button", name="Retry").click()
    page.locator("main[data-status='queued'], main[data-status='running']").wait_for()
    page.get_by_role("button", name="Cancel run…").click()
    page.get_by_role("button", name="Yes, cancel it").click()  # Cancel asks first (B4)
    page.locator("main[data-status='cancelled']").wait_for(timeout=120_000)
    assert server.wait_status(run["id"], {"cancelled"})["attempts"] >= 1
    history = page.locator("ol.history li").all_inner_texts()
    assert sum("cancelled" in h for h in history) == 2

    page.get_by_role("button", name="Clone").click()
    page.wait_for_url(re.compile(r"/new\?from="))
    page.locator(".lint-status").filter(has_text="No problems").wait_for()
    assert "steps: 5000" in editor_text(page)
    assert page.get_by_label("Name").input_value() == "e2e-long (copy)"
    assert page.get_by_label("Tags").input_value() == "e2e, long"


def test_keyboard_only_sign_in_and_navigation(page: Any, server: Server) -> None:
    page.goto(server.url)
    # the token field has focus on arrival; Enter submits
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'token'")
    page.keyboard.type(server.token)
    page.keyboard.press("Enter")
    page.get_by_test_id("me").wait_for()
    # first Tab stop is the skip link, then the main navigation in order
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to content"
    stops = []
    for _ in range(8):
        page.keyboard.press("Tab")
        stops.append(page.evaluate("() => document.activeElement.textContent"))
    assert stops == ["GRPO Lab", "Runs", "New run", "Compare", "Sweeps", "Queue", "Webhooks", "Lint rules"]
    for _ in range(4):
        page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")  # on "Compare"
    page.get_by_role("heading", name="Compare runs").wait_for()
