"""ARM's own uniqueString() and guid(), so that names the double evaluates equal the names Azure gives.

Both were checked against Microsoft's template engine (`bicep snapshot` evaluates them offline; see
tests/harness/test_arm_double_engine.py):
- uniqueString(a, b, ...): the arguments joined with '-', UTF-8, hashed with a 64-bit MurmurHash variant (two
  32-bit lanes, seed 0), written as 13 base32 characters (a-z, 2-7), most significant 5 bits first.
- guid(a, b, ...): a name-based UUID version 5 (SHA-1, RFC 4122) over the arguments joined with '-' (UTF-8),
  in ARM's namespace 11fb06fb-712d-4ddd-98c7-e71bbd588830.
"""

from __future__ import annotations

import uuid

GUID_NAMESPACE = uuid.UUID("11fb06fb-712d-4ddd-98c7-e71bbd588830")
BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
_MASK32 = 0xFFFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF
_C1, _C2 = 0x239B961B, 0xAB0E9789


def _rotl(value: int, bits: int) -> int:
    return ((value << bits) | (value >> (32 - bits))) & _MASK32


def _final_mix(value: int) -> int:
    value = ((value ^ (value >> 16)) * 0x85EBCA6B) & _MASK32
    value = ((value ^ (value >> 13)) * 0xC2B2AE35) & _MASK32
    return value ^ (value >> 16)


def _mix_lane1(k1: int) -> int:
    return (_rotl((k1 * _C1) & _MASK32, 15) * _C2) & _MASK32


def _mix_lane2(k2: int) -> int:
    return (_rotl((k2 * _C2) & _MASK32, 17) * _C1) & _MASK32


def murmur64(data: bytes) -> int:
    """The 64-bit hash under uniqueString(): 8-byte blocks feed two 32-bit lanes (little-endian words)."""
    h1 = h2 = 0
    full = len(data) - len(data) % 8
    for pos in range(0, full, 8):
        h1 ^= _mix_lane1(int.from_bytes(data[pos:pos + 4], "little"))
        h1 = (_rotl(h1, 19) + h2) & _MASK32
        h1 = (h1 * 5 + 0x561CCD1B) & _MASK32
        h2 ^= _mix_lane2(int.from_bytes(data[pos + 4:pos + 8], "little"))
        h2 = (_rotl(h2, 13) + h1) & _MASK32
        h2 = (h2 * 5 + 0x0BCAA747) & _MASK32
    tail = data[full:]
    if tail:
        h1 ^= _mix_lane1(int.from_bytes(tail[:4], "little"))
        if len(tail) > 4:
            h2 ^= _mix_lane2(int.from_bytes(tail[4:], "little"))
    h1 ^= len(data)
    h2 ^= len(data)
    h1 = (h1 + h2) & _MASK32
    h2 = (h2 + h1) & _MASK32
    h1, h2 = _final_mix(h1), _final_mix(h2)
    h1 = (h1 + h2) & _MASK32
    h2 = (h2 + h1) & _MASK32
    return (h2 << 32) | h1


def unique_string(*parts: str) -> str:
    value = murmur64("-".join(parts).encode("utf-8"))
    # 13 characters of 5 bits, most significant first (the last one takes the 4 bits left and a zero)
    return "".join(BASE32[((value << (5 * index)) & _MASK64) >> 59] for index in range(13))


def guid(*parts: str) -> str:
    return str(uuid.uuid5(GUID_NAMESPACE, "-".join(parts)))
