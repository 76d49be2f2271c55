"""uvicorn's httptools protocol, writing each response with one system call instead of two.

uvicorn writes a response's status line and headers when the app sends `http.response.start`,
and the body when it sends `http.response.body`: two `write`s, which uvloop turns into two
`send` system calls and, on a keep-alive connection with TCP_NODELAY, two TCP segments. For the
small JSON answers of a woken /sync that second call is a good part of the response's CPU.

`CoalescingHttpToolsProtocol` gives uvicorn's protocol a transport that gathers the writes made
within one turn of the event loop and hands them to the real transport together, at the end of
the turn (`call_soon`). Invariants:
- Bytes reach the socket in the order they were written, and none later than the end of the
  loop turn in which they were written (a streamed body that waits for its next chunk yields
  to the loop, so what it wrote so far is sent first).
- At most `FLUSH_AT` bytes wait: a larger gathering is written at once, so the real transport's
  flow control (pause_writing when its buffer is full) still sees a big body as it is written.
- Closing, or half-closing, writes what waits first; aborting drops it, as aborting does.
Everything else (flow control, extra info, reading) is the real transport's.
"""

from __future__ import annotations

import asyncio
from typing import Any

from typing_extensions import override
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

FLUSH_AT = 64 * 1024


class CoalescingTransport:
    """A transport proxy gathering the writes of one event loop turn into one."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._pending_bytes = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))  # a mutable buffer may change after this returns
        self._pending_bytes += len(data)
        if self._pending_bytes >= FLUSH_AT:
            self.flush()

    def writelines(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Hand what waits to the real transport."""
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending = []
        self._pending_bytes = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._pending_bytes

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending = []
        self._pending_bytes = 0
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over a `CoalescingTransport`."""

    @override
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn's own signature
        coalescing = CoalescingTransport(transport, self.loop)
        super().connection_made(coalescing)  # type: ignore[arg-type]  # a proxy of the transport
