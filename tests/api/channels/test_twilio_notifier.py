"""Pages by text through the twilio REST Client, against a local fake of Twilio's API."""
from __future__ import annotations

import base64
import http.server
import json
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select

from api.channels.twilio_notifier import TwilioNotifier
from api.main import create_app
from api.models import CaseEvent, OutboxMessage
from api.notifier import LogNotifier, NotifierError
from api.services import cases, outbox
from tests.api.channels.conftest import PUBLIC, TWILIO_TOKEN
from tests.api.factories import HIV_NEEDLESTICK, standard_rota

ACCOUNT = "AC" + "1" * 32
FROM = "+441134960000"


class FakeTwilio(http.server.ThreadingHTTPServer):
    """POST /2010-04-01/Accounts/{sid}/Messages.json, as Twilio answers it."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.daemon_threads = True
        self.requests: list[dict] = []
        self.fail_with: tuple[int, dict] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: FakeTwilio

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        self.server.requests.append({"path": self.path, "form": form, "auth": self.headers.get("Authorization"),
                                     "user_agent": self.headers.get("User-Agent")})
        if self.server.fail_with:
            status, body = self.server.fail_with
        else:
            n = len(self.server.requests)
            status, body = 201, {"sid": f"SM{n:032d}", "status": "queued", "to": form.get("To"),
                                 "from": form.get("From"), "body": form.get("Body"), "account_sid": ACCOUNT,
                                 "num_segments": "1", "direction": "outbound-api"}
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    server = FakeTwilio()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def twilio_settings(settings):
    return settings.model_copy(update={"twilio_account_sid": ACCOUNT, "twilio_from_number": FROM})


def test_send_sms_posts_what_twilio_expects(twilio_settings, fake_twilio):
    notifier = TwilioNotifier(twilio_settings, api_base_url=fake_twilio.url)
    delivery = notifier.send_sms(to="+447700900201", body="OH HELPLINE EMERGENCY SH-000001 ...")
    assert delivery.provider_sid == "SM" + "0" * 31 + "1" and delivery.logged_only is False
    (request,) = fake_twilio.requests
    assert request["path"] == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert request["form"] == {"To": "+447700900201", "From": FROM, "Body": "OH HELPLINE EMERGENCY SH-000001 ...",
                               "StatusCallback": f"{PUBLIC}/twilio/status"}
    assert request["auth"] == "Basic " + base64.b64encode(f"{ACCOUNT}:{TWILIO_TOKEN}".encode()).decode()
    assert "twilio-python" in request["user_agent"]


def test_twilio_error_is_a_notifier_error(twilio_settings, fake_twilio):
    fake_twilio.fail_with = (400, {"code": 21211, "message": "The 'To' number is not a valid phone number.",
                                   "status": 400, "more_info": "https://www.twilio.com/docs/errors/21211"})
    with pytest.raises(NotifierError, match=r"21211|not a valid phone number"):
        TwilioNotifier(twilio_settings, api_base_url=fake_twilio.url).send_sms(to="+44", body="x")


def test_network_failure_is_a_notifier_error(twilio_settings):
    with pytest.raises(NotifierError):
        TwilioNotifier(twilio_settings, api_base_url="http://127.0.0.1:9").send_sms(to="+447700900201", body="x")


def test_create_app_picks_twilio_only_when_configured(settings, twilio_settings, clock):
    assert isinstance(create_app(settings, clock=clock).state.notifier, LogNotifier)
    assert isinstance(create_app(twilio_settings, clock=clock).state.notifier, TwilioNotifier)


def test_a_page_goes_out_by_text_and_its_delivery_comes_back(twilio_settings, fake_twilio, session_factory,
                                                             clock, twilio):
    notifier = TwilioNotifier(twilio_settings, api_base_url=fake_twilio.url)
    with session_factory() as s:
        people = standard_rota(s, now=clock.now)
        case = cases.create(s, data={"line": "sharps", "channel": "sms", "contact": {"phone": "+447700900555"},
                                     "answers": HIV_NEEDLESTICK}, now=clock.now, settings=twilio_settings)
        s.commit()
        assert outbox.deliver_pending(s, notifier, now=clock.now) == 1
        row = s.scalar(select(OutboxMessage))
        assert row.status == "sent" and row.provider_sid == "SM" + "0" * 31 + "1"
    (request,) = fake_twilio.requests
    assert request["form"]["To"] == people["primary"].mobile
    assert f"Reply ACK {case.ref}" in request["form"]["Body"]
    assert request["form"]["StatusCallback"] == f"{PUBLIC}/twilio/status"

    # Twilio reports delivery to the signed status callback.
    response = twilio.post("/twilio/status", {"MessageSid": row.provider_sid, "MessageStatus": "delivered",
                                              "AccountSid": ACCOUNT, "To": people["primary"].mobile})
    assert response.status_code == 204
    with session_factory() as s:
        (event,) = [e for e in s.scalars(select(CaseEvent)) if e.type == "page_delivery"]
        assert event.description == "page text to Alex Primary: delivered"


def test_a_failed_send_stays_queued_for_the_next_tick(twilio_settings, fake_twilio, session_factory, clock):
    fake_twilio.fail_with = (429, {"code": 20429, "message": "Too Many Requests", "status": 429})
    notifier = TwilioNotifier(twilio_settings, api_base_url=fake_twilio.url)
    with session_factory() as s:
        standard_rota(s, now=clock.now)
        cases.create(s, data={"line": "sharps", "answers": HIV_NEEDLESTICK}, now=clock.now, settings=twilio_settings)
        s.commit()
        assert outbox.deliver_pending(s, notifier, now=clock.now) == 0
        row = s.scalar(select(OutboxMessage))
        assert row.status == "queued" and row.attempts == 1 and row.error
