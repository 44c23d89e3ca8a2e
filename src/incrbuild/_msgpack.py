"""Read msgpack without msgspec: the subset the state store writes, for the no-op check.

A fresh ``incrbuild plan`` that finds nothing changed reads the stored state and
stats every file.  Importing msgspec (and with it ``typing``, ``inspect``,
``uuid``...) costs such a process more than decoding here the few tables it
needs: the blobs are not copied, and the tables are small beside them.

The subset: nil, booleans, integers, UTF-8 strings, binaries, arrays and maps.
Anything else (floats, extension types, invalid UTF-8, data cut short) raises
:class:`ValueError`, and the caller takes the full path, which uses msgspec.
"""

from __future__ import annotations

import struct

TYPE_CHECKING = False  # not typing's: see the module docstring
if TYPE_CHECKING:
    from typing import Final

__all__ = ["unpack"]

_U16: Final = struct.Struct(">H").unpack_from
_U32: Final = struct.Struct(">I").unpack_from
_FIXED: Final = {
    0xCC: struct.Struct(">B"),
    0xCD: struct.Struct(">H"),
    0xCE: struct.Struct(">I"),
    0xCF: struct.Struct(">Q"),
    0xD0: struct.Struct(">b"),
    0xD1: struct.Struct(">h"),
    0xD2: struct.Struct(">i"),
    0xD3: struct.Struct(">q"),
}


def unpack(data: memoryview) -> object:
    """The one value *data* holds (a byte view: binaries come back as views into it)."""
    try:
        value, end = _read(data, 0)
    except (IndexError, struct.error, UnicodeDecodeError) as error:
        raise ValueError(f"not msgpack of the state's subset: {error}") from None
    if end != len(data):
        raise ValueError("not msgpack of the state's subset: trailing bytes")
    return value


def _read(data: memoryview, pos: int) -> tuple[object, int]:
    """The value starting at *pos*, and the position after it."""
    tag = data[pos]
    pos += 1
    if tag <= 0x7F:
        return tag, pos
    if 0xA0 <= tag <= 0xBF:
        end = pos + (tag & 0x1F)
        return _text(data, pos, end), end
    if 0x90 <= tag <= 0x9F:
        return _array(data, pos, tag & 0x0F)
    if 0x80 <= tag <= 0x8F:
        return _map(data, pos, tag & 0x0F)
    if tag >= 0xE0:
        return tag - 0x100, pos
    if tag == 0xC0:
        return None, pos
    if tag == 0xC2:
        return False, pos
    if tag == 0xC3:
        return True, pos
    fixed = _FIXED.get(tag)
    if fixed is not None:
        return fixed.unpack_from(data, pos)[0], pos + fixed.size
    if tag in (0xD9, 0xC4):  # str 8, bin 8
        size, pos = data[pos], pos + 1
    elif tag in (0xDA, 0xC5, 0xDC, 0xDE):  # str, bin, array, map 16
        size, pos = _U16(data, pos)[0], pos + 2
    elif tag in (0xDB, 0xC6, 0xDD, 0xDF):  # str, bin, array, map 32
        size, pos = _U32(data, pos)[0], pos + 4
    else:
        raise ValueError(f"msgpack type 0x{tag:02x} is not in the state's subset")
    if tag in (0xDC, 0xDD):
        return _array(data, pos, size)
    if tag in (0xDE, 0xDF):
        return _map(data, pos, size)
    end = pos + size
    if end > len(data):
        raise IndexError("data cut short")
    if tag in (0xC4, 0xC5, 0xC6):
        return data[pos:end], end
    return _text(data, pos, end), end


def _text(data: memoryview, pos: int, end: int) -> str:
    if end > len(data):
        raise IndexError("data cut short")
    return str(data[pos:end], "utf-8")


def _array(data: memoryview, pos: int, size: int) -> tuple[list[object], int]:
    items: list[object] = []
    append = items.append
    for _ in range(size):
        tag = data[pos]
        if 0xA0 <= tag <= 0xBF:  # short strings (file names) inline: most of a listing
            end = pos + 1 + (tag & 0x1F)
            append(_text(data, pos + 1, end))
            pos = end
        else:
            value, pos = _read(data, pos)
            append(value)
    return items, pos


def _map(data: memoryview, pos: int, size: int) -> tuple[dict[object, object], int]:
    found: dict[object, object] = {}
    for _ in range(size):
        key, pos = _read(data, pos)
        value, pos = _read(data, pos)
        try:
            found[key] = value
        except TypeError:  # an unhashable key (an array): msgspec refuses it too
            raise ValueError("a msgpack map key is not a string or a number") from None
    return found, pos
