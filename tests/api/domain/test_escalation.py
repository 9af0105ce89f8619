from datetime import datetime, timezone

from api.domain.escalation import Person, RotaSnapshot, ack_deadline, call_order, is_overdue, page_text, plan_step
from api.enums import PageTier

A, B, L, OTHER = (Person(i, n, f"+4477009000{i}") for i, n in enumerate(["a", "b", "lead", "other"], start=1))
FULL = RotaSnapshot(primary=(A,), backup=(B,), clinical_leads=(L,), everyone=(A, B, L, OTHER))


def test_ladder_order():
    assert [plan_step(s, FULL).tier for s in range(4)] == [
        PageTier.primary, PageTier.backup, PageTier.clinical_lead, PageTier.everyone]
    assert plan_step(4, FULL).exhausted


def test_empty_steps_are_skipped_and_named():
    plan = plan_step(0, RotaSnapshot(clinical_leads=(L,), everyone=(L, OTHER)))
    assert (plan.tier, plan.targets, plan.skipped) == (
        PageTier.clinical_lead, (L,), (PageTier.primary, PageTier.backup))


def test_everyone_leaves_out_people_already_paged_unless_none_left():
    assert plan_step(3, FULL, already_paged=frozenset({1, 2, 3})).targets == (OTHER,)
    assert plan_step(3, RotaSnapshot(everyone=(A,)), already_paged=frozenset({1})).targets == (A,)


def test_deadline_and_overdue_boundary():
    t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    d = ack_deadline(t, 300)
    assert not is_overdue(d, d.replace(second=d.second) - (d - t) / 300)
    assert is_overdue(d, d) and not is_overdue(None, d)


def test_page_text_carries_ref_and_ack_instruction():
    text = page_text(ref="SH-000001", urgency="emergency", summary="sharps injury.", callback="+447700900555",
                     emergency_department=True)
    assert text.startswith("OH HELPLINE EMERGENCY SH-000001") and "ACK SH-000001" in text and "ED" in text
    assert "http" not in text  # no link unless one is given


def test_page_text_ends_with_the_case_link_alone():
    link = "https://helpline.example.nhs.uk/cases/SH-000001"
    text = page_text(ref="SH-000001", urgency="urgent", summary="sharps injury.", callback=None,
                     emergency_department=False, link=link)
    # Last and on its own, so the phone links exactly the address (no full stop stuck to it).
    assert text.endswith(f" Open: {link}") and text.split()[-1] == link


def test_a_call_rings_the_ladder_in_order_each_person_once_and_never_everyone():
    a, b, lead, other = (Person(i, n, f"+4477009000{i}") for i, n in enumerate(["A", "B", "Lead", "Other"], 1))
    rota = RotaSnapshot(primary=(a,), backup=(b, a), clinical_leads=(lead,), everyone=(a, b, lead, other))
    assert [(str(t), p.name) for t, p in call_order(rota)] == [
        ("primary", "A"), ("backup", "B"), ("clinical_lead", "Lead")]
    # Nobody on shift: the clinical lead is still rung.
    assert [p.name for _, p in call_order(RotaSnapshot(clinical_leads=(lead,), everyone=(other,)))] == ["Lead"]
