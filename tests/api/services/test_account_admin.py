"""Account administration as a service, with the clock passed in: invitations, one-time links,
deactivation (off the rota and the ladder at once), reactivation, unlocking, and the audit."""
from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from api.models import AccountToken, CaseEvent, OutboxMessage, Page, Practitioner, UserAccount, UserEvent
from api.notifier import Delivery
from api.services import account_admin, accounts, cases, outbox, rota
from api.services.account_admin import InviteProblems, LinkUnusable, Refused
from tests.api.factories import HIV_NEEDLESTICK, organisation, practitioner, standard_rota

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch):
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", lambda: cheap)


@pytest.fixture
def admin(session, clock):
    user = accounts.create_account(session, email="admin@example.nhs.uk", name="Ada Admin", role="admin",
                                   password=PASSWORD, now=clock.now)
    session.commit()
    return user


def _invite(session, settings, clock, by, **fields):
    form = {"name": "Alex Morgan", "email": "Alex.Morgan@Example.nhs.uk", "role": "practitioner",
            "organisation": "", "mobile": "07700 900 301"} | fields
    invitation = account_admin.check_invitation(session, **form)
    invited = account_admin.invite(session, invitation, by=by, now=clock.now, settings=settings)
    session.commit()
    return invited


def _token(link: str) -> str:
    return link.rsplit("/", 1)[1]


def _events(session, user, type=None):
    query = select(UserEvent).where(UserEvent.user_id == user.id).order_by(UserEvent.id)
    if type:
        query = query.where(UserEvent.type == type)
    return list(session.scalars(query))


def _problems(session, **fields):
    form = {"name": "Sam Lead", "email": "sam@example.nhs.uk", "role": "clinical_lead", "organisation": "",
            "mobile": "07700900302"} | fields
    with pytest.raises(InviteProblems) as caught:
        account_admin.check_invitation(session, **form)
    return dict(caught.value.problems)


def test_invite_makes_an_account_without_a_password_a_practitioner_and_a_link(session, settings, clock, admin):
    invited = _invite(session, settings, clock, admin)
    user = invited.user
    assert (user.email, user.role, user.active) == ("alex.morgan@example.nhs.uk", "practitioner", True)
    assert not accounts.verify_password(user.password_hash, "")
    assert not accounts.verify_password(user.password_hash, account_admin.NO_PASSWORD)
    person = session.get(Practitioner, user.practitioner_id)
    assert (person.name, person.mobile, person.role, person.active) == ("Alex Morgan", "+447700900301", "nurse", True)

    token = _token(invited.link)
    assert invited.link == f"{settings.public_base_url}/account/set-password/{token}"
    stored = session.scalars(select(AccountToken)).one()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in stored.token_hash
    assert (stored.purpose, stored.expires_at, stored.used_at) == ("invite", clock.now + timedelta(hours=72), None)
    mail = session.scalars(select(OutboxMessage)).one()
    assert (mail.channel, mail.to, mail.status) == ("email", "alex.morgan@example.nhs.uk", "queued")
    assert invited.link in mail.body

    [event] = _events(session, user, "account_invited")
    assert event.details["by"] == "Ada Admin (admin)" and event.details["mobile"] == "+447700900301"
    assert event.created_at == clock.now


def test_an_invited_lead_takes_over_the_practitioner_with_that_mobile(session, settings, clock, admin):
    nurse = practitioner(session, "Sam Lead", mobile="+447700900302", now=clock.now, active=False)
    user = _invite(session, settings, clock, admin, name="Dr Sam Lead", email="sam@example.nhs.uk",
                   role="clinical_lead", mobile="+44 7700 900302").user
    assert user.practitioner_id == nurse.id
    session.refresh(nurse)
    assert (nurse.role, nurse.active) == ("clinical_lead", True)
    assert session.scalar(select(Practitioner.id).where(Practitioner.id != nurse.id)) is None


def test_managers_and_admins_need_no_mobile_and_a_manager_has_an_organisation(session, settings, clock, admin):
    org = organisation(session, now=clock.now)
    manager = _invite(session, settings, clock, admin, name="Mo Manager", email="mo@riverside.example",
                      role="manager", organisation=str(org.id), mobile="").user
    assert (manager.organisation_id, manager.practitioner_id) == (org.id, None)
    other_admin = _invite(session, settings, clock, admin, name="Bo Admin", email="bo@example.nhs.uk", role="admin",
                          organisation=str(org.id), mobile="07700900999").user
    assert (other_admin.organisation_id, other_admin.practitioner_id) == (None, None)  # neither applies to an admin


def test_invitation_problems_name_their_fields(session, settings, clock, admin):
    assert _problems(session, name=" ", email="", role="") == {
        "name": "Enter the person's full name", "email": "Enter their email address",
        "role": "Select the person's role"}
    assert _problems(session, email="not-an-email")["email"].startswith("Enter an email address in the correct format")
    assert _problems(session, email="ADMIN@example.nhs.uk") == {"email": "An account with this email already exists"}
    assert _problems(session, role="manager", organisation="") == {
        "organisation": "Select the organisation the manager works for"}
    assert _problems(session, role="manager", organisation="999") == {
        "organisation": "Select the organisation the manager works for"}
    assert _problems(session, mobile="")["mobile"].startswith("Enter a mobile number")
    assert _problems(session, mobile="12") == {"mobile": "Enter a UK mobile number, like 07700 900 982"}
    assert _problems(session, role="superuser") == {"role": "Select the person's role"}
    _invite(session, settings, clock, admin)
    assert _problems(session, mobile="07700900301") == {
        "mobile": "This mobile number is already on Alex Morgan's account"}


def test_a_link_sets_the_password_once(session, settings, clock, admin):
    invited = _invite(session, settings, clock, admin)
    user, token = invited.user, _token(invited.link)
    user.failed_logins, user.locked_until = 3, clock.now + timedelta(minutes=5)
    session.commit()
    with pytest.raises(accounts.AccountError):
        account_admin.set_password(session, token, "short", now=clock.now)
    session.rollback()

    clock.advance(hours=1)
    account_admin.set_password(session, token, PASSWORD, now=clock.now)
    session.commit()
    assert accounts.verify_password(user.password_hash, PASSWORD)
    assert (user.failed_logins, user.locked_until, user.sessions_valid_after) == (0, None, clock.now)
    assert session.scalars(select(AccountToken)).one().used_at == clock.now
    [event] = _events(session, user, "password_set")
    assert event.details["by"] == "Alex Morgan (practitioner)" and event.details["via"] == "invite link"

    with pytest.raises(LinkUnusable) as again:
        account_admin.set_password(session, token, "another long password", now=clock.now)
    assert again.value.gone
    with pytest.raises(LinkUnusable) as unknown:
        account_admin.link_holder(session, "no-such-token", now=clock.now)
    assert not unknown.value.gone
    assert accounts.authenticate(session, email=user.email, password=PASSWORD, now=clock.now).ok


def test_an_expired_link_is_refused(session, settings, clock, admin):
    token = _token(_invite(session, settings, clock, admin).link)
    clock.advance(hours=72)
    with pytest.raises(LinkUnusable) as caught:
        account_admin.set_password(session, token, PASSWORD, now=clock.now)
    assert caught.value.gone


def test_a_new_link_voids_the_old_one_and_a_reset_lasts_an_hour(session, settings, clock, admin):
    invited = _invite(session, settings, clock, admin)
    user, first = invited.user, _token(invited.link)
    again = account_admin.send_link(session, user, by=admin, now=clock.now, settings=settings)
    session.commit()
    assert again.expires_at == clock.now + timedelta(hours=72)  # never set a password: a fresh invitation
    with pytest.raises(LinkUnusable):
        account_admin.link_holder(session, first, now=clock.now)
    account_admin.set_password(session, _token(again.url), PASSWORD, now=clock.now)
    session.commit()

    reset = account_admin.send_link(session, user, by=admin, now=clock.now, settings=settings)
    session.commit()
    assert reset.expires_at == clock.now + timedelta(hours=1)
    assert [m.to for m in session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email"))] == [
        user.email] * 3
    sent = _events(session, user, "password_reset_sent")
    assert [e.details["purpose"] for e in sent] == ["invite", "reset"]
    assert all(e.details["by"] == "Ada Admin (admin)" for e in sent)


def test_the_sms_sender_never_takes_an_email_row(session, settings, clock, admin):
    _invite(session, settings, clock, admin)
    outbox.enqueue_sms(session, to="+447700900201", body="a page", now=clock.now)
    session.commit()
    sent: list[str] = []

    class Recorder:
        def send_sms(self, *, to, body):
            sent.append(to)
            return Delivery(provider_sid="SM1", logged_only=False)

    assert outbox.deliver_pending(session, Recorder(), now=clock.now) == 1
    assert sent == ["+447700900201"]
    mail = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email")).one()
    assert (mail.status, mail.attempts) == ("queued", 0)


def _paged_world(session, settings, clock, admin):
    """The standard rota; the primary on call has an account; an emergency case pages the primary."""
    people = standard_rota(session, now=clock.now)
    user = accounts.create_account(session, email="alex@example.nhs.uk", name="Alex Primary", role="practitioner",
                                   password=PASSWORD, now=clock.now, practitioner_id=people["primary"].id)
    case = cases.create(session, data={"line": "sharps", "answers": HIV_NEEDLESTICK}, now=clock.now, settings=settings)
    session.commit()
    return people, user, case


def _pages(session, case):
    session.expire_all()
    return list(session.scalars(select(Page).where(Page.case_id == case.id).order_by(Page.id)))


def test_deactivating_a_practitioner_passes_their_waiting_page_on_at_once(session, settings, clock, admin):
    people, user, case = _paged_world(session, settings, clock, admin)
    assert [p.practitioner_id for p in _pages(session, case)] == [people["primary"].id]
    clock.advance(seconds=30)  # well before the page's deadline

    done = account_admin.deactivate(session, user, by=admin, now=clock.now, settings=settings)
    session.commit()
    assert done.pages_moved_on == (case.ref,)
    pages = _pages(session, case)
    assert [(p.practitioner_id, p.tier, p.status) for p in pages] == [
        (people["primary"].id, "primary", "superseded"), (people["backup"].id, "backup", "pending")]
    assert pages[1].sent_at == clock.now
    types = [e.type for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))]
    assert types[-2:] == ["page_withdrawn", "page_sent"]
    withdrawn = session.scalar(select(CaseEvent).where(CaseEvent.type == "page_withdrawn"))
    assert withdrawn.actor == "Ada Admin (admin)" and "deactivated" in withdrawn.description
    assert session.scalars(select(OutboxMessage.to).where(OutboxMessage.channel == "sms")).all()[-1] == "+447700900202"

    session.refresh(user)
    assert (user.active, user.sessions_valid_after) == (False, clock.now)
    assert not session.get(Practitioner, people["primary"].id).active
    snapshot = rota.snapshot(session, clock.now)
    assert people["primary"].id not in {p.id for p in snapshot.primary + snapshot.everyone}
    [event] = _events(session, user, "account_deactivated")
    assert event.details == {"by": "Ada Admin (admin)", "pages_moved_on": [case.ref],
                             "practitioner_id": people["primary"].id}
    # Again: nothing more to do, nothing more recorded.
    account_admin.deactivate(session, user, by=admin, now=clock.now, settings=settings)
    assert len(_events(session, user, "account_deactivated")) == 1


def test_a_deactivated_practitioner_is_not_paged_for_a_new_case(session, settings, clock, admin):
    people, user, _ = _paged_world(session, settings, clock, admin)
    account_admin.deactivate(session, user, by=admin, now=clock.now, settings=settings)
    session.commit()
    case = cases.create(session, data={"line": "sharps", "answers": HIV_NEEDLESTICK}, now=clock.now, settings=settings)
    session.commit()
    assert [(p.practitioner_id, p.tier) for p in _pages(session, case)] == [(people["backup"].id, "backup")]


def test_deactivation_leaves_a_round_that_others_still_answer(session, settings, clock, admin):
    """On the last step everyone is paged: withdrawing one of them pages nobody new."""
    people, user, case = _paged_world(session, settings, clock, admin)
    for p in _pages(session, case):
        p.status, p.tier = "pending", "everyone"
    extra = Page(case_id=case.id, practitioner_id=people["other"].id, tier="everyone", attempt=case.escalation_round,
                 urgency="emergency", status="pending", sent_at=clock.now, ack_seconds=300,
                 ack_deadline=clock.now + timedelta(seconds=300), created_at=clock.now)
    session.add(extra)
    session.commit()
    account_admin.deactivate(session, user, by=admin, now=clock.now, settings=settings)
    session.commit()
    assert [(p.practitioner_id, p.status) for p in _pages(session, case)] == [
        (people["primary"].id, "superseded"), (people["other"].id, "pending")]


def test_refused_for_yourself_and_the_last_admin(session, settings, clock, admin):
    with pytest.raises(Refused, match="your own account"):
        account_admin.deactivate(session, admin, by=admin, now=clock.now, settings=settings)
    lead = accounts.create_account(session, email="lee@example.nhs.uk", name="Dr Lee", role="clinical_lead",
                                   password=PASSWORD, now=clock.now)
    with pytest.raises(Refused, match="last active administrator"):
        account_admin.deactivate(session, admin, by=lead, now=clock.now, settings=settings)
    assert admin.active


def test_reactivate_restores_the_account_and_its_practitioner(session, settings, clock, admin):
    people, user, _ = _paged_world(session, settings, clock, admin)
    account_admin.deactivate(session, user, by=admin, now=clock.now, settings=settings)
    session.commit()
    assert account_admin.reactivate(session, user, by=admin, now=clock.now)
    session.commit()
    assert user.active and session.get(Practitioner, people["primary"].id).active
    assert people["primary"].id in {p.id for p in rota.snapshot(session, clock.now).primary}
    assert not account_admin.reactivate(session, user, by=admin, now=clock.now)
    assert [e.details["by"] for e in _events(session, user, "account_reactivated")] == ["Ada Admin (admin)"]
    account_admin.deactivate(session, user, by=admin, now=clock.now, settings=settings)
    with pytest.raises(Refused, match="Reactivate it before sending a link"):
        account_admin.send_link(session, user, by=admin, now=clock.now, settings=settings)


def test_deactivation_voids_open_links(session, settings, clock, admin):
    invited = _invite(session, settings, clock, admin)
    account_admin.deactivate(session, invited.user, by=admin, now=clock.now, settings=settings)
    session.commit()
    with pytest.raises(LinkUnusable):
        account_admin.link_holder(session, _token(invited.link), now=clock.now)


def test_unlock(session, settings, clock, admin):
    user = accounts.create_account(session, email="lee@example.nhs.uk", name="Dr Lee", role="clinical_lead",
                                   password=PASSWORD, now=clock.now)
    assert not account_admin.unlock(session, user, by=admin, now=clock.now)
    user.failed_logins, user.locked_until = 5, clock.now + timedelta(minutes=15)
    session.commit()
    assert account_admin.unlock(session, user, by=admin, now=clock.now)
    session.commit()
    assert (user.failed_logins, user.locked_until) == (0, None)
    [event] = _events(session, user, "account_unlocked")
    assert event.details["by"] == "Ada Admin (admin)" and event.details["failed_logins"] == 5
    assert session.scalar(select(UserAccount.locked_until).where(UserAccount.id == user.id)) is None
