"""A consumer's metrics: its counters exist at 0 before the first event, and every label value is bounded.

Prometheus' increase() cannot see a counter series that first appears at 1, so the dead-letter alert and the
dashboard's counters need the 0 first; a label value taken from a message or a process would be a new series
per sender or per restart.
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from router import bootstrap as router_service
from schemas.envelope import Envelope
from services.bus.base import Message, OutgoingMessage
from services.bus.memory import MemoryBus
from services.consumer import DEAD_LETTER_REASONS, ConsumerRunner, PoisonMessage, decoder_for, reason_code
from services.settings import KafkaSettings, Settings
from tests.integration.harness import running
from tests.support.consumers import run_until

pytestmark = pytest.mark.timeout(60)


def _dead_letters(group: str, topic: str, reason: str) -> float | None:
    return REGISTRY.get_sample_value("dead_letters_total", {"group": group, "topic": topic, "reason": reason})


def _label_values(metric: str, label: str, prefix: str) -> set[str]:
    return {s.labels[label] for family in REGISTRY.collect() for s in family.samples
            if s.name == metric and s.labels.get(label, "").startswith(prefix)}


_run_until = functools.partial(run_until, timeout=10.0)


async def _ignore(event: Envelope, message: Message) -> None:
    return None


async def test_dead_letter_counters_are_exposed_at_0_for_each_consumed_topic_before_any_message() -> None:
    bus = MemoryBus(partitions=1)
    runner = ConsumerRunner(group="zero-g", bus=bus, producer=bus.producer(), topics=["zero.v1"], handler=_ignore)
    assert runner.group == "zero-g"
    for reason in DEAD_LETTER_REASONS:
        assert _dead_letters("zero-g", "zero.v1", reason) == 0.0, reason
    assert REGISTRY.get_sample_value("messages_consumed_total", {"group": "zero-g", "topic": "zero.v1"}) == 0.0
    assert REGISTRY.get_sample_value("consumer_restarts_total", {"group": "zero-g"}) == 0.0

    await bus.producer().send_batch([OutgoingMessage("zero.v1", "k", b"not json")])
    await _run_until(runner, lambda: bus.messages("zero.v1.dlq"))
    assert _dead_letters("zero-g", "zero.v1", "not JSON") == 1.0  # a rise from 0, which increase() sees


async def test_topics_of_a_pattern_subscription_get_their_counters_at_0_once_assigned() -> None:
    bus = MemoryBus(partitions=1)
    await bus.ensure_topics(["pat.replies.housing.v1"])
    runner = ConsumerRunner(group="pat-g", bus=bus, producer=bus.producer(), topics=[],
                            pattern=r"pat\.replies\.[a-z-]+\.v1", handler=_ignore, stall_s=0.2)
    await _run_until(runner, lambda: _dead_letters("pat-g", "pat.replies.housing.v1", "not JSON") is not None)
    assert _dead_letters("pat-g", "pat.replies.housing.v1", "not JSON") == 0.0


async def test_reason_labels_are_a_fixed_vocabulary_whatever_the_message_says() -> None:
    bus = MemoryBus(partitions=1)

    async def handler(event: Envelope, message: Message) -> None:
        raise PoisonMessage(f"subject {event.subject!r} is not the reply's case 'C-1'")

    strange = [Envelope(source="t", type=f"caseroute.made-up-{n}", subject=f"C-{n}", data={}) for n in range(3)]
    good = Envelope(source="t", type="caseroute.demo", subject="C-X", data={})
    await bus.producer().send_batch([OutgoingMessage("voc.v1", "k", e.to_bytes()) for e in (*strange, good)])
    runner = ConsumerRunner(group="voc-g", bus=bus, producer=bus.producer(), topics=["voc.v1"], handler=handler,
                            decoder=decoder_for("caseroute.demo"))
    await _run_until(runner, lambda: len(bus.messages("voc.v1.dlq")) == 4)
    # The full reason stays in the dead letter's header; the label is its class.
    assert "caseroute.made-up-0" in (bus.messages("voc.v1.dlq")[0].header("dlq_reason") or "")
    assert _dead_letters("voc-g", "voc.v1", "unsupported type") == 3.0
    assert _dead_letters("voc-g", "voc.v1", "other") == 1.0
    assert _label_values("dead_letters_total", "reason", "") <= set(DEAD_LETTER_REASONS)


def test_reason_codes_take_the_longest_listed_first_words() -> None:
    assert reason_code("unsupported dataschema 'urn:x:v2' for type 'caseroute.x'") == "unsupported dataschema"
    assert reason_code("unsupported data: data_base64 given") == "unsupported data"
    assert reason_code("invalid catalogue haishu-2026.01.1+r3: bad unit") == "invalid catalogue"
    assert reason_code("not JSON: unexpected character") == "not JSON"
    assert reason_code("handler failed: RuntimeError('x')") == "handler failed"
    assert reason_code("not JSONish") == "other"


def _router_settings(tmp_path: Path, run: int) -> Settings:
    return Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / f'r{run}.db'}",
                    kafka=KafkaSettings(bootstrap=None), topic_prefix="labels4.", consumer_stall_s=0.2)


async def test_the_routers_per_process_catalogue_group_is_one_bounded_label_value_across_restarts(
        tmp_path: Path) -> None:
    """Each router process reads catalogue.v1 in a group of its own (…-<host>-<pid>-<random>); its metrics must
    not carry that id, or every restart adds series that nothing ever removes."""
    for run in range(2):  # two starts of the router, as after a restart
        async with running(_router_settings(tmp_path, run), [router_service.build]):
            async with asyncio.timeout(20):  # until the watchdog measured the catalogue consumer's lag
                while not _label_values("consumer_lag", "group", "labels4.router-catalogue"):
                    await asyncio.sleep(0.05)
    for metric in ("consumer_lag", "messages_consumed_total", "dead_letters_total", "consumer_restarts_total"):
        assert _label_values(metric, "group", "labels4.router-catalogue") == {"labels4.router-catalogue"}, metric
