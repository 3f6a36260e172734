"""Image files that are small on disk and huge in memory, written without ever holding their pixels."""
import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_header_only(path, side: int = 100_000):
    """A valid PNG signature and IHDR declaring side × side RGB pixels, with no image data behind it."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IEND", b""))
    return path


def png_bomb(path, side: int = 30_000):
    """A complete, valid grey PNG of side × side black pixels (30,000²: 0.9 MB on disk, 900 megapixels decoded).
    The zlib stream is built a thousand rows at a time."""
    z = zlib.compressobj(9)
    rows = bytes(side + 1) * 1000  # filter byte 0, then the row
    idat = b"".join([z.compress(rows) for _ in range(side // 1000)] + [z.compress(bytes(side + 1) * (side % 1000)),
                                                                        z.flush()])
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))
    return path
