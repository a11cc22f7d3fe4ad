"""Writes a copy of an artifact without the sections of the given kinds,
as an older compiler would have written it: the table's entries for them
removed (the bytes stay, unreferenced), count, size and checksum fixed.

Usage: strip_sections.py IN.kiln OUT.kiln KIND...
"""

import struct
import sys

MASK = (1 << 64) - 1
P1, P2, P3, P4, P5 = (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F,
                      0x165667B19E3779F9, 0x85EBCA77C2B2AE63,
                      0x27D4EB2F165667C5)


def rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & MASK


def round_(acc, lane):
    return rotl((acc + lane * P2) & MASK, 31) * P1 & MASK


def xxh64(data):
    n = len(data)
    i = 0
    if n >= 32:
        v = [(P1 + P2) & MASK, P2, 0, (-P1) & MASK]
        while i + 32 <= n:
            for k in range(4):
                v[k] = round_(v[k], struct.unpack_from("<Q", data, i + 8 * k)[0])
            i += 32
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & MASK
        for k in range(4):
            h = ((h ^ round_(0, v[k])) * P1 + P4) & MASK
    else:
        h = P5
    h = (h + n) & MASK
    while i + 8 <= n:
        h ^= round_(0, struct.unpack_from("<Q", data, i)[0])
        h = (rotl(h, 27) * P1 + P4) & MASK
        i += 8
    if i + 4 <= n:
        h ^= struct.unpack_from("<I", data, i)[0] * P1 & MASK
        h = (rotl(h, 23) * P2 + P3) & MASK
        i += 4
    while i < n:
        h ^= data[i] * P5 & MASK
        h = rotl(h, 11) * P1 & MASK
        i += 1
    h ^= h >> 33
    h = h * P2 & MASK
    h ^= h >> 29
    h = h * P3 & MASK
    h ^= h >> 32
    return h


def main():
    data = bytearray(open(sys.argv[1], "rb").read())
    kinds = {int(k) for k in sys.argv[3:]}
    count, = struct.unpack_from("<I", data, 24)
    table, = struct.unpack_from("<Q", data, 32)
    entries = [bytes(data[table + 32 * i: table + 32 * (i + 1)])
               for i in range(count)]
    kept = [e for e in entries if struct.unpack_from("<I", e)[0] not in kinds]
    for i in range(count):
        data[table + 32 * i: table + 32 * (i + 1)] = \
            kept[i] if i < len(kept) else bytes(32)
    struct.pack_into("<I", data, 24, len(kept))
    struct.pack_into("<Q", data, 40, xxh64(bytes(data[64:])))
    open(sys.argv[2], "wb").write(data)


main()
