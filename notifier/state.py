"""What the notifier's routes share in a process, typed: built by notifier.bootstrap, read with
`notifier_state`."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from notifier.channels import Channel
from notifier.reading import TopicFollower
from notifier.signals import Broadcast
from notifier.store.repo import SubscriptionCache
from notifier.worker import DeliveryWorker
from services.runtime import part_state


@dataclass(frozen=True)
class NotifierState:
    channels: dict[str, Channel]  # by name: what a subscription may choose
    worker: DeliveryWorker
    broadcast: Broadcast  # wakes the server-sent event streams when events are taken in
    subscriptions: SubscriptionCache
    topics: TopicFollower  # which department topics are read: told when subscriptions change, streams open


def notifier_state(request: Request) -> NotifierState:
    """The notifier's state in the app serving the request."""
    return part_state(request, "notifier", NotifierState)
