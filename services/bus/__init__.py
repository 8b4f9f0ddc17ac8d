"""Bus: one interface (base), a Kafka adapter and an in-process adapter with the same semantics."""

from services.bus.base import Bus, BusUnavailable, Consumer, Message, OutgoingMessage, Producer

__all__ = ["Bus", "BusUnavailable", "Consumer", "Message", "OutgoingMessage", "Producer"]
