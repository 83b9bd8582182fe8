#!/usr/bin/env python3
"""Seed inputs for fuzz/fuzz_h2: what a server sends on a connection
where the client opened streams 1, 3 and 5.  The first byte of each
seed chooses how the target cuts the rest into reads.

    fuzz/make-h2-seeds.py fuzz/corpus/h2
"""
import os
import struct
import sys

DATA, HEADERS, RST, SETTINGS, PING, GOAWAY, WINDOW, CONT = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream) + payload


def lit(index, value):
    """A literal field without indexing, name from the static table."""
    v = value.encode()
    assert len(v) < 127
    if index < 15:
        first = bytes([index])
    else:
        first = bytes([0x0f, index - 15])
    return first + bytes([len(v)]) + v


def lit_new(name, value):
    n, v = name.encode(), value.encode()
    return b"\x00" + bytes([len(n)]) + n + bytes([len(v)]) + v


STATUS_200 = b"\x88"     # static table 8
STATUS_500 = b"\x8e"     # static table 14
CT = 31                  # content-type


def head(stream, status=STATUS_200, ctype="application/json", end=False,
         extra=b""):
    block = status + lit(CT, ctype) + extra
    return frame(HEADERS, END_HEADERS | (END_STREAM if end else 0), stream,
                 block)


def data(stream, body, end=False):
    return frame(DATA, END_STREAM if end else 0, stream, body.encode())


PREFACE = frame(SETTINGS, 0, 0, struct.pack(">HI", 3, 100)) + \
    frame(SETTINGS, ACK, 0)

SSE = ["data: {\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"%d\"}}]}\n\n" % i
       for i in range(3)]

SEEDS = {
    "unary": PREFACE + head(1) + data(1, "{\"id\":\"a\"}", end=True),
    "three": PREFACE + head(1) + head(3, ctype="text/event-stream") +
    data(3, SSE[0]) + head(5) + data(1, "{\"x\":", ) + data(3, SSE[1]) +
    data(1, "1}", end=True) + data(3, SSE[2] + "data: [DONE]\n\n", end=True) +
    data(5, "{}", end=True),
    "refused": PREFACE + head(1) + frame(RST, 0, 3, struct.pack(">I", 7)) +
    data(1, "{}", end=True) + frame(RST, 0, 5, struct.pack(">I", 2)),
    "goaway": PREFACE + frame(GOAWAY, 0, 0, struct.pack(">II", 1, 0)) +
    head(1, end=False) + data(1, "{}", end=True),
    "continuation": PREFACE + frame(HEADERS, 0, 1, STATUS_200) +
    frame(CONT, END_HEADERS, 1, lit(CT, "application/json") +
          lit_new("x-a", "b")) + data(1, "{}", end=True),
    "interim": PREFACE + frame(HEADERS, END_HEADERS, 1, b"\x08\x03100") +
    head(1) + data(1, "{}", end=True),
    "misc": PREFACE + frame(PING, 0, 0, b"12345678") +
    frame(WINDOW, 0, 0, struct.pack(">I", 1000)) + head(1, STATUS_500) +
    data(1, "no secret for ID", end=True) + head(3, end=True) +
    frame(RST, 0, 5, struct.pack(">I", 8)),
    "trailers": PREFACE + head(1) + data(1, "{}") +
    frame(HEADERS, END_HEADERS | END_STREAM, 1, lit_new("x-trailer", "1")),
}

out = sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus/h2"
os.makedirs(out, exist_ok=True)
for i, (name, body) in enumerate(sorted(SEEDS.items())):
    for cut in (0, 1, 13):
        with open(os.path.join(out, "%s-%d" % (name, cut)), "wb") as f:
            f.write(bytes([cut]) + body)
