"""Posters (issue #18): each organisation's A4 poster carries the helpline's numbers, first aid in
three lines and a QR code that decodes (zxing-cpp) to exactly the organisation's chat link: the
SVG the page embeds, drawn module by module; a PNG segno makes from the link the page prints; and
the PDF's page rendered to an image (pypdfium2). For clinical leads and admins only."""
from __future__ import annotations

import io
import re

import pypdfium2
import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from api.domain import posters as words
from tests.api.factories import organisation
from tests.api.staff_browsers import StaffBrowsers

PUBLIC = "https://helpline.example.nhs.uk"
LINK = f"{PUBLIC}/chat?org=Y00001"


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"public_base_url": PUBLIC, "helpline_phone_number": "0300 123 4567",
                                       "helpline_sms_number": "07700 900123"})


@pytest.fixture
def orgs(session, clock):
    found = [organisation(session, "Y00001", name="Riverside Medical Practice", now=clock.now),
             organisation(session, "FA001", name="High Street Pharmacy", type="community_pharmacy", now=clock.now),
             organisation(session, "FED01", name="North Federation", type="federation", now=clock.now)]
    session.commit()
    return found


@pytest.fixture
def browsers(app, session, clock, monkeypatch):
    made = StaffBrowsers(app, session, clock.now, monkeypatch)
    yield made
    made.close()


@pytest.fixture
def lead(browsers, orgs):
    return browsers("clinical_lead")


def _decode(image: Image.Image) -> list[str]:
    return [found.text for found in zxingcpp.read_barcodes(image)]


def _svg_image(svg: str, *, pixels_per_module: int = 8) -> Image.Image:
    """The embedded SVG drawn as segno writes it: a light square, then dark horizontal runs of
    one module's height (M/m moves, h runs) centred on each row."""
    size = int(re.search(r'viewBox="0 0 (\d+) \1"', svg).group(1))
    dark = re.search(r'<path stroke="#000" d="([^"]+)"', svg).group(1)
    image = Image.new("L", (size, size), 255)
    x = y = 0.0
    for command, a, b in re.findall(r"([Mmh])(-?\d+(?:\.\d+)?)(?: (-?\d+(?:\.\d+)?))?", dark):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        else:
            for column in range(int(x), int(x + float(a))):
                image.putpixel((column, int(y - 0.5)), 0)
            x += float(a)
    return image.resize((size * pixels_per_module, size * pixels_per_module), Image.NEAREST)


def _pdf_text(content: bytes) -> str:
    return " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(content)).pages)


# --- the poster -------------------------------------------------------------------------------------------

def test_the_poster_has_the_numbers_first_aid_and_the_link_printed(lead):
    r = lead.get("/organisations/Y00001/poster")
    assert r.status_code == 200, r.text
    html = r.text
    assert "Needlestick or splash? Get advice now, day or night" in html
    assert "Occupational health helpline" in html and "Riverside Medical Practice" in html
    assert '<a href="tel:+443001234567">0300 123 4567</a>' in html
    assert '<a href="sms:+447700900123">07700 900123</a>' in html
    assert len(words.FIRST_AID) == 3
    assert all(f"<li>{line.replace(chr(39), '&#39;')}</li>" in html for line in words.FIRST_AID)
    assert "soap and running water" in html and "scrub or suck" in html and "rinse with plenty of water" in html
    assert f'<span class="poster-link">{LINK}</span>' in html
    assert 'href="/static/web/poster.css"' in html
    assert 'id="no-numbers"' not in html


def test_the_embedded_qr_code_decodes_to_the_organisations_chat_link(lead):
    html = lead.get("/organisations/Y00001/poster").text
    svg = re.search(r"<svg .*?</svg>", html, re.S).group(0)
    assert svg.startswith('<svg role="img" ') and "<title>QR code: the helpline's web chat for " in svg.replace(
        "&#x27;", "'").replace("&#39;", "'")
    assert _decode(_svg_image(svg)) == [LINK]
    printed = re.search(r'<span class="poster-link">([^<]+)</span>', html).group(1)
    png = io.BytesIO()
    words.qr_code(printed).save(png, kind="png", scale=8)
    assert _decode(Image.open(io.BytesIO(png.getvalue()))) == [LINK]
    assert words.qr_code(printed).error == "M"


def test_the_pdf_is_one_a4_page_whose_qr_code_decodes_to_the_link(lead):
    r = lead.get("/organisations/Y00001/poster.pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == 'attachment; filename="poster-Y00001.pdf"'
    pdf = pypdfium2.PdfDocument(r.content)
    assert len(pdf) == 1
    width, height = pdf[0].get_size()
    assert (round(width * 25.4 / 72), round(height * 25.4 / 72)) == (210, 297)  # mm
    assert _decode(pdf[0].render(scale=2).to_pil()) == [LINK]
    text = _pdf_text(r.content)
    assert "0300 123 4567" in text and "07700 900123" in text and LINK in text
    assert all(" ".join(line.split()) in text for line in words.FIRST_AID)
    assert "Download the poster" not in text and "Sign out" not in text


def test_each_organisation_gets_its_own_link(lead):
    r = lead.get("/organisations/fa001/poster.pdf")  # the code as typed: the poster is the organisation's
    assert _decode(pypdfium2.PdfDocument(r.content)[0].render(scale=2).to_pil()) == [f"{PUBLIC}/chat?org=FA001"]


def test_the_index_lists_every_organisation_with_its_two_links(lead):
    html = lead.get("/organisations/posters").text
    for code in ("Y00001", "FA001", "FED01"):
        assert f'href="/organisations/{code}/poster"' in html and f'href="/organisations/{code}/poster.pdf"' in html
    assert "North Federation" in html


def test_an_admin_may_make_posters(browsers, orgs):
    admin = browsers("admin")
    assert admin.get("/organisations/posters").status_code == 200
    assert admin.get("/organisations/FED01/poster").status_code == 200


@pytest.mark.parametrize("role", ["manager", "practitioner"])
def test_managers_and_practitioners_are_refused(browsers, orgs, role):
    client = browsers(role, orgs[0].id if role == "manager" else None)
    for path in ("/organisations/posters", "/organisations/Y00001/poster", "/organisations/Y00001/poster.pdf"):
        r = client.get(path)
        assert r.status_code == 403 and "Posters are made by clinical leads and admins." in r.text


def test_an_unknown_organisation_is_a_404_page(lead):
    for path in ("/organisations/NOPE1/poster", "/organisations/NOPE1/poster.pdf"):
        r = lead.get(path)
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
        assert "There is nothing at this address." in r.text


def test_signed_out_goes_to_sign_in(anon, orgs):
    r = anon.get("/organisations/Y00001/poster.pdf", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


# --- when the helpline's numbers are not set ----------------------------------------------------------------

def test_with_no_numbers_the_preview_says_so_and_no_pdf_is_made(app, settings, lead):
    app.state.settings = settings.model_copy(update={"helpline_phone_number": "", "helpline_sms_number": "",
                                                     "twilio_from_number": ""})
    page = lead.get("/organisations/Y00001/poster")
    assert page.status_code == 200
    assert 'id="no-numbers"' in page.text and "No phone or text number is set" in page.text
    assert "poster.pdf" not in page.text.split('id="no-numbers"')[1].split("</div>")[0]
    refused = lead.get("/organisations/Y00001/poster.pdf")
    assert refused.status_code == 409 and refused.headers["content-type"].startswith("text/html")
    assert "cannot be printed yet" in refused.text and "HELPLINE_PHONE_NUMBER" in refused.text


def test_with_one_number_the_poster_gives_that_one_and_the_preview_says_which_is_missing(app, settings, lead):
    app.state.settings = settings.model_copy(update={"helpline_sms_number": "", "twilio_from_number": ""})
    page = lead.get("/organisations/Y00001/poster").text
    assert 'id="no-sms"' in page and 'id="no-phone"' not in page and "sms:" not in page
    r = lead.get("/organisations/Y00001/poster.pdf")
    assert r.status_code == 200
    text = _pdf_text(r.content)
    assert "0300 123 4567" in text and "No text number" not in text
