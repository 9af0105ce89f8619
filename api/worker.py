"""Fires what is due: held pages, overdue acknowledgement deadlines, queued texts.

Deadlines live in the database, so a restarted process fires whatever fell due while it
was down on its first tick. Every row is claimed atomically, so several processes can
run this loop against one database without paging twice.
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
from api.services import outbox, paging, spool

log = logging.getLogger("helpline.worker")


@dataclass
class DeadlineWorker:
    session_factory: sessionmaker[Session]
    settings: Settings
    notifier: Notifier
    clock: Callable[[], datetime]

    def tick(self) -> dict[str, int]:
        spool.replay(self.session_factory, self.settings, self.clock)  # messages kept while the database was down
        now = self.clock()
        with self.session_factory() as session:
            released = paging.release_scheduled(session, now=now, settings=self.settings)
            escalated = paging.fire_overdue(session, now=now, settings=self.settings)
            session.commit()
            delivered = outbox.deliver_pending(session, self.notifier, now=self.clock())
        if released or escalated:
            log.info("worker: %s held pages released, %s rounds escalated", released, escalated)
        return {"released": released, "escalated": escalated, "delivered": delivered}

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.tick)
                metrics.WORKER_TICKS.labels("ok").inc()
            except Exception:  # keep the loop alive: a database blip must not stop paging
                metrics.WORKER_TICKS.labels("error").inc()
                log.exception("worker tick failed; retrying")
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.settings.worker_interval_seconds)
            except TimeoutError:
                pass
