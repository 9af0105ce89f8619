"""Prometheus metrics at GET /metrics (Bearer API token required).

Why the token and not "loopback only": behind the reverse proxy every request reaches the
API from 127.0.0.1, so a loopback rule would make /metrics public. Prometheus sends the
token with `authorization: {credentials_file: ...}` in its scrape config.

Two sources make one page:
- HTTP metrics (api/core/http_metrics.py: requests and latency by route template, never a
  case reference or a phone number in a label), in a registry of the app;
- the helpline's own figures, counted by the services where the events happen (this
  module's counters and histograms, in prometheus_client's default registry, which also
  carries the process_* and python_* metrics), plus gauges read from the database at
  scrape time (outbox backlog, open cases, database up).

The services import only the counters below (no web framework); `api/routes/metrics.py` wires the rest.
Every label has a small fixed set of values (channel, outcome, line, urgency, tier).
Counters are per process: with several API processes, scrape each one (Prometheus sums).
"""

import logging
from typing import Any

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

log = logging.getLogger(__name__)

# --- the helpline's own figures (incremented in api/services and api/worker.py) ------------

TURNS = Counter(
    "helpline_turns_total", "Turns of conversation answered, by channel and how they were answered "
    "(relayed: Rasa answered; safe_answer: Rasa down or slow; handled: answered by the API itself)",
    ["channel", "outcome"],
)
RELAY_SECONDS = Histogram(
    "helpline_relay_seconds", "Time waiting for Rasa's answer to one turn (ok) or giving up on it (unavailable)",
    ["outcome"], buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 10),
)
CASES_OPENED = Counter(
    "helpline_cases_opened_total", "Cases opened, by line and the urgency tier first decided", ["line", "urgency"],
)
PAGES_SENT = Counter(
    "helpline_pages_sent_total", "Pages sent to practitioners, by ladder tier and urgency", ["tier", "urgency"],
)
ACKNOWLEDGEMENTS = Counter(
    "helpline_page_acknowledgements_total", "Pages acknowledged, by ladder tier; late = after its deadline had "
    "escalated it", ["tier", "late"],
)
ACK_SECONDS = Histogram(
    "helpline_page_ack_seconds", "From a page being sent to its acknowledgement", ["urgency"],
    buckets=(15, 30, 60, 120, 180, 300, 600, 900, 1800, 3600, 7200),
)
DEADLINES_OVERDUE = Counter(
    "helpline_deadlines_overdue_total", "Acknowledgement deadlines that passed unacknowledged (the next step "
    "was paged)", ["tier", "urgency"],
)
DEADLINE_LATENESS = Histogram(
    "helpline_deadline_lateness_seconds", "How long after an acknowledgement deadline the worker fired it",
    buckets=(0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60, 300),
)
WORKER_TICKS = Counter("helpline_worker_ticks_total", "Deadline worker ticks, by result (ok, error)", ["result"])
WORKER_STEPS = Counter("helpline_worker_step_failures_total", "Worker steps that failed (each step is guarded), "
                       "by step", ["step"])


def label(value: Any, default: str = "none") -> str:
    return str(value) if value else default


# --- read at scrape time ----------------------------------------------------------------------

class DatabaseCollector(Collector):
    """Gauges that are facts in the database, read when Prometheus scrapes (one short session)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def describe(self):  # no query at registration time
        return []

    def collect(self):
        from api.models import Case, OutboxMessage  # local: keeps this module light to import
        from api.domain.case_lifecycle import OPEN_STATUSES

        up = GaugeMetricFamily("helpline_database_up", "1 when the scrape could read the database")
        backlog = GaugeMetricFamily("helpline_outbox_backlog", "Outbound texts not yet sent, by status "
                                    "(queued, sending, failed)", labels=["status"])
        open_cases = GaugeMetricFamily("helpline_open_cases", "Cases not closed, by line and urgency tier",
                                       labels=["line", "urgency"])
        try:
            with self.app.state.session_factory() as session:
                counts = dict(session.execute(
                    select(OutboxMessage.status, func.count()).where(
                        OutboxMessage.channel == "sms", OutboxMessage.status.in_(["queued", "sending", "failed"]))
                    .group_by(OutboxMessage.status)).all())
                by_tier = session.execute(
                    select(Case.line, Case.urgency, func.count())
                    .where(Case.status.in_([str(s) for s in OPEN_STATUSES]))
                    .group_by(Case.line, Case.urgency)).all()
        except Exception as exc:  # a scrape must answer even when the database does not
            log.warning("metrics: database not readable (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        for status in ("queued", "sending", "failed"):
            backlog.add_metric([status], counts.get(status, 0))
        for line, urgency, count in by_tier:
            open_cases.add_metric([label(line), label(urgency)], count)
        yield up
        yield backlog
        yield open_cases
