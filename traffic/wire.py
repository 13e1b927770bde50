"""Frames between a generator child process and its parent (the child's stdout). Pure.

Every answer the child records goes to the parent as a fixed-size binary record (no text
formatting, no pickling: one struct.pack per answer, one unpack per answer on the other
side), batched into a frame every few tens of milliseconds. Floats go as doubles, so the
parent's samples are the child's exactly. Replica names and error texts are sent once each
and then referred to by number.

A frame is one kind byte, the payload's length (4 bytes, little-endian), the payload.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator

from traffic.sample import Sample

HEADER = struct.Struct("<cI")
# scheduled, send delay, latency, status, body bytes, replica (name number), error (name number), user
RECORD = struct.Struct("<dddHQIII")
IN_FLIGHT = struct.Struct("<dI")  # scheduled offset, user
LAG = struct.Struct("<d")
NAME = struct.Struct("<I")

SAMPLES, NAMES, IN_FLIGHT_NOW, LATE_WAKE, READY, DONE, FAILED = (b"S", b"N", b"F", b"L", b"R", b"D", b"E")


def frame(kind: bytes, payload: bytes = b"") -> bytes:
    return HEADER.pack(kind, len(payload)) + payload


class Encoder:
    """The child's side: `record` each answer, `take` the frames to write so far."""

    def __init__(self) -> None:
        self._names: dict[str, int] = {"": 0}
        self._new_names = bytearray()
        self._records = bytearray()
        self._pack = RECORD.pack
        self.answered = 0

    def _name(self, text: str) -> int:
        number = self._names.get(text)
        if number is None:
            number = self._names[text] = len(self._names)
            self._new_names += frame(NAMES, NAME.pack(number) + text.encode())
        return number

    def record(self, sample: Sample) -> None:
        s = sample
        self.answered += 1
        replica = self._names.get(s.replica)
        if replica is None:
            replica = self._name(s.replica)
        error = self._name(s.error) if s.error else 0
        self._records += self._pack(s.scheduled, s.send_delay, s.latency, s.status, s.bytes, replica, error, s.user)

    def take(self) -> bytes:
        """Names first (a record may refer to them), then the records: one write's worth."""
        out = bytes(self._new_names)
        if self._records:
            out += frame(SAMPLES, bytes(self._records))
        self._new_names.clear()
        self._records.clear()
        return out


def in_flight_frame(entries: list[tuple[float, int]]) -> bytes:
    return frame(IN_FLIGHT_NOW, b"".join(IN_FLIGHT.pack(at, user) for at, user in entries))


def lag_frame(lag_s: float) -> bytes:
    return frame(LATE_WAKE, LAG.pack(lag_s))


def done_frame(sent: int, answered: int) -> bytes:
    return frame(DONE, json.dumps({"sent": sent, "answered": answered}).encode())


def failed_frame(message: str) -> bytes:
    return frame(FAILED, message.encode(errors="replace"))


class Decoder:
    """The parent's side: `feed` bytes as the pipe gives them, get whole frames back."""

    def __init__(self) -> None:
        self._buf = b""
        self.names: dict[int, str] = {0: ""}

    def feed(self, data: bytes) -> Iterator[tuple[bytes, bytes]]:
        """(kind, payload) of each frame completed by `data`; NAMES frames are kept, not yielded."""
        buf = self._buf + data if self._buf else data
        at, size = 0, HEADER.size
        while len(buf) - at >= size:
            kind, length = HEADER.unpack_from(buf, at)
            if len(buf) - at - size < length:
                break
            payload = buf[at + size : at + size + length]
            at += size + length
            if kind == NAMES:
                self.names[NAME.unpack_from(payload)[0]] = payload[NAME.size :].decode()
            else:
                yield kind, payload
        self._buf = buf[at:]

    def samples(self, payload: bytes) -> Iterator[Sample]:
        names = self.names
        for scheduled, delay, latency, status, size, replica, error, user in RECORD.iter_unpack(payload):
            yield Sample(scheduled, delay, latency, status, size, names[replica], user, names[error])

    @staticmethod
    def in_flight(payload: bytes) -> list[tuple[float, int]]:
        return list(IN_FLIGHT.iter_unpack(payload))

    @staticmethod
    def lag(payload: bytes) -> float:
        return float(LAG.unpack(payload)[0])

    @staticmethod
    def done(payload: bytes) -> tuple[int, int]:
        counts = json.loads(payload)
        return int(counts["sent"]), int(counts["answered"])

    @property
    def pending(self) -> int:
        """Bytes of a frame not complete yet (a child that stops here was cut off mid-frame)."""
        return len(self._buf)
