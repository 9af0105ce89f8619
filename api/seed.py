"""Demo data: organisations, three practitioners and a rota covering the next 7 days.

`python -m api.seed` (run by `make run` and `make seed`). Safe to run again: it replaces
the demo rota from now on and leaves cases alone.
"""
from __future__ import annotations

import argparse
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.core.config import Settings
from api.core.db import make_engine, make_session_factory
from api.core.file_modes import owner_only
from api.enums import OrganisationType, PractitionerRole, ShiftTier
from api.models import Organisation, Practitioner, RotaShift
from api.services.accounts import seed_accounts

# Ofcom's drama ranges: these numbers are reserved for fiction and never ring anyone.
DEMO_PRACTITIONERS = [
    ("Alex Morgan", PractitionerRole.nurse, "+447700900101"),
    ("Priya Shah", PractitionerRole.nurse, "+447700900102"),
    ("Dr Sam Okafor", PractitionerRole.clinical_lead, "+447700900103"),
]
DEMO_ORGANISATIONS = [
    ("Y00001", "Riverside Medical Practice", OrganisationType.gp_practice),
    ("Y00002", "Hillview Surgery", OrganisationType.gp_practice),
    ("Y00003", "Northgate Health Centre", OrganisationType.gp_practice),
    ("FA001", "High Street Pharmacy", OrganisationType.community_pharmacy),
    ("FA002", "Parkside Community Pharmacy", OrganisationType.community_pharmacy),
    ("FED01", "Riverside Primary Care Federation", OrganisationType.federation),
]
SHIFT_HOURS = 12
DAYS = 7


def seed(session: Session, *, now: datetime) -> dict[str, int]:
    for code, name, kind in DEMO_ORGANISATIONS:
        if session.scalar(select(Organisation).where(Organisation.code == code)) is None:
            session.add(Organisation(code=code, name=name, type=kind, created_at=now))
    people = []
    for name, role, mobile in DEMO_PRACTITIONERS:
        person = session.scalar(select(Practitioner).where(Practitioner.mobile == mobile))
        if person is None:
            person = Practitioner(name=name, role=role, mobile=mobile, active=True, created_at=now)
            session.add(person)
        people.append(person)
    session.flush()
    nurse_a, nurse_b, _lead = people
    demo_ids = [p.id for p in people]
    session.execute(delete(RotaShift).where(RotaShift.practitioner_id.in_(demo_ids), RotaShift.ends_at > now))
    # 12-hour shifts on the half day, the two nurses alternating primary and backup.
    start = now.replace(minute=0, second=0, microsecond=0)
    start -= timedelta(hours=start.hour % SHIFT_HOURS)
    shifts = 0
    for index in range(DAYS * 24 // SHIFT_HOURS + 1):
        begins = start + timedelta(hours=index * SHIFT_HOURS)
        ends = begins + timedelta(hours=SHIFT_HOURS)
        primary, backup = (nurse_a, nurse_b) if index % 2 == 0 else (nurse_b, nurse_a)
        session.add(RotaShift(practitioner_id=primary.id, tier=ShiftTier.primary, starts_at=begins, ends_at=ends))
        session.add(RotaShift(practitioner_id=backup.id, tier=ShiftTier.backup, starts_at=begins, ends_at=ends))
        shifts += 2
    session.commit()
    return {"organisations": len(DEMO_ORGANISATIONS), "practitioners": len(people), "shifts": shifts}


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    owner_only()  # the database it may create holds people's data
    settings = Settings()
    engine = make_engine(settings.database_url)
    accounts: dict[str, tuple[str, str]] = {}
    with make_session_factory(engine)() as session:
        now = datetime.now(timezone.utc)
        counts = seed(session, now=now)
        if settings.environment == "development":
            accounts = seed_accounts(session, now, environment=settings.environment)
            session.commit()
    engine.dispose()
    print(f"demo data loaded: {counts}")
    if accounts:
        print("demo dashboard accounts (development only; new passwords each run), sign in at /login:")
        for role, (email, password) in accounts.items():
            print(f"  {role:<14} {email:<40} {password}")


if __name__ == "__main__":
    main()
