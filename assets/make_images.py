#!/usr/bin/env python3
"""Draws the default pictures (icon.png, card.png): an on-air dot with radio rings on the
pages' dark ground. Standard library only; run from this folder to redraw them."""
import math
import struct
import zlib

GROUND = (22, 24, 38)
RED = (226, 59, 59)
RING = (120, 128, 160)


def draw(width, height, cx, cy, r):
    rows = []
    for y in range(height):
        row = bytearray([0])  # PNG filter: none
        for x in range(width):
            d = math.hypot(x - cx, y - cy)
            colour = GROUND
            if d <= r:
                colour = RED
            else:
                # Three rings, each a band of 0.22 r, fading outwards.
                for i, fade in ((1, 0.9), (2, 0.6), (3, 0.35)):
                    if abs(d - r * (1 + 0.75 * i)) <= r * 0.11:
                        colour = tuple(round(g + (c - g) * fade) for g, c in zip(GROUND, RING))
            row += bytes(colour)
        rows.append(bytes(row))
    return rows


def png(path, width, height, rows):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = zlib.compress(b"".join(rows), 9)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b""))


png("icon.png", 400, 400, draw(400, 400, 200, 200, 48))
png("card.png", 1200, 630, draw(1200, 630, 600, 315, 70))
