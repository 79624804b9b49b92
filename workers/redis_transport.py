"""kombu's Redis transport, made to survive Redis going away while a worker holds unacknowledged messages.

When the broker connection breaks, Celery closes it twice; the second close tries to give the unacknowledged
messages (our ETA tasks, which a worker holds until their time) back to Redis through a connection that is
already torn down, and kombu 5.7 raises AttributeError ("'NoneType' object has no attribute 'hostname'"),
which Celery treats as unrecoverable: the worker exits. Here that failed restore is logged and the worker
reconnects instead. Nothing is lost by it: the messages stay in Redis' unacked set (restored after the
visibility timeout), every consumer start re-queues the upcoming timers, and the sweep fires whatever is due.
"""
from __future__ import annotations

import logging

from kombu.transport import redis

log = logging.getLogger(__name__)


class QoS(redis.QoS):
    def restore_unacked_once(self, stderr=None):
        try:
            return super().restore_unacked_once(stderr)
        except AttributeError as exc:  # the connection is gone already (see the module docstring)
            log.warning("could not hand unacknowledged messages back to Redis (%s); the sweep and the "
                        "re-scheduling at reconnect cover them", exc)
            return None


class Channel(redis.Channel):
    QoS = QoS


class Transport(redis.Transport):
    Channel = Channel
