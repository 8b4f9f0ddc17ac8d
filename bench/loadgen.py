"""A small open-loop HTTP/1.1 load generator: requests start on schedule whatever earlier ones did.

Closed-loop clients wait for a response before the next request and so hide queueing (coordinated
omission); here each request's latency counts from the moment it was due. Keep-alive connections are
plain asyncio streams, so the generator itself costs little CPU next to the server it measures.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(0, round(q / 100 * len(ordered)) - 1)] if ordered else float("nan")


class _Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.body = b""

    async def request(self, raw: bytes) -> int:
        """Send one request and read its answer; the status is returned, the body kept in `self.body`."""
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        self.body = await self.reader.readexactly(length) if length else b""
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _lines(headers: dict[str, str] | None) -> str:
    return "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())


def get(path: str, host: str = "127.0.0.1", headers: dict[str, str] | None = None) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{_lines(headers)}\r\n".encode()


def post_json(path: str, body: bytes, host: str = "127.0.0.1", headers: dict[str, str] | None = None) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{_lines(headers)}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def open_loop(host: str, port: int, make_request: Callable[[int], bytes], *, rate: float, seconds: float,
                    connections: int = 64,
                    on_done: Callable[[int, int, float, bytes], None] | None = None) -> LoadResult:
    """Send rate × seconds requests at a fixed rate over a pool of keep-alive connections.

    `on_done(index, status, latency, body)` sees each answer as it arrives (e.g. to take a case id from it).
    """
    result = LoadResult()
    pool: asyncio.Queue[_Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(_Connection(host, port))

    async def one(index: int, due: float) -> None:
        connection = await pool.get()  # waiting here is queueing, and it counts
        body = b""
        try:
            status = await connection.request(make_request(index))
            body = connection.body
            result.statuses[status] = result.statuses.get(status, 0) + 1
        except (OSError, asyncio.IncompleteReadError, ValueError):
            result.errors += 1
            connection.close()
            connection = _Connection(host, port)
            status = 0
        finally:
            pool.put_nowait(connection)
        latency = time.perf_counter() - due
        result.latencies.append(latency)
        if on_done is not None:
            on_done(index, status, latency, body)

    total = int(rate * seconds)
    start = time.perf_counter()
    tasks = []
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        pool.get_nowait().close()
    return result
