"""/accounts (administrators): the list, inviting each role, one-time set-password links,
deactivating (signed out, off the rota, not paged, audited), reactivating, resets, unlocking."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from api.models import OutboxMessage, Page, UserAccount, UserEvent
from api.services import cases, rota
from tests.api.factories import HIV_NEEDLESTICK
from tests.api.web.conftest import CSRF_RE, sign_in, token_of

NEW_PASSWORD = "a brand new long password"
LINK = re.compile(r"http://127\.0\.0\.1:8000(/account/set-password/[A-Za-z0-9_-]+)")


def _invite(admin, **fields):
    form = {"name": "Alex Morgan", "email": "alex.morgan@example.nhs.uk", "role": "practitioner",
            "organisation": "", "mobile": "07700 900 301"} | fields
    return admin.post("/accounts/new", data=form | {"csrf_token": token_of(admin, "/accounts/new")},
                      follow_redirects=False)


def _link_to(session, email: str) -> str:
    """The path of the newest set-password link in the outbox for this address."""
    session.expire_all()
    mail = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email", OutboxMessage.to == email)
                           .order_by(OutboxMessage.id.desc())).first()
    assert mail is not None, "no email in the outbox"
    match = LINK.search(mail.body)
    assert match, mail.body
    return match.group(1)


def _set_password(web, path: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    form = web.get(path)
    assert form.status_code == 200, form.text
    token = CSRF_RE.search(form.text).group(1)
    return web.post(path, data={"password": password, "confirm": password if confirm is None else confirm,
                                "csrf_token": token}, follow_redirects=False)


def _events(session, user_id: int, type: str) -> list[UserEvent]:
    session.expire_all()
    return list(session.scalars(select(UserEvent).where(UserEvent.user_id == user_id, UserEvent.type == type)))


def _account(session, email: str) -> UserAccount:
    session.expire_all()
    return session.scalars(select(UserAccount).where(UserAccount.email == email)).one()


def test_admin_lists_accounts(browser_for, world, session, clock):
    lead = session.get(UserAccount, world["users"]["lead"].id)
    lead.locked_until = clock.now + timedelta(minutes=15)
    session.commit()
    html = browser_for("admin").get("/accounts").text
    assert "<h1>Accounts</h1>" in html and 'href="/accounts/new">Invite a user</a>' in html
    for user in world["users"].values():
        assert f'href="/accounts/{user.id}"' in html and user.email in html
    assert "OH practitioner" in html and "Clinical lead" in html and "Administrator" in html and "Manager" in html
    assert "Riverside Medical Practice" in html and "High Street Pharmacy" in html
    assert "Locked until Monday 23 November, 14:15" in html  # words, not a colour
    assert "Active" in html
    assert "Monday 23 November, 14:00" in html  # the admin's own sign-in, just now
    assert "Never" in html
    assert '<th scope="col">Status</th>' in html


@pytest.mark.parametrize("role", ["practitioner", "lead", "manager"])
def test_only_admins_manage_accounts(browser_for, world, role):
    browser = browser_for(role)
    target = world["users"]["admin"].id
    for path in ("/accounts", "/accounts/new", f"/accounts/{target}", f"/accounts/{target}/deactivate"):
        r = browser.get(path)
        assert r.status_code == 403 and "Only administrators manage accounts." in r.text, path
    own_page = "/referrals" if role == "manager" else "/rota"
    r = browser.post(f"/accounts/{target}/deactivate", data={"csrf_token": token_of(browser, own_page)})
    assert r.status_code == 403


@pytest.mark.parametrize("role, extra, label", [
    ("practitioner", {"mobile": "07700900301"}, "OH practitioner"),
    ("clinical_lead", {"mobile": "07700900302"}, "Clinical lead"),
    ("manager", {"organisation": "ORG", "mobile": ""}, "Manager"),
    ("admin", {"mobile": ""}, "Administrator"),
])
def test_invite_each_role(browser_for, web, world, session, role, extra, label):
    admin = browser_for("admin")
    if extra.get("organisation") == "ORG":
        extra = extra | {"organisation": str(world["orgs"]["b"].id)}
    r = _invite(admin, role=role, email=f"new.{role}@example.nhs.uk", **extra)
    assert r.status_code == 303, r.text
    user = _account(session, f"new.{role}@example.nhs.uk")
    assert r.headers["location"] == f"/accounts/{user.id}/invited"
    page = admin.get(r.headers["location"]).text
    assert "<h1>Invitation sent</h1>" in page and "Alex Morgan" in page and f"new.{role}@example.nhs.uk" in page
    assert "in the outbox" in page and label in page
    assert user.role == role and (user.practitioner_id is not None) == (role in ("practitioner", "clinical_lead"))
    assert (user.organisation_id == world["orgs"]["b"].id) == (role == "manager")
    assert _events(session, user.id, "account_invited")[0].details["by"] == "Ada Admin (admin)"
    assert sign_in(web, user.email, password="!no-password-set").status_code == 401  # none until the link is used


def test_a_manager_without_an_organisation_is_an_error_that_keeps_what_was_typed(browser_for, world, session):
    r = _invite(browser_for("admin"), name="Mo Second", email="mo2@riverside.example", role="manager", mobile="")
    assert r.status_code == 400
    assert "<title>Error: Invite a user" in r.text
    assert 'class="error-summary"' in r.text
    assert 'href="#organisation">Select the organisation the manager works for' in r.text
    assert 'id="organisation"' in r.text and 'aria-invalid="true"' in r.text
    assert 'value="Mo Second"' in r.text and 'value="mo2@riverside.example"' in r.text
    assert '<option value="manager" selected>' in r.text
    assert session.scalar(select(UserAccount).where(UserAccount.email == "mo2@riverside.example")) is None


@pytest.mark.parametrize("fields, field, message", [
    ({"role": "clinical_lead", "mobile": ""}, "mobile",
     "Enter a mobile number: practitioners and clinical leads are paged on it"),
    ({"mobile": "not a number"}, "mobile", "Enter a UK mobile number, like 07700 900 982"),
    ({"mobile": "07700 900 202"}, "mobile", None),  # Bea Backup's: a practitioner without an account, so linked
    ({"mobile": "07700 900 201"}, "mobile", "This mobile number is already on Alex Primary&#39;s account"),
    ({"email": "ALEX@example.nhs.uk"}, "email", "An account with this email already exists"),
    ({"email": "alex at example"}, "email", "Enter an email address in the correct format, like name@example.nhs.uk"),
    ({"name": ""}, "name", "Enter the person&#39;s full name"),
])
def test_invitation_errors(browser_for, world, session, fields, field, message):
    r = _invite(browser_for("admin"), **fields)
    if message is None:
        assert r.status_code == 303
        user = _account(session, "alex.morgan@example.nhs.uk")
        assert user.practitioner_id == world["people"]["backup"].id
        return
    assert r.status_code == 400
    assert f'href="#{field}">{message}</a>' in r.text
    assert f'id="{field}-error"' in r.text
    typed = fields.get("mobile", "07700 900 301")
    assert f'value="{typed}"' in r.text


def test_the_link_sets_a_password_once_and_then_they_sign_in(browser_for, web, world, session):
    assert _invite(browser_for("admin")).status_code == 303
    path = _link_to(session, "alex.morgan@example.nhs.uk")
    user = _account(session, "alex.morgan@example.nhs.uk")
    assert sign_in(web, user.email, password=NEW_PASSWORD).status_code == 401

    form = web.get(path)
    assert "<h1>Set your password</h1>" in form.text and 'autocomplete="new-password"' in form.text
    # The public form has its own CSRF token, in the sign-in form's signed cookie.
    assert web.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": "forged"}
                    ).status_code == 403
    short = _set_password(web, path, password="short")
    assert short.status_code == 400 and 'href="#password">Your password must be 12 characters or more' in short.text
    mismatch = _set_password(web, path, confirm="something else entirely")
    assert mismatch.status_code == 400 and 'href="#confirm">The passwords do not match' in mismatch.text

    done = _set_password(web, path)
    assert done.status_code == 303 and done.headers["location"] == "/login?done=password-set"
    assert "Your password is set" in web.get("/login?done=password-set").text
    [event] = _events(session, user.id, "password_set")
    assert event.details["via"] == "invite link"

    again = web.get(path)
    assert again.status_code == 410 and "Ask an administrator to send you a new link" in again.text
    assert web.post(path, data={"password": "x" * 20, "confirm": "x" * 20, "csrf_token": "t"}).status_code == 410
    assert web.get("/account/set-password/not-a-real-token").status_code == 404
    assert sign_in(web, user.email, password=NEW_PASSWORD).status_code == 303


def test_an_expired_link_is_refused(browser_for, web, world, session, clock):
    assert _invite(browser_for("admin")).status_code == 303
    path = _link_to(session, "alex.morgan@example.nhs.uk")
    clock.advance(hours=72)
    r = web.get(path)
    assert r.status_code == 410 and "has run out" in r.text


def _emergency(session, settings, now):
    case = cases.create(session, data={"line": "sharps", "answers": HIV_NEEDLESTICK}, now=now, settings=settings)
    session.commit()
    return case


def test_deactivate_signs_out_takes_off_the_rota_and_is_not_paged(browser_for, web, world, session, settings,
                                                                   clock):
    nurse_user, primary, backup = world["users"]["practitioner"], world["people"]["primary"], world["people"]["backup"]
    nurse = browser_for("practitioner")
    admin = browser_for("admin")
    waiting = _emergency(session, settings, clock.now)  # pages the primary on call: Alex
    assert [p.practitioner_id for p in waiting.pages] == [primary.id]

    ask = admin.get(f"/accounts/{nurse_user.id}/deactivate")
    assert ask.status_code == 200
    assert "<h1>Deactivate Alex Primary?</h1>" in ask.text
    assert "They will be signed out, taken off the rota and not paged." in ask.text
    assert 'class="btn btn-warning" type="submit">Deactivate account</button>' in ask.text
    assert admin.post(f"/accounts/{nurse_user.id}/deactivate", data={}).status_code == 403  # no CSRF token
    r = admin.post(f"/accounts/{nurse_user.id}/deactivate", data={"csrf_token": token_of(admin, "/accounts")},
                   follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/accounts/{nurse_user.id}?done=deactivated"

    assert nurse.get("/dashboard", follow_redirects=False).status_code == 303  # their session stopped working
    assert sign_in(web, nurse_user.email).status_code == 401
    snapshot = rota.snapshot(session, clock.now)
    assert primary.id not in {p.id for p in snapshot.primary + snapshot.everyone}
    # The page waiting for them went on to the backup at once; a new case pages the backup first.
    session.expire_all()
    assert [(p.practitioner_id, p.status) for p in session.scalars(
        select(Page).where(Page.case_id == waiting.id).order_by(Page.id))] == [
        (primary.id, "superseded"), (backup.id, "pending")]
    fresh = _emergency(session, settings, clock.now)
    assert [p.practitioner_id for p in fresh.pages] == [backup.id]

    [event] = _events(session, nurse_user.id, "account_deactivated")
    assert event.details["by"] == "Ada Admin (admin)" and event.details["pages_moved_on"] == [waiting.ref]
    page = admin.get(f"/accounts/{nurse_user.id}?done=deactivated").text
    assert "Account deactivated." in page and "Deactivated" in page and "Ada Admin (admin)" in page
    assert f'href="/accounts/{nurse_user.id}/reactivate"' in page


def test_reactivate(browser_for, web, world, session, clock):
    nurse_user = world["users"]["practitioner"]
    admin = browser_for("admin")
    token = token_of(admin, "/accounts")
    admin.post(f"/accounts/{nurse_user.id}/deactivate", data={"csrf_token": token})
    ask = admin.get(f"/accounts/{nurse_user.id}/reactivate")
    assert "<h1>Reactivate Alex Primary?</h1>" in ask.text and "only when they are on a shift" in ask.text
    r = admin.post(f"/accounts/{nurse_user.id}/reactivate", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert sign_in(web, nurse_user.email).status_code == 303
    assert world["people"]["primary"].id in {p.id for p in rota.snapshot(session, clock.now).primary}
    assert [e.details["by"] for e in _events(session, nurse_user.id, "account_reactivated")] == ["Ada Admin (admin)"]


def test_reset_sends_a_new_link_and_voids_the_old_one(browser_for, web, world, session):
    admin = browser_for("admin")
    lead = world["users"]["lead"]
    ask = admin.get(f"/accounts/{lead.id}/reset-password")
    assert "<h1>Reset Dr Lee Lead’s password?</h1>" in ask.text and lead.email in ask.text
    token = token_of(admin, "/accounts")
    assert admin.post(f"/accounts/{lead.id}/reset-password", data={"csrf_token": token}).status_code == 200
    first = _link_to(session, lead.email)
    r = admin.post(f"/accounts/{lead.id}/reset-password", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/accounts/{lead.id}?done=link-sent"
    assert "A new link to set a password is in the outbox" in admin.get(r.headers["location"]).text
    second = _link_to(session, lead.email)
    assert first != second
    assert web.get(first).status_code == 410
    assert _set_password(web, second).status_code == 303
    assert sign_in(web, lead.email).status_code == 401  # the old password no longer works
    assert sign_in(web, lead.email, password=NEW_PASSWORD).status_code == 303
    assert [e.details["purpose"] for e in _events(session, lead.id, "password_reset_sent")] == ["reset", "reset"]


def test_setting_a_password_ends_existing_sessions(browser_for, web, world, session, clock):
    lead = browser_for("lead")
    admin = browser_for("admin")
    admin.post(f"/accounts/{world['users']['lead'].id}/reset-password",
               data={"csrf_token": token_of(admin, "/accounts")})
    clock.advance(seconds=1)  # the lead's session was issued before the password changed
    assert _set_password(web, _link_to(session, world["users"]["lead"].email)).status_code == 303
    assert lead.get("/dashboard", follow_redirects=False).status_code == 303


def test_unlock(browser_for, web, world, session, clock):
    lead_user = session.get(UserAccount, world["users"]["lead"].id)
    lead_user.failed_logins, lead_user.locked_until = 5, clock.now + timedelta(minutes=15)
    session.commit()
    admin = browser_for("admin")
    page = admin.get(f"/accounts/{lead_user.id}").text
    assert "Locked until Monday 23 November, 14:15" in page and ">Unlock</button>" in page
    r = admin.post(f"/accounts/{lead_user.id}/unlock", data={"csrf_token": token_of(admin, "/accounts")},
                   follow_redirects=False)
    assert r.status_code == 303
    assert sign_in(web, lead_user.email).status_code == 303
    [event] = _events(session, lead_user.id, "account_unlocked")
    assert event.details["by"] == "Ada Admin (admin)"


def test_an_admin_cannot_deactivate_themselves(browser_for, world, session):
    admin = browser_for("admin")
    me = world["users"]["admin"]
    assert 'href="/accounts/{}/deactivate"'.format(me.id) not in admin.get(f"/accounts/{me.id}").text
    r = admin.post(f"/accounts/{me.id}/deactivate", data={"csrf_token": token_of(admin, "/accounts")})
    assert r.status_code == 409 and "You cannot deactivate your own account" in r.text
    assert _account(session, me.email).active
    assert _events(session, me.id, "account_deactivated") == []


def test_the_history_shows_the_account_audit_newest_first(browser_for, world, session):
    admin = browser_for("admin")
    lead = world["users"]["lead"]
    sign_in(browser_for("lead"), lead.email)
    admin.post(f"/accounts/{lead.id}/reset-password", data={"csrf_token": token_of(admin, "/accounts")})
    html = admin.get(f"/accounts/{lead.id}").text
    history = html[html.index('id="history"'):]
    assert history.index("Set-password link sent") < history.index("Signed in")
    assert "Ada Admin (admin)" in history
    assert "Dr Lee Lead, mobile +447700900203" in html


def test_an_unknown_account_is_not_found(browser_for, world):
    admin = browser_for("admin")
    assert admin.get("/accounts/99999").status_code == 404
    r = admin.post("/accounts/99999/deactivate", data={"csrf_token": token_of(admin, "/accounts")})
    assert r.status_code == 404
