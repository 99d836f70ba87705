"""The Webhooks page in real Chromium against a real `grpolab up`: a webhook added in the form, its test message
received by a real local HTTP server and shown as delivered, deleted after the confirmation; a viewer reads the
page with the form disabled and the reason given. Both at phone width without sideways scrolling."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Server, shot

pytestmark = pytest.mark.e2e

SECRET_PATH = "/services/T000/B000/uiS3cretQ9"


class Receiver:
    """A real HTTP server on 127.0.0.1 that answers 200 to every POST and keeps its path and JSON body."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, Any]] = []
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                posts.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}{SECRET_PATH}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def page_width(page: Any) -> int:
    return int(page.evaluate("() => document.documentElement.scrollWidth"))


def test_add_send_test_and_delete_a_webhook(signed_in: Any, server: Server, receiver: Receiver) -> None:
    page = signed_in
    page.get_by_role("link", name="Webhooks").click()
    page.wait_for_url("**/webhooks")
    page.get_by_test_id("no-webhooks").wait_for()

    url_input = page.get_by_label("URL", exact=True)
    url_input.fill("ftp://example.org/hook")
    page.get_by_test_id("add-webhook").click()
    refusal = page.locator(".add-webhook .error-box")
    refusal.wait_for()
    assert "url: use an http:// or https:// URL" in refusal.inner_text()  # the server's message, its field

    url_input.fill(receiver.url)
    page.get_by_role("checkbox", name=re.compile(r"run\.cancelled")).uncheck()
    page.get_by_test_id("add-webhook").click()
    page.get_by_test_id("webhook-added").wait_for()
    assert refusal.count() == 0 and url_input.input_value() == ""
    row = page.locator("tr[data-webhook-id]")
    row.wait_for()
    masked = f"http://127.0.0.1:{receiver.server.server_port}/…{SECRET_PATH[-4:]}"  # host and last 4 only
    assert (
        row.locator("code").inner_text() == masked
        and masked in page.get_by_test_id("webhook-added").inner_text()
    )
    assert row.locator(".webhook-scope").inner_text() == "mine"
    assert row.locator(".webhook-events").inner_text() == "run.succeeded, run.failed, sweep.finished"
    assert row.locator(".webhook-last-sent").inner_text() == "never"
    assert SECRET_PATH not in page.content()
    (hook,) = server.api("GET", "/webhooks")["items"]
    assert hook["events"] == ["run.succeeded", "run.failed", "sweep.finished"] and hook["project"] is None

    page.set_viewport_size({"width": 390, "height": 844})
    assert page_width(page) <= 390, shot(page, "webhooks-phone-wide")
    page.set_viewport_size({"width": 1400, "height": 1000})

    row.get_by_role("button", name="Send test").click()
    result = row.get_by_test_id("test-result")
    result.wait_for()
    assert result.get_attribute("data-delivered") == "true" and result.inner_text() == "delivered"
    ((path, body),) = receiver.posts
    assert path == SECRET_PATH and body["event"] == "test"
    assert body["text"].startswith(f"GRPO Lab: test message for webhook {hook['id']}")
    assert body["blocks"][0]["text"]["text"] == body["text"]
    page.wait_for_function(  # the list was re-read: its last delivery is recorded
        "() => document.querySelector('tr[data-webhook-id] .webhook-last-sent').textContent !== 'never'"
    )
    assert row.locator(".webhook-last-error").inner_text() == "—"
    shot(page, "webhooks-list")

    row.get_by_role("button", name="Delete…").click()
    confirm = row.get_by_role("group", name="confirm delete")
    assert confirm.get_by_role("button", name="Keep it").evaluate("b => b === document.activeElement")
    confirm.get_by_role("button", name="Yes, delete it").click()
    page.get_by_test_id("no-webhooks").wait_for()
    assert server.api("GET", "/webhooks")["items"] == []


def test_a_viewer_reads_the_page_with_the_form_disabled(browser: Any, server: Server) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "BROKER_URL"}}
    grpolab = Path(sys.executable).with_name("grpolab")
    add = [str(grpolab), "user", "add", "hook-viewer", "--role", "viewer", "--data-dir", str(server.data_dir)]
    token = subprocess.run(
        add, capture_output=True, text=True, env=env, check=True, timeout=120
    ).stdout.strip()
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="light", is_mobile=True)
    page = ctx.new_page()
    try:
        page.goto(f"{server.url}/#token={token}")
        page.get_by_test_id("me").wait_for()
        page.goto(f"{server.url}/webhooks")
        page.get_by_test_id("no-webhooks").wait_for()
        reason = "A viewer reads webhooks; a member or an admin adds them."
        assert page.locator("#webhook-why").inner_text() == reason
        assert page.get_by_test_id("add-webhook").is_disabled()
        assert page.get_by_label("URL", exact=True).is_disabled()
        assert page.get_by_role("checkbox", name=re.compile(r"run\.failed")).is_disabled()
        assert page.get_by_role("heading", name="Your webhooks").count() == 1
        assert page_width(page) <= 390, shot(page, "webhooks-viewer-phone-wide")
    finally:
        ctx.close()
