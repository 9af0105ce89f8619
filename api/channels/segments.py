"""How many SMS segments a text costs: GSM-7 or UCS-2, and the characters that decide it.

Pure (no I/O, standard library only); tests/api/channels/test_sms_responses.py counts every
text the helpline sends by SMS with it (docs/sms-segments.md).

The numbers, checked against Twilio's documentation
(https://www.twilio.com/docs/glossary/what-sms-character-limit and
https://www.twilio.com/docs/glossary/what-is-ucs-2-character-encoding):
- A text made only of GSM-7 characters (GSM 03.38 / 3GPP TS 23.038: the basic table below,
  and the extension table, whose characters are sent as ESC + code and so cost 2 septets)
  fits 160 septets in one message; a longer one is split into segments of 153 septets (each
  carries a 6-byte User Data Header that tells the handset how to put them back together).
- One character outside GSM-7 (a curly quote, an en dash, an emoji ...) sends the WHOLE text
  as UCS-2: 70 UTF-16 code units in one message, 67 per segment when concatenated.
- Twilio takes up to 1,600 characters in one body (api/channels/texts.py SMS_LIMIT).
A segment never ends between the two septets of an extension character, nor between the
two halves of a UTF-16 surrogate pair (an emoji outside the Basic Multilingual Plane): that
character starts the next segment, as Twilio's segment calculator does
(github.com/TwilioDevEd/message-segment-calculator, whose GSM-7 table this one matches).
"""
from __future__ import annotations

from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

GSM7_SINGLE = 160  # septets in a text sent as one message
GSM7_SEGMENT = 153  # septets per segment of a concatenated text
UCS2_SINGLE = 70  # UTF-16 code units in one message
UCS2_SEGMENT = 67  # UTF-16 code units per segment of a concatenated text

# The GSM 03.38 default alphabet, in code order 0x00-0x7F (0x1B, ESC, is the escape to the
# extension table and stands for no character of its own, so it is not here). "\n" is 0x0A
# (LF) and "\r" is 0x0D (CR). 0x09 is the capital C with cedilla in the current 3GPP table.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# The extension table: each is sent as ESC + its code, so it costs 2 septets.
# "\f" (form feed) is 0x1B 0x0A.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


def non_gsm(text: str) -> list[str]:
    """The characters of `text` that GSM-7 cannot carry (they force UCS-2), each once, in the
    order they first appear."""
    return list(dict.fromkeys(ch for ch in text if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION))


def encoding(text: str) -> Encoding:
    """"GSM-7" when every character is in the GSM 03.38 tables, else "UCS-2"."""
    return "UCS-2" if non_gsm(text) else "GSM-7"


def _units(text: str, kind: Encoding) -> list[int]:
    """The size of each character in the encoding's units (septets, or UTF-16 code units)."""
    if kind == "GSM-7":
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _pack(units: list[int], per_segment: int) -> int:
    """Segments needed when no character is split across two of them."""
    count, used = 1, 0
    for size in units:
        if used + size > per_segment:
            count, used = count + 1, 0
        used += size
    return count


def length(text: str) -> int:
    """The text's length in its encoding's units: septets for GSM-7 (an extension character
    counts 2), UTF-16 code units for UCS-2 (a character outside the BMP counts 2)."""
    return sum(_units(text, encoding(text)))


def segments(text: str) -> int:
    """The number of SMS segments the text is billed and sent as; 0 for an empty text."""
    if not text:
        return 0
    kind = encoding(text)
    units = _units(text, kind)
    single, per_segment = (GSM7_SINGLE, GSM7_SEGMENT) if kind == "GSM-7" else (UCS2_SINGLE, UCS2_SEGMENT)
    if sum(units) <= single:
        return 1
    return _pack(units, per_segment)
