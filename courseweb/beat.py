"""Celery beat that sends each scheduled job once however many beat processes run (README, "Scaling out").

Each beat ticks only while it holds a lock in Redis (the broker), renewed at every tick; another beat waits
and takes over within LOCK_SECONDS of the holder's death, sending at once what came due meanwhile. So a deploy
that starts beat on two machines does not double the ticks, and a dead machine's beat is replaced. While Redis
is down nobody holds the lock: nothing could be queued anyway.
"""

import logging
import os
import socket
import uuid

import redis
from celery.beat import PersistentScheduler

logger = logging.getLogger(__name__)

LOCK_KEY = "courseweb:beat:lock"
LOCK_SECONDS = 30
# Renew the lock only if this beat still holds it (compare and expire, atomically).
RENEW = """
if redis.call("get", KEYS[1]) == ARGV[1] then
    return redis.call("expire", KEYS[1], ARGV[2])
end
return 0
"""


class SingleBeatScheduler(PersistentScheduler):
    """A PersistentScheduler whose tick sends nothing unless this process holds the beat lock."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lock = redis.Redis.from_url(self.app.conf.broker_url, socket_timeout=2, socket_connect_timeout=2)
        self.holding = False

    def tick(self, *args, **kwargs):
        holding = self._hold_lock()
        if holding != self.holding:
            logger.warning("beat %s %s the lock", self.token, "holds" if holding else "waits for")
            self.holding = holding
        if not holding:
            return LOCK_SECONDS / 3
        return min(super().tick(*args, **kwargs), LOCK_SECONDS / 3)

    def _hold_lock(self) -> bool:
        try:
            if self.lock.set(LOCK_KEY, self.token, nx=True, ex=LOCK_SECONDS):
                return True
            return bool(self.lock.eval(RENEW, 1, LOCK_KEY, self.token, LOCK_SECONDS))
        except redis.RedisError:
            return False
