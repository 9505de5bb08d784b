"""Length-prefixed framing of ISO 8583 messages on a byte stream (TCP).

ISO 8583 says nothing about where one message ends on a socket; card networks put a two-byte big-endian length
before each message, and so do Kleline and ``kleline bank serve``. Sans-I/O: ``frame`` turns a message into bytes to
send, ``FrameReader`` turns whatever bytes arrive (in any chunks) back into whole messages.
"""

from __future__ import annotations

from typing import Final

from kleline.banks.errors import MalformedMessage

__all__ = ["HEADER_SIZE", "MAX_MESSAGE", "FrameReader", "frame"]

HEADER_SIZE: Final = 2
MAX_MESSAGE: Final = 0xFFFF


def frame(message: bytes) -> bytes:
    """``message`` with its two-byte length in front; an empty or oversized message is refused."""
    if not 0 < len(message) <= MAX_MESSAGE:
        raise MalformedMessage(f"a framed message is 1 to {MAX_MESSAGE} bytes, not {len(message)}")
    return len(message).to_bytes(HEADER_SIZE, "big") + message


class FrameReader:
    """Collects received bytes and hands back every complete message, in order."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Add ``data``; return the messages it completed (a zero length prefix is ``MalformedMessage``)."""
        self._buffer += data
        messages = []
        while len(self._buffer) >= HEADER_SIZE:
            size = int.from_bytes(self._buffer[:HEADER_SIZE], "big")
            if size == 0:
                raise MalformedMessage("a frame announced an empty message")
            if len(self._buffer) < HEADER_SIZE + size:
                break
            messages.append(bytes(self._buffer[HEADER_SIZE : HEADER_SIZE + size]))
            del self._buffer[: HEADER_SIZE + size]
        return messages

    @property
    def pending(self) -> int:
        """Bytes received that do not yet make a whole message."""
        return len(self._buffer)
