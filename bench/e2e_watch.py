"""The end-to-end bench's observer, in a process of its own so the load generator's CPU does not delay it.

Reads, as a department system and a dashboard would, with a raw aiokafka consumer:
  * `dispatch.<department>.v1`: the first primary dispatch of each case  → line `d <case id> <unix time>`
  * `case-events.v1`: the tracker's first dispatched (or gap) transition → line `t <case id> <unix time>` (a
    case.changed event carries a transaction's transitions; an event of before it, one transition)
Lines are appended to the output file after every poll, so the bench reads them as they come.

    python -m bench.e2e_watch --bootstrap 127.0.0.1:9092 --prefix bench-x. --out /tmp/seen.txt
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import time

import orjson
from aiokafka import AIOKafkaConsumer

_DISPATCH = re.compile(r"dispatch\..+\.v1")
SETTLED = frozenset({"dispatched", "gap", "duplicate"})  # the tracker's answer to a routing decision


async def watch(bootstrap: str, prefix: str, out: str) -> None:
    escaped = re.escape(prefix)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=f"{prefix}bench-watch", auto_offset_reset="earliest",
        enable_auto_commit=False, metadata_max_age_ms=500, max_poll_records=2000, fetch_max_wait_ms=20,
    )
    consumer.subscribe(pattern=rf"^{escaped}(dispatch\..+\.v1|case-events\.v1)$")
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    loop.add_signal_handler(signal.SIGINT, stopping.set)
    await consumer.start()
    dispatched: set[str] = set()
    settled: set[str] = set()
    with open(out, "a", buffering=1 << 16) as sink:  # noqa: ASYNC230 - a local file, written in small pieces
        sink.write(f"ready - {time.time()}\n")
        sink.flush()
        try:
            while not stopping.is_set():
                batches = await consumer.getmany(timeout_ms=100, max_records=2000)
                now = time.time()
                for tp, records in batches.items():
                    short = tp.topic[len(prefix):]
                    for record in records:
                        case_id = record.key.decode() if record.key else ""
                        value = record.value or b""
                        if _DISPATCH.fullmatch(short):
                            if case_id not in dispatched and b'"role":"primary"' in value:
                                dispatched.add(case_id)
                                sink.write(f"d {case_id} {now}\n")
                        elif case_id not in settled:
                            data = orjson.loads(value).get("data", {})
                            if any(t.get("to_status") in SETTLED for t in data.get("transitions") or [data]):
                                settled.add(case_id)
                                sink.write(f"t {case_id} {now}\n")
                if batches:
                    sink.flush()
        finally:
            await consumer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    asyncio.run(watch(args.bootstrap, args.prefix, args.out))


if __name__ == "__main__":
    main()
