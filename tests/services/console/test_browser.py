"""The console in a real browser (Playwright driving Debian's Chromium) against a real stack (``answer-ninja up`` on
free ports), as a person and as an operator would use it:

sign up and in; settings saved (with notification channels pointing at a local SMTP server and HTTP receiver); a
whitelist imported from a CSV file through its preview; a call placed with ``answer-ninja call --script loan-zh``
appears live with its transcript, "Take the call" transfers it (the loopback carrier receives the <Dial>), the
summary reaches the channels and the open console; "This is spam" changes the caller's profile; the operator's
board, a drill with its confirmation, the incident in progress and the status page during it. Every page is checked
with axe-core (no serious or critical violation) and for CSP violations, and photographed at 1280 and 390 px wide
(into $CONSOLE_SCREENSHOTS when set, e.g. docs/console).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.harness.console import grant_operator, verify_number
from tests.harness.servers import free_port
from tests.harness.stack import LocalStack

pytestmark = [pytest.mark.integration, pytest.mark.slow]
playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]  # fmt: skip
AXE = Path(os.environ.get("ANSWER_NINJA_CACHE", Path.home() / ".cache/answer-ninja")) / "console-test-assets/axe.min.js"
HOSTED, REAL = "+8610012349999", "+8613900000099"
PERSON, OPERATOR = "person@example.com", "operator@example.com"
PASSWORD = "a long password"
WIDTHS = (1280, 390)
# Seven services with Whisper on two shared cores: start-up takes minutes when the machine is busy.
STACK_START_SECONDS = 240


@pytest.fixture(scope="module")
def inbox() -> Iterator[dict[str, list[Any]]]:
    """A local SMTP server (aiosmtpd) and an HTTP receiver (webhook, ntfy): where notifications land."""
    from aiosmtpd.controller import Controller

    received: dict[str, list[Any]] = {"mail": [], "http": []}

    class Mail:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802  (aiosmtpd's name)
            received["mail"].append(envelope)
            return "250 OK"

    smtp = Controller(Mail(), hostname="127.0.0.1", port=free_port())
    smtp.start()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            received["http"].append({"path": self.path, "body": body.decode("utf-8", errors="replace")})
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *_: Any) -> None:
            return

    http = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    received["smtp_port"] = [smtp.port]
    received["http_port"] = [http.server_address[1]]
    yield received
    http.shutdown()
    smtp.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, inbox: dict[str, list[Any]]) -> Iterator[LocalStack]:
    env = {
        "NOTIFY_ALLOW_PRIVATE_TARGETS": "true",
        "NOTIFY_EMAIL_URL": f"mailto://example.com?smtp=127.0.0.1&port={inbox['smtp_port'][0]}&from=ninja@example.com",
        "CONSOLE_METRICS_INTERVAL_SECONDS": "2",
    }
    running = LocalStack(tmp_path_factory.mktemp("console-browser"), env=env).start(timeout=STACK_START_SECONDS)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("CONSOLE_SCREENSHOTS")
    directory = Path(chosen) if chosen else tmp_path_factory.mktemp("console-shots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert AXE.is_file(), f"{AXE} missing: scripts/install.d/60-console.sh installs axe-core"
    with playwright_sync.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Visitor:
    """One person's browser tab, with the checks every page gets."""

    def __init__(self, browser: Any, base: str, shots: Path) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        self.page = self.context.new_page()
        self.base = base
        self.shots = shots
        self.problems: list[str] = []
        self.stack: LocalStack | None = None
        self.page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.problems.append(message.text)

    def go(self, path: str) -> Any:
        response = self.page.goto(self.base + path)
        self.page.wait_for_load_state("domcontentloaded")
        return response

    def check(self, name: str) -> None:
        """axe-core finds no serious or critical violation; no CSP violation; photographed at both widths."""
        self.page.evaluate(AXE.read_text())
        result = self.page.evaluate(
            "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'best-practice']})).violations"
            ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
            ".map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))"
        )
        assert result == [], f"{name}: {result}"
        assert self.problems == [], f"{name}: {self.problems}"
        for width in WIDTHS:
            self.page.set_viewport_size({"width": width, "height": 900})
            self.page.screenshot(path=str(self.shots / f"{name}-{width}.png"), full_page=True)
        self.page.set_viewport_size({"width": 1280, "height": 900})

    def sign_in(self, email: str) -> None:
        self.go("/login")
        self.page.fill("#email", email)
        self.page.fill("#password", PASSWORD)
        self.page.click("form[action='/login'] button[type=submit]")
        self.page.wait_for_url("**/calls")

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def person(browser: Any, stack: LocalStack, shots: Path) -> Iterator[Visitor]:
    visitor = Visitor(browser, stack.url("console"), shots)
    visitor.stack = stack
    yield visitor
    visitor.close()


def _cli_env(stack: LocalStack) -> dict[str, str]:
    return {**stack.env, "PYTHONUNBUFFERED": "1"}


def test_sign_up_sign_out_and_sign_in(person: Visitor) -> None:
    person.go("/login")
    person.check("login")
    person.go("/signup")
    person.check("signup")
    page = person.page
    page.fill("#email", PERSON)
    page.fill("#password", PASSWORD)
    page.fill("#display_name", "小王")
    page.fill("#hosted_number", HOSTED)
    page.fill("#real_number", REAL)
    page.click("form[action='/signup'] button[type=submit]")
    page.wait_for_url("**/calls?welcome=1")
    assert page.locator("h1").inner_text() == "通话记录"
    # Numbers stay pending until proven: the operator vouches for both here (a person types the code they got).
    assert person.stack is not None
    verify_number(_cli_env(person.stack), PERSON, HOSTED)
    verify_number(_cli_env(person.stack), PERSON, REAL, forward=True)
    page.click("form[action='/logout'] button")
    page.wait_for_url("**/login?signed_out=1")
    assert person.go("/calls").url.endswith("/login?next=%2Fcalls")
    page.fill("#email", PERSON)
    page.fill("#password", "not the password")
    page.click("form[action='/login'] button[type=submit]")
    assert page.locator("#login-error").is_visible()
    person.sign_in(PERSON)


def test_settings_are_saved(person: Visitor, inbox: dict[str, list[Any]]) -> None:
    page = person.page
    person.go("/settings")
    page.check("#persona-direct")
    page.fill("#spam_threshold", "0.7")
    page.select_option("#fallback", "voicemail")  # when the AI cannot take a call (issue 10)
    page.click("#save-preferences")
    page.wait_for_url("**/settings?done=preferences")
    hook = f"http://127.0.0.1:{inbox['http_port'][0]}"
    page.check("#email_enabled")
    page.check("#webhook_enabled")
    page.fill("#webhook_target", f"{hook}/hook")
    page.check("#ntfy_enabled")
    page.fill("#ntfy_target", f"{hook}/ninja-calls")
    page.click("#save-notifications")
    page.wait_for_url("**/settings?done=notifications")
    person.go("/settings")  # what user-management now holds
    assert page.is_checked("#persona-direct")
    assert page.input_value("#spam_threshold") == "0.7"
    assert page.input_value("#fallback") == "voicemail"
    assert page.input_value("#webhook_target") == f"{hook}/hook"
    assert page.is_checked("#email_enabled")
    page.fill("#webhook_target", "not a url")
    page.click("#save-notifications")
    assert page.locator(".field-error").count() >= 1  # refused with the field named, nothing saved
    person.go("/settings")
    assert page.input_value("#webhook_target") == f"{hook}/hook"
    person.check("settings")


def test_whitelist_import_with_preview(person: Visitor) -> None:
    page = person.page
    person.go("/whitelist")
    person.check("whitelist")
    csv = "name,number\n妈妈,13800001111\n快递,+8613800002222\nnobody,12\n"
    page.set_input_files("#wl-file", files=[{"name": "contacts.csv", "mimeType": "text/csv", "buffer": csv.encode()}])
    page.click("form[action='/whitelist/import/preview'] button")
    page.wait_for_selector("#import-confirm")
    rows = page.locator("table tbody tr").all_inner_texts()
    assert any("+8613800001111" in row for row in rows)
    assert any("nobody" in row and "无效号码" in row for row in rows)  # shown, marked, never imported
    person.check("whitelist-import-preview")
    assert "+8613800001111" not in page.locator("section[aria-labelledby=list-title]").inner_text()  # not yet
    page.click("#import-confirm")
    page.wait_for_selector("p.ok")
    listed = page.locator("section[aria-labelledby=list-title]").inner_text()
    assert "+8613800001111" in listed
    assert "+8613800002222" in listed


@pytest.fixture(scope="module")
def taken_call(person: Visitor, stack: LocalStack, browser: Any, shots: Path) -> dict[str, Any]:
    """A scripted loan caller rings the person's number; the person watches it live and takes it."""
    watcher = Visitor(browser, stack.url("console"), shots)  # a second tab, open on the list all along
    watcher.sign_in(PERSON)
    page = person.page
    person.go("/calls")
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "answer_ninja", "call", "--script", "loan-zh", "--to", HOSTED],
        env=_cli_env(stack),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        page.wait_for_selector(".live-card a", timeout=180_000)  # the list updated by itself (SSE)
        appeared = time.monotonic() - started
        person.check("calls-live")
        page.click(".live-card a")
        # What the caller says, as it is recognised: the partial line while they speak, then the turn's line.
        page.wait_for_selector("#transcript li.caller, #hearing p", timeout=300_000)
        first_words = page.locator("#transcript li.caller .text, #hearing .text").first.inner_text()
        person.check("call-live")
        page.click("#take-call")
        page.wait_for_url("**?done=takeover")
        output, _ = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    call_id = page.url.split("/calls/")[1].split("?")[0]
    watcher.page.wait_for_selector("#notices .notice", timeout=30_000)
    notice = watcher.page.locator("#notices .notice").first.inner_text()
    watcher.close()
    return {"id": call_id, "output": output, "appeared": appeared, "first_words": first_words, "notice": notice}


def test_a_call_appears_live_and_take_over_transfers_it(
    person: Visitor, taken_call: dict[str, Any], stack: LocalStack
) -> None:
    assert taken_call["first_words"].strip()
    assert f"transferred to {REAL}" in taken_call["output"]  # the loopback carrier ran the <Dial>
    page = person.page
    person.go(f"/calls/{taken_call['id']}")
    assert "您接听了" in page.locator("#call-outcome").inner_text()
    assert "+8613*****0099" in page.inner_text("main")
    status, record = stack.get(f"{stack.url('realtime-processor')}/api/v1/voice/calls/{taken_call['id']}")
    assert status == 200
    assert record["outcome"] == "taken_over"
    assert "+8613800138001" in taken_call["notice"]  # the open console heard about it at once


def test_the_summary_reaches_the_chosen_channels(taken_call: dict[str, Any], inbox: dict[str, list[Any]]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (len(inbox["mail"]) < 1 or len(inbox["http"]) < 2):
        time.sleep(0.2)
    assert len(inbox["mail"]) == 1
    mail = message_from_bytes(inbox["mail"][0].content)
    assert inbox["mail"][0].rcpt_tos == [PERSON]
    assert "+8613800138001" in str(mail["Subject"]) + mail.as_string()
    webhook = json.loads(next(item["body"] for item in inbox["http"] if item["path"] == "/hook"))
    assert "+8613800138001" in webhook["title"]
    ntfy = json.loads(next(item["body"] for item in inbox["http"] if item["path"] != "/hook"))  # ntfy's JSON publish
    assert ntfy["topic"] == "ninja-calls"
    assert "+8613800138001" in ntfy["title"]


def test_marking_spam_changes_the_callers_profile(person: Visitor, taken_call: dict[str, Any]) -> None:
    page = person.page
    person.go(f"/calls/{taken_call['id']}")
    before = page.locator(".evidence").inner_text()
    page.click("#mark-spam")
    page.wait_for_url("**?done=spam")
    after = page.locator(".evidence").inner_text()
    assert "1 次骚扰" in after
    assert before != after
    assert "您的判断：骚扰" in page.inner_text("main")
    person.check("call-detail")


def test_calls_and_statistics_pages(person: Visitor, taken_call: dict[str, Any]) -> None:
    person.go("/calls")
    assert person.page.locator("table.calls tbody tr").count() >= 1
    person.check("calls")
    person.go("/stats")
    assert person.page.locator(".tile-value").first.inner_text() != ""
    person.check("stats")


@pytest.fixture(scope="module")
def operator(browser: Any, stack: LocalStack, shots: Path) -> Iterator[Visitor]:
    status, _ = stack.post(stack.url("user-management") + "/api/v1/auth/register",
                           {"email": OPERATOR, "password": PASSWORD, "language": "zh-CN"}, headers={})  # fmt: skip
    assert status == 202  # registration answers alike whether or not the email is known (issue 10)
    grant_operator(_cli_env(stack), OPERATOR)
    visitor = Visitor(browser, stack.url("console"), shots)
    visitor.sign_in(OPERATOR)
    yield visitor
    visitor.close()


def test_operator_board_drill_incident_and_status_page(operator: Visitor, stack: LocalStack) -> None:
    page = operator.page
    operator.go("/ops")
    assert page.locator("table.board tbody tr").count() >= 6
    page.wait_for_timeout(4500)  # a few samples for the sparklines
    operator.go("/ops")
    operator.check("ops-board")
    for path, name in (("/ops/budgets", "ops-budgets"), ("/ops/approvals", "ops-approvals")):
        operator.go(path)
        operator.check(name)
    operator.go("/ops/drills")
    operator.check("ops-drills")
    page.select_option("#fault", "hang")
    page.select_option("#service", "profile-analytics")
    page.click("#prepare-drill")
    page.wait_for_selector("#confirm")
    operator.check("ops-drill-confirm")
    page.fill("#confirm", "profile-analytics")
    page.click("#run-drill")
    page.wait_for_url("**/ops/drills?started=hang")
    # While the responder works on it: the incident is open, the board and the status page say so.
    deadline = time.monotonic() + 60
    incident_id = None
    while time.monotonic() < deadline and incident_id is None:
        operator.go("/ops/incidents")
        rows = page.locator("table tbody tr")
        for index in range(rows.count()):
            if "已解决" not in rows.nth(index).inner_text():
                incident_id = rows.nth(index).locator("a").inner_text()
                break
        if incident_id is None:
            time.sleep(0.3)
    assert incident_id is not None, "no open incident while the drill ran"
    operator.check("ops-incidents-open")
    deadline = time.monotonic() + 30  # the status page shares one answer for a few seconds
    while time.monotonic() < deadline:
        operator.go("/status")
        if "尊敬的客户" in page.inner_text("main"):
            break
        time.sleep(1)
    assert operator.page.locator(".overall").get_attribute("class") != "overall overall-operational"
    assert "尊敬的客户" in page.inner_text("main")  # the runbook's customer notice
    assert "监控服务暂时无法访问" not in page.inner_text("main")  # the responder's picture, not the fallback
    operator.check("status-incident")
    operator.go(f"/ops/incidents/{incident_id}")
    operator.check("ops-incident-open")
    # The responder brings it back (resolved) or hands it to a person (escalated, e.g. when a machine at load 30
    # makes every service slow): either way the page shows how it ended, with its postmortem.
    deadline = time.monotonic() + 150
    finished = ("已解决", "已升级")
    while time.monotonic() < deadline:
        operator.go(f"/ops/incidents/{incident_id}")
        if any(word in page.locator("main h1").inner_text() for word in finished):
            break
        time.sleep(1)
    assert any(word in page.locator("main h1").inner_text() for word in finished)
    assert page.locator(".markdown h3").count() >= 1  # the postmortem rendered, under the page's own headings
    operator.check("ops-incident")
    operator.go("/ops/audit")
    assert "drill" in page.inner_text("main")
    assert "user:" in page.inner_text("main")  # the drill is recorded under the operator's identity
    operator.check("ops-audit")


def test_status_page_when_all_is_well(browser: Any, stack: LocalStack, shots: Path) -> None:
    anonymous = Visitor(browser, stack.url("console"), shots)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            anonymous.go("/status")
            if "overall-operational" in (anonymous.page.locator(".overall").get_attribute("class") or ""):
                break
            time.sleep(1)
        anonymous.check("status")
        anonymous.go("/lang/en-US?next=/status")
        anonymous.check("status-en")
    finally:
        anonymous.close()


def test_a_forgotten_password_is_reset_by_email(
    browser: Any, stack: LocalStack, shots: Path, inbox: dict[str, list[Any]]
) -> None:
    email = "forgetful@example.com"
    status, _ = stack.post(stack.url("user-management") + "/api/v1/auth/register",
                           {"email": email, "password": PASSWORD, "language": "zh-CN"}, headers={})  # fmt: skip
    assert status == 202
    visitor = Visitor(browser, stack.url("console"), shots)
    try:
        page = visitor.page
        visitor.go("/login")
        page.click("#forgot-link")
        page.wait_for_url("**/forgot")
        visitor.check("forgot")
        page.fill("#email", email)
        page.click("#send-reset")
        page.wait_for_selector("#forgot-sent")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(m.rcpt_tos == [email] for m in inbox["mail"]):
            time.sleep(0.2)
        mail = message_from_bytes(next(m for m in inbox["mail"] if m.rcpt_tos == [email]).content)
        text = "".join(
            part.get_payload(decode=True).decode("utf-8", errors="replace")
            for part in mail.walk()
            if part.get_content_maintype() == "text"
        )
        link = re.search(r"http://\S+/reset\?token=\S+", text)
        assert link is not None, text
        visitor.go(link.group(0).removeprefix(stack.url("console")))
        visitor.check("reset")
        page.fill("#password", "a brand new password")
        page.click("#save-password")
        page.wait_for_url("**/login?reset=1")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        assert page.locator("#login-error").is_visible(), "the old password no longer works"
        page.fill("#email", email)
        page.fill("#password", "a brand new password")
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url("**/calls")
        # The link worked once: opened again, it is refused.
        visitor.go(link.group(0).removeprefix(stack.url("console")))
        page.fill("#password", "yet another password")
        page.click("#save-password")
        assert page.locator("#reset-error").is_visible()
    finally:
        visitor.close()
