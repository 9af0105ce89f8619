"""A printable A4 poster for each organisation: the helpline's numbers, first aid in three lines
and a QR code of the organisation's own chat link (api/domain/posters.py says what it says).

The numbers are the helpline's own (HELPLINE_PHONE_NUMBER, and HELPLINE_SMS_NUMBER else the
number texts come from), shown as people read them. With neither a poster would send people
nowhere: the preview says so and no PDF is made (NoNumbers)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core import phones
from api.core.config import Settings
from api.domain import posters as words
from api.models import Organisation
from api.services.directory import NotFound


class NoNumbers(Exception):
    """Neither the helpline's phone number nor its text number is set."""

    def __init__(self) -> None:
        super().__init__("This poster cannot be printed yet: no phone or text number for the helpline is set. "
                         "Ask the person who runs the service to set HELPLINE_PHONE_NUMBER or HELPLINE_SMS_NUMBER, "
                         "then print the poster again.")


@dataclass(frozen=True)
class Number:
    text: str  # as people read it: 0300 123 4567
    link: str  # E.164, for tel: and sms: links


@dataclass(frozen=True)
class Poster:
    organisation: Organisation
    link: str
    qr_svg: str
    phone: Number | None
    sms: Number | None
    name: str = words.HELPLINE_NAME
    tagline: str = words.TAGLINE
    first_aid: tuple[str, ...] = words.FIRST_AID

    @property
    def printable(self) -> bool:
        return self.phone is not None or self.sms is not None


def _number(configured: str) -> Number | None:
    parsed = phones.parse(configured) if configured else None
    return Number(phones.readable(parsed), phones.link(parsed)) if parsed is not None else None


def organisation(session: Session, code: str) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.code == code.strip().upper()))
    if org is None:
        raise NotFound("organisation", code)
    return org


def poster(session: Session, code: str, settings: Settings) -> Poster:
    """The poster of the organisation with this code (NotFound for an unknown code)."""
    org = organisation(session, code)
    link = words.chat_link(settings.public_base_url, org.code)
    return Poster(organisation=org, link=link,
                  qr_svg=words.qr_svg(link, title=f"QR code: the helpline's web chat for {org.name}"),
                  phone=_number(settings.helpline_phone_number), sms=_number(settings.helpline_sms))


def printable(session: Session, code: str, settings: Settings) -> Poster:
    """As `poster`, for printing: NoNumbers when the poster would give no number to call or text."""
    found = poster(session, code, settings)
    if not found.printable:
        raise NoNumbers()
    return found
