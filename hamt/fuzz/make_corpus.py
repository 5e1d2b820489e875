#!/usr/bin/env python3
"""Writes the seed corpus hamt/fuzz/corpus/ (run from anywhere; the files are committed).

Each seed is: policy byte (map_fuzzer.cc), setup byte, key-range byte, 8-byte hash base,
8 x (delta, shift), then operations (hamt/fuzz/operations.h documents the encoding).
"""
import os
import struct

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

# Case indices in hamt/fuzz/policy_cases.h (byte 0 is taken modulo the selected count; pinned by
# operations_test's CorpusPolicyIndicesAreStable).
MALLOC, CHECKED, BUMP16, RECYCLER16, RECYCLER64, FAULT_CHECKED = 0, 1, 3, 8, 9, 12
# Hash modes, value types, key ranges.
TABLE, CONSTANT, IDENTITY, HIGH, LOW, LAST_LEVEL, TWO, MIXED = range(8)
U64, STRING, TRACKED = range(3)
RANGE = {1: 0, 3: 1, 8: 2, 33: 3, 64: 4, 100: 5, 256: 6, 1000: 7}


def header(policy, mode, values, period_index, key_range, base, table, persistent=False):
    # Bit 3 of the key-range byte selects persistent mode (hamt/fuzz/persistent_operations.h).
    out = bytes([policy, mode | values << 3 | period_index << 5,
                 RANGE[key_range] | (8 if persistent else 0)])
    out += struct.pack("<Q", base)
    for delta, shift in table:
        out += bytes([delta, shift])
    return out


# Eight hashes sharing all but one fragment, each differing at a different depth.
DEEP = [(i + 1, 5 * (12 - i)) for i in range(8)]


def key(k, key_range):
    return bytes([k & 0xFF, k >> 8]) if key_range > 256 else bytes([k])


def ins(k, v, key_range=33):
    return b"\x00" + key(k, key_range) + bytes([v])


def erase(k, key_range=33):
    return b"\x04" + key(k, key_range)


SEEDS = {
    # Collision node under a 13-node chain; Tracked values; full check after every operation.
    "constant_tracked": header(CHECKED, CONSTANT, TRACKED, 0, 33, 0x0123456789ABCDEF, DEEP)
    + b"".join(ins(k, k) for k in range(6)) + b"\x12\x07" + b"\x08" + erase(3) + erase(0)
    + b"\x1f" + b"\x0b" + b"".join(ins(k, 9) for k in range(3)) + b"\x0f",
    # 8 deep hashes with string values: bulk inserts through a 16-slot pool, overwrite, erase.
    "table_strings_bump": header(BUMP16, TABLE, STRING, 1, 100, 0xFEDCBA9876543210, DEEP)
    + b"\xf9\x00\x01" + bytes(range(16)) + b"\x32\x11" + b"\x0b" + b"\xfa\x00\x01" + b"\x08",
    # Differences only at the 4-bit last level, 1000 keys (2-byte keys), recycler with 64 slots.
    "last_level_recycler": header(RECYCLER64, LAST_LEVEL, U64, 1, 1000, 0x5555AAAA5555AAAA, DEEP)
    + b"\xf9\x00\x00\x08" + bytes(16) + b"\x0c" + b"\x2f" + b"\x0e\x00\x00" + b"\x0b" + b"\xfb",
    # High bits only: long single-child chains, erase pulling survivors up several levels.
    "high_bits_malloc": header(MALLOC, HIGH, U64, 0, 256, 0, DEEP)
    + b"".join(ins(k, k, 256) for k in range(0, 40, 3)) + b"\x1f" + b"\x08"
    + b"".join(erase(k, 256) for k in range(0, 40, 3)),
    # Injected bad_alloc at every point of an insert / erase sequence.
    "fault_injection": header(FAULT_CHECKED, TWO, STRING, 0, 33, 0x1111, DEEP)
    + b"".join(b"\x0d" + ins(k, k) + b"\x1d" + erase(k - 1) for k in range(1, 12))
    + b"\x2d\xf9\x00\x01" + bytes(16) + b"\x0f",
    # Move out and back, clear, and reuse, with a recycler that exhausts after 16 slots.
    "move_clear_recycler": header(RECYCLER16, LOW, TRACKED, 1, 64, 0, DEEP)
    + b"\x79\x00\x03" + bytes(8) + b"\x0c\x08\xfb" + b"\x79\x01\x02" + bytes(8) + b"\x0c\x0b",
    # Persistent mode: versions of one PersistentMap under deep shared prefixes, Tracked values,
    # a 16-slot recycler: sets on several versions, rvalue set and erase, erase, copy, drop,
    # equality, a chain of rvalue sets, move out and back, full checks.
    "persistent_versions_recycler": header(RECYCLER16, TABLE, TRACKED, 0, 33, 0x0123456789ABCDEF,
                                           DEEP, persistent=True)
    + b"".join(bytes([(i % 8) << 4, k, k]) for i, k in enumerate(range(10)))
    + b"\x13\x05\x07" + b"\x24\x03" + b"\x36\x04" + b"\x49" + b"\x5a" + b"\x0b\x01"
    + b"\x3e\x02\x03" + b"\x2f" + b"\x0c" + b"\x18",
    # Persistent mode with injected bad_alloc inside lvalue and rvalue updates of one collision
    # node shared by the versions.
    "persistent_fault": header(FAULT_CHECKED, CONSTANT, STRING, 0, 33, 0x1111, DEEP,
                               persistent=True)
    + b"".join(b"\x0d" + bytes([0x00, k, k]) + b"\x1d" + bytes([0x13, k, k]) + bytes([0x04, k - 1])
               for k in range(1, 12))
    + b"\x0c",
}

if __name__ == "__main__":
    os.makedirs(HERE, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")
