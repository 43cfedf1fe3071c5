"""The messages between the leader process and its sender child (:mod:`bot.sender_process`, :mod:`bot.sender_child`).

One Unix stream socket, each message a 4-byte big-endian length and a pickled tuple whose first item names it.
Only the two ends of a ``socketpair`` made by one process read it, so pickle's trust in its input holds.

Parent to child: ``("config", dict)`` first (settings, database URL, options: never in argv or the
environment), then ``("lease", proven_until)`` (monotonic; 0 once no longer the leader), ``("wake",)``,
``("recorded", [row ids])`` and ``("stop",)``. Child to parent: ``("ready",)`` once connected to the Bot API, and
``("outcomes", [(row id, chat id, Outcome)])``.
"""

from __future__ import annotations

import asyncio
import pickle
import socket
import struct
from typing import Any

_HEADER = struct.Struct(">I")

BUG_EXIT = 3
"""The child's exit status when its sender died of a bug (not an outage): the leader process goes down too."""


def encode(message: tuple[Any, ...]) -> bytes:
    """One framed message."""
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(body)) + body


async def receive(reader: asyncio.StreamReader) -> tuple[Any, ...] | None:
    """The next message, or None at the end of the stream (the other end is gone)."""
    try:
        header = await reader.readexactly(_HEADER.size)
        body = await reader.readexactly(_HEADER.unpack(header)[0])
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    message = pickle.loads(body)
    assert isinstance(message, tuple)
    return message


def receive_blocking(sock: socket.socket) -> tuple[Any, ...] | None:
    """The next message read without an event loop (the child's configuration), or None at the end."""
    def exactly(n: int) -> bytes | None:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    header = exactly(_HEADER.size)
    body = exactly(_HEADER.unpack(header)[0]) if header is not None else None
    if body is None:
        return None
    message = pickle.loads(body)
    assert isinstance(message, tuple)
    return message
