"""What a poster says, whoever it is for: the line's promise, first aid in three lines (the
project's clinical reference, docs/clinical-reference.md "First aid", in the words of the
sharps rules' `first_aid` advice), and the organisation's chat link as a QR code.

The link carries the organisation's code (`/chat?org=CODE`), so a conversation begun from the
poster is counted for that organisation (api/services/origins.py)."""
from __future__ import annotations

from urllib.parse import urlencode

import segno

HELPLINE_NAME = "Occupational health helpline"
TAGLINE = "Needlestick or splash? Get advice now, day or night"
FIRST_AID = (
    "Wound: gently encourage it to bleed and wash it with soap and running water. Don't scrub or suck it.",
    "Splash in the eyes, mouth or nose: rinse with plenty of water. Don't swallow.",
    "Then contact us now, day or night.",
)
#: M (15% of the code may be lost): a printed poster gets scuffed and folded
ERROR_CORRECTION = "m"


def chat_link(public_base_url: str, code: str) -> str:
    """The web chat's address for people at this organisation."""
    return f"{public_base_url.rstrip('/')}/chat?{urlencode({'org': code})}"


def qr_code(link: str) -> segno.QRCode:
    return segno.make_qr(link, error=ERROR_CORRECTION)


def qr_svg(link: str, *, title: str) -> str:
    """The QR code as an inline SVG that scales to its box (a viewBox, no fixed size), drawn
    as an image with a name (role="img" and its <title>) for screen readers."""
    svg = qr_code(link).svg_inline(scale=1, border=4, omitsize=True, title=title, svgclass="qr",
                                   lineclass=None, dark="#000", light="#fff")
    return svg.replace("<svg ", '<svg role="img" ', 1)
