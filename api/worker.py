"""Fires what is due: held pages, overdue acknowledgement deadlines, follow-up reminders and
overdue alerts, queued texts; and recovers what a dead process or a database outage left half done.

Deadlines live in the database, so a restarted process fires whatever fell due while it
was down on its first tick. Every row is claimed atomically, so several processes can
run this loop against one database without paging twice. Each step is guarded on its
own: a spool file the database refuses, or a recovery that fails, never stops paging.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from api.core import metrics
from api.core.config import Settings
from api.notifier import Notifier
from api.services import follow_ups, outbox, paging, recovery, spool

log = logging.getLogger("helpline.worker")


class TickFailed(RuntimeError):
    """One or more steps of a tick failed (each was logged); the others ran."""


@dataclass
class DeadlineWorker:
    session_factory: sessionmaker[Session]
    settings: Settings
    notifier: Notifier
    clock: Callable[[], datetime]

    def tick(self) -> dict[str, int]:
        """Every step, in order, each in its own session; raises TickFailed after the last if any failed."""
        steps: list[tuple[str, Callable[[], int]]] = [
            ("spool", self._replay_spool),  # messages kept while the database was down
            ("stale_turns", self._finish_stale_turns),
            ("stale_sending", self._reclaim_sending),
            ("released", self._release_held),
            ("escalated", self._escalate),
            # Follow-up texts (issue #18) before delivery, so they go out in the same tick.
            ("reminders", self._remind),
            ("overdue_alerts", self._alert_overdue),
            ("delivered", self._deliver),
        ]
        done: dict[str, int] = {}
        failed = []
        for name, step in steps:
            try:
                done[name] = step()
            except Exception:
                failed.append(name)
                metrics.WORKER_STEPS.labels(name).inc()
                log.exception("worker step %s failed", name, extra={"step": name})
        if done.get("released") or done.get("escalated"):
            log.info("worker: %s held pages released, %s rounds escalated", done.get("released"), done.get("escalated"))
        if failed:
            raise TickFailed(", ".join(failed))
        return done

    def _replay_spool(self) -> int:
        return spool.replay(self.session_factory, self.settings, self.clock)

    def _finish_stale_turns(self) -> int:
        with self.session_factory() as session:
            return recovery.finish_stale_turns(session, self.settings, self.clock)

    def _reclaim_sending(self) -> int:
        with self.session_factory() as session:
            return outbox.reclaim_stale(session, now=self.clock(), lease_seconds=self.settings.sending_lease_seconds)

    def _release_held(self) -> int:
        with self.session_factory() as session:
            released = paging.release_scheduled(session, now=self.clock(), settings=self.settings)
            session.commit()
            return released

    def _escalate(self) -> int:
        with self.session_factory() as session:
            escalated = paging.fire_overdue(session, now=self.clock(), settings=self.settings)
            session.commit()
            return escalated

    def _remind(self) -> int:
        with self.session_factory() as session:
            sent = follow_ups.send_due_reminders(session, settings=self.settings, now=self.clock())
            session.commit()
            return sent

    def _alert_overdue(self) -> int:
        with self.session_factory() as session:
            alerted = follow_ups.alert_overdue(session, settings=self.settings, now=self.clock())
            session.commit()
            return alerted

    def _deliver(self) -> int:
        with self.session_factory() as session:
            return outbox.deliver_pending(session, self.notifier, now=self.clock())

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.tick)
                metrics.WORKER_TICKS.labels("ok").inc()
            except Exception:  # keep the loop alive: a database blip must not stop paging
                metrics.WORKER_TICKS.labels("error").inc()
                log.warning("worker tick had failures; retrying")
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.settings.worker_interval_seconds)
            except TimeoutError:
                pass
