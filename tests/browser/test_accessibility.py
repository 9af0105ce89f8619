"""Every staff page and the public chat page in Chromium with axe-core (tests/browser/axe.py):
no serious or critical violation of WCAG 2.2 A/AA or axe's best practices, on each page in the
states people meet it in (a form with errors, a case with a page waiting, a confirmation).
Then the on-call practitioner's phone (390x844): the case page from the page text's link, with
no sideways scroll and Acknowledge on the first screen; and a keyboard-only walk of the live
queue across two refreshes, focus and scroll kept, a new case announced.

Each page's full axe result is in tests/artifacts/axe/ (git-ignored).
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.browser import axe
from tests.browser.stack import ARTIFACTS, DESKTOP, PHONE, api, sign_in

pytestmark = pytest.mark.slow


def _sharps(server: dict[str, Any], *, conversation: str, phone: str | None, hiv: str = "positive",
            minutes_ago: int = 20) -> str:
    now = datetime.now(timezone.utc)
    contact = {"name": "Sam Carter", "phone": phone} if phone else {}
    created = api(server, "POST", "/api/cases", json={
        "line": "sharps", "channel": "sms", "conversation_id": conversation, "organisation_code": "Y00001",
        "contact": contact,
        "answers": {"exposure_type": "percutaneous", "fluid": "blood",
                    "device": {"kind": "hollow_bore_needle", "used": True, "visible_blood": True},
                    "source": {"identified": True, "hiv": hiv},
                    "occurred_at": (now - timedelta(minutes=minutes_ago)).isoformat()}}).json()
    return created["ref"]


@pytest.fixture(scope="module")
def cases(server) -> dict[str, str]:
    """A night's queue: an emergency with a call-back number and a page waiting, an urgent one."""
    return {
        "emergency": _sharps(server, conversation="a11y-1", phone="07700 900555"),
        "urgent": _sharps(server, conversation="a11y-2", phone=None, hiv="unknown", minutes_ago=90),
    }


@pytest.fixture
def open_page(chromium) -> Iterator[Callable[..., Any]]:
    """A new browser context per call (its own cookies), closed after the test."""
    contexts = []

    def make(*, viewport: dict[str, int] = DESKTOP) -> Any:
        context = chromium.new_context(viewport=viewport, bypass_csp=True, locale="en-GB")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        return page

    yield make
    for context in contexts:
        context.close()


def _check(page: Any, name: str, failures: list[str]) -> None:
    found = axe.audit(page, name)
    if found:
        failures.append(f"{name} ({page.url}):\n{axe.explain(found)}")


def _submit_without_browser_checks(page: Any, form: str) -> None:
    """Send a form as a browser without HTML validation would, to reach the server's error page."""
    page.evaluate("sel => document.querySelectorAll(sel).forEach(f => { f.noValidate = true; })", form)
    page.locator(f"{form} [type=submit]").first.click()
    page.wait_for_load_state()


def _visit(page: Any, server: dict[str, Any], path: str, name: str, failures: list[str]) -> None:
    response = page.goto(path if path.startswith("http") else server["base"] + path)
    assert response is not None and response.status < 400, f"{path}: {response.status if response else 'none'}"
    _check(page, name, failures)


def test_public_pages(server, open_page):
    failures: list[str] = []
    page = open_page()
    _visit(page, server, "/login", "login", failures)
    page.fill("input[name=email]", "nobody@example.nhs.uk")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    page.wait_for_selector(".error-summary")
    _check(page, "login-error", failures)
    _visit(page, server, "/chat", "chat", failures)
    phone = open_page(viewport=PHONE)
    _visit(phone, server, "/chat", "chat-phone", failures)
    assert not failures, "\n\n".join(failures)


def test_practitioner_pages(server, cases, open_page):
    failures: list[str] = []
    page = open_page()
    sign_in(page, server, "practitioner")
    page.wait_for_selector("#queue table")
    _check(page, "queue", failures)
    _visit(page, server, f"/cases/{cases['emergency']}", "case", failures)
    _submit_without_browser_checks(page, "#close-form")
    page.wait_for_selector(".error-summary")
    _check(page, "case-close-error", failures)
    _visit(page, server, "/rota", "rota-read", failures)
    _visit(page, server, "/reports", "reports", failures)
    assert not failures, "\n\n".join(failures)


def test_admin_pages(server, open_page):
    failures: list[str] = []
    page = open_page()
    sign_in(page, server, "admin")
    _visit(page, server, "/rota", "rota-edit", failures)
    _submit_without_browser_checks(page, "#shift-form form")
    page.wait_for_selector(".error-summary")
    _check(page, "rota-error", failures)
    page.goto(server["base"] + "/rota")
    page.locator("#shifts a:has-text('Remove')").first.click()
    page.wait_for_load_state()
    _check(page, "rota-remove", failures)
    _visit(page, server, "/accounts", "accounts", failures)
    _visit(page, server, "/accounts/new", "account-invite", failures)
    _submit_without_browser_checks(page, "main form")
    page.wait_for_selector(".error-summary")
    _check(page, "account-invite-error", failures)
    page.goto(server["base"] + "/accounts")
    page.locator("main table a[href^='/accounts/']").first.click()
    page.wait_for_load_state()
    _check(page, "account", failures)

    # Invite a practitioner; the set-password link from the outbox, opened by them.
    page.goto(server["base"] + "/accounts/new")
    page.fill("#name", "Priya Shah")
    page.fill("#email", "priya.shah@example.nhs.uk")
    page.select_option("#role", "practitioner")
    page.fill("#mobile", "07700 900321")
    page.locator("main form [type=submit]").first.click()
    page.wait_for_load_state()
    _check(page, "account-invited", failures)
    account = page.url.rsplit("/", 2)[-2]
    _visit(page, server, f"/accounts/{account}/deactivate", "account-deactivate", failures)
    invitee = open_page()
    _visit(invitee, server, _email_link(server["db_url"], "priya.shah@example.nhs.uk"), "set-password", failures)
    invitee.fill("input[name=password]", "short")
    _submit_without_browser_checks(invitee, "main form")
    invitee.wait_for_selector(".error-summary")
    _check(invitee, "set-password-error", failures)

    # The pages a refusal draws.
    page.goto(server["base"] + "/cases/SH-000001")
    _check(page, "error-403", failures)
    page.goto(server["base"] + "/accounts/999999")
    _check(page, "error-404", failures)
    assert not failures, "\n\n".join(failures)


def _email_link(db_url: str, email: str) -> str:
    body = _outbox(db_url, "channel = 'email' and \"to\" = ?", (email,))[-1]
    return next(word for word in body.split() if "/account/set-password/" in word).rstrip(".")


def test_manager_pages(server, open_page):
    failures: list[str] = []
    page = open_page()
    sign_in(page, server, "manager")
    _visit(page, server, "/referrals/new", "referral-new", failures)
    page.fill("#employee_name", "Rita Patel")
    page.fill("#phone", "12345")
    _submit_without_browser_checks(page, "main form")
    page.wait_for_selector(".error-summary")
    _check(page, "referral-new-error", failures)
    assert page.input_value("#employee_name") == "Rita Patel", "the typed name was lost"
    page.fill("#phone", "07700 900982")
    page.select_option("#reason", "musculoskeletal")
    page.check("input[name=consent]")
    page.check("input[name=consent_reason_explained]")
    page.locator("main form [type=submit]").first.click()
    page.wait_for_selector(".panel")
    _check(page, "referral-sent", failures)
    ref = page.inner_text(".panel-ref").strip()
    _visit(page, server, "/referrals", "referrals", failures)
    assert "Rita Patel" in page.inner_text("main"), "the manager's list does not name the employee"
    _visit(page, server, f"/referrals/{ref}", "referral", failures)
    assert not failures, "\n\n".join(failures)


def _outbox(db_url: str, where: str, params: tuple = ()) -> list[str]:
    """The bodies of the outbox rows `where` selects, oldest first."""
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as db:
        return [row[0] for row in db.execute(f"select body from outbox_message where {where} order by id", params)]


def _page_link(db_url: str, ref: str) -> str:
    bodies = _outbox(db_url, "channel = 'sms' and page_id is not null")
    links = [word for body in bodies if ref in body for word in body.split() if f"/cases/{ref}" in word]
    assert links, f"no page text for {ref} carries a link to the case: {bodies}"
    return links[-1]


def test_on_call_phone_opens_the_case_from_the_page_text_and_can_act(server, open_page):
    ref = _sharps(server, conversation="a11y-phone", phone="07700 900556")
    link = _page_link(server["db_url"], ref)
    page = open_page(viewport=PHONE)
    page.goto(link)
    assert "/login" in page.url, "signed out, the link must ask to sign in"
    email, password = server["accounts"]["practitioner"]
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"**/cases/{ref}")

    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the case page scrolls sideways on a phone: {width}"
    ack = page.locator("button[data-action=acknowledge]").first
    box = ack.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], \
        f"Acknowledge is not on the first screen: {box}"
    call = page.locator("a[href^='tel:']").first
    assert call.is_visible() and call.bounding_box()["y"] + call.bounding_box()["height"] <= PHONE["height"]
    assert "900556" in (call.get_attribute("href") or "").replace(" ", "")
    failures: list[str] = []
    _check(page, "case-phone", failures)
    page.screenshot(path=str(ARTIFACTS / "case-phone.png"))

    # Signed in once: the next page's link opens straight on its case.
    ack.click()
    page.wait_for_load_state()
    second = _sharps(server, conversation="a11y-phone-2", phone="07700 900557")
    page.goto(_page_link(server["db_url"], second))
    assert page.url.endswith(f"/cases/{second}"), page.url
    assert not failures, "\n\n".join(failures)


def _focus_key(page: Any) -> dict[str, Any]:
    return page.evaluate("""() => {
        const el = document.activeElement;
        const row = el && el.closest('[data-ref]');
        return {tag: el ? el.tagName : null, text: el ? el.textContent.trim() : null,
                href: el ? el.getAttribute('href') : null, ref: row ? row.getAttribute('data-ref') : null,
                inQueue: !!(el && el.closest('#queue')), connected: !!(el && el.isConnected)};
    }""")


def test_queue_by_keyboard_keeps_focus_across_two_refreshes(server, cases, open_page):
    page = open_page(viewport={"width": 1280, "height": 600})
    sign_in(page, server, "practitioner")
    page.wait_for_selector("#queue table")
    target = cases["urgent"]
    for _ in range(60):  # Tab, as a keyboard user does, to the urgent case's "Open" link
        page.keyboard.press("Tab")
        key = _focus_key(page)
        if key["ref"] == target and key["tag"] == "A" and key["text"] == "Open":
            break
    else:
        pytest.fail("the urgent case's Open link was not reachable by Tab")
    page.evaluate("document.activeElement.scrollIntoView({block: 'center'})")
    scroll = page.evaluate("window.scrollY")
    refreshes: list[str] = []
    page.on("response", lambda r: refreshes.append(r.url) if "/dashboard/queue" in r.url else None)

    deadline = datetime.now(timezone.utc) + timedelta(seconds=30)
    while len(refreshes) < 1 and datetime.now(timezone.utc) < deadline:
        page.wait_for_timeout(250)
    arrived = _sharps(server, conversation="a11y-new", phone="07700 900558")
    while len(refreshes) < 3 and datetime.now(timezone.utc) < deadline:
        page.wait_for_timeout(250)
    assert len(refreshes) >= 3, f"the queue refreshed {len(refreshes)} times in 30 s"
    page.wait_for_selector(f'tr.q-row[data-ref="{arrived}"]')

    key = _focus_key(page)
    assert key["connected"] and key["inQueue"], f"focus left the queue: {key}"
    assert (key["ref"], key["text"]) == (target, "Open"), f"focus moved: {key}"
    # The new emergency row went in above the focused one: the page may scroll by no more than
    # that row, and only to keep the focused control in view.
    moved = abs(page.evaluate("window.scrollY") - scroll)
    new_row_height = page.locator(f'tr.q-row[data-ref="{arrived}"]').bounding_box()["height"]
    assert moved <= 2 or moved <= new_row_height, f"the refresh moved the page by {moved} px"
    assert page.evaluate("""() => { const r = document.activeElement.getBoundingClientRect();
        return r.top >= 0 && r.bottom <= window.innerHeight; }"""), "the focused control is out of view"
    # A refresh that changes nothing moves nothing.
    settled, polls = page.evaluate("window.scrollY"), len(refreshes)
    while len(refreshes) < polls + 1 and datetime.now(timezone.utc) < deadline + timedelta(seconds=10):
        page.wait_for_timeout(250)
    assert page.evaluate("window.scrollY") == settled, "an unchanged refresh scrolled the page"
    assert _focus_key(page)["ref"] == target
    announced = page.evaluate("""() => [...document.querySelectorAll('[aria-live=polite]')]
        .filter(el => !el.closest('#queue')).map(el => el.textContent).join(' ')""")
    assert arrived in announced, f"the new case was not announced: {announced!r}"
    new_row = page.locator(f'tr.q-row[data-ref="{arrived}"]')
    assert "New" in new_row.inner_text(), "the new case is not marked New in words"

    page.keyboard.press("Enter")
    page.wait_for_url(f"**/cases/{target}")
