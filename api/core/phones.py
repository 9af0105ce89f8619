"""Phone numbers as the helpline reads and shows them, one place for the rules.

UK by default (region GB). "Possible" rather than "valid" where a number only has to be
dialable: Ofcom's drama ranges (07700 900xxx, 01632 960xxx, 0306 999 0xxx), used for demo and
test numbers, are well-formed but never allocated, so phonenumbers calls them invalid.
"""
from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberFormat


def parse(number: str) -> PhoneNumber | None:
    """The number, if it is one that could be dialled; None for anything else."""
    try:
        parsed = phonenumbers.parse(number.strip(), "GB")
    except phonenumbers.NumberParseException:
        return None
    return parsed if phonenumbers.is_possible_number(parsed) else None


def e164(number: str) -> str | None:
    parsed = parse(number)
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164) if parsed is not None else None


def readable(parsed: PhoneNumber) -> str:
    """As people read it: a UK line the national way (07700 900555), others in international form."""
    style = PhoneNumberFormat.NATIONAL if parsed.country_code == 44 else PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(parsed, style)


def link(parsed: PhoneNumber) -> str:
    """For a tel: or sms: link."""
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def is_uk_mobile(number: str) -> bool:
    """An E.164 UK mobile a text can reach: 07 numbers other than 070 (personal numbers) and
    076 (pagers), which start with 07 but take no texts."""
    return number.startswith("+447") and not number.startswith(("+4470", "+4476"))
