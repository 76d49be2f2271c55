"""The coalescing transport under uvicorn's protocol (app/http_transport.py).

Its invariants (module docstring): "Bytes reach the socket in the order they were written, and
none later than the end of the loop turn in which they were written"; "At most `FLUSH_AT` bytes
wait"; "Closing, or half-closing, writes what waits first; aborting drops it".
"""

from __future__ import annotations

import asyncio

from typing_extensions import override

from bastion.app.http_transport import FLUSH_AT, CoalescingTransport


class RecordingTransport(asyncio.Transport):
    """A stand-in for uvloop's socket transport: records each write (one `send` each)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    @override
    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    @override
    def is_closing(self) -> bool:
        return self.closed or self.aborted

    @override
    def close(self) -> None:
        self.closed = True

    @override
    def abort(self) -> None:
        self.aborted = True

    @override
    def get_write_buffer_size(self) -> int:
        return 0


async def test_head_and_body_of_a_response_go_out_in_one_write() -> None:
    real = RecordingTransport()
    transport = CoalescingTransport(real, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(bytearray(b"{}"))
    assert real.writes == []  # not before the end of this turn
    assert transport.get_write_buffer_size() == 21
    await asyncio.sleep(0)  # the loop turns once
    assert real.writes == [b"HTTP/1.1 200 OK\r\n\r\n{}"]
    transport.write(b"next")
    await asyncio.sleep(0)
    assert real.writes[1:] == [b"next"]


async def test_a_big_body_is_written_at_once() -> None:
    real = RecordingTransport()
    transport = CoalescingTransport(real, asyncio.get_running_loop())
    transport.write(b"head")
    transport.write(b"x" * FLUSH_AT)
    assert real.writes == [b"head" + b"x" * FLUSH_AT]
    await asyncio.sleep(0)
    assert len(real.writes) == 1


async def test_close_writes_what_waits_and_abort_drops_it() -> None:
    real = RecordingTransport()
    transport = CoalescingTransport(real, asyncio.get_running_loop())
    transport.write(b"last words")
    transport.close()
    assert (real.writes, real.closed) == ([b"last words"], True)

    other = RecordingTransport()
    transport = CoalescingTransport(other, asyncio.get_running_loop())
    transport.write(b"never sent")
    transport.abort()
    await asyncio.sleep(0)
    assert (other.writes, other.aborted) == ([], True)
