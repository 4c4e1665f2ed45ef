"""Generated DNG files for RAW tests: a Bayer CFA in IFD0 (what LibRaw decodes) and, optionally, a
preview in a second IFD (NewSubFileType 1): an 8-bit RGB bitmap or a JPEG, as cameras embed them."""
from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
from PIL import Image

SHORT, LONG, ASCII, BYTE, SRATIONAL, RATIONAL, UNDEF = 3, 4, 2, 1, 10, 5, 7


def _ifd_bytes(entries, data_start):
    """entries: list of (tag, type, values(bytes or tuple)); returns (ifd bytes, extra data bytes)."""
    entries = sorted(entries, key=lambda e: e[0])
    n = len(entries)
    ifd_size = 2 + 12 * n + 4
    extra = bytearray()
    out = bytearray(struct.pack("<H", n))
    sizes = {BYTE: 1, ASCII: 1, SHORT: 2, LONG: 4, RATIONAL: 8, SRATIONAL: 8, UNDEF: 1}
    for tag, typ, vals in entries:
        if typ in (BYTE, UNDEF):
            raw = bytes(vals)
            count = len(raw)
        elif typ == ASCII:
            raw = vals.encode() + b"\0"
            count = len(raw)
        elif typ == SHORT:
            raw = struct.pack(f"<{len(vals)}H", *vals)
            count = len(vals)
        elif typ == LONG:
            raw = struct.pack(f"<{len(vals)}I", *vals)
            count = len(vals)
        elif typ in (RATIONAL, SRATIONAL):
            fmt = "i" if typ == SRATIONAL else "I"
            raw = b"".join(struct.pack(f"<{fmt}{fmt}", int(round(v * 10000)), 10000) for v in vals)
            count = len(vals)
        if len(raw) <= 4:
            out += struct.pack("<HHI", tag, typ, count) + raw.ljust(4, b"\0")
        else:
            off = data_start + ifd_size + len(extra)
            out += struct.pack("<HHII", tag, typ, count, off)
            extra += raw
            if len(extra) % 2:
                extra += b"\0"
    out += b"\0\0\0\0"  # next IFD: patched by the caller
    return out, ifd_size, extra


def make_dng(path, size=(256, 384), preview=None, preview_size=(120, 180), seed=0) -> Path:
    """Write a small valid DNG (LibRaw decodes it): ``size`` (h, w) of the Bayer data, ``preview`` None,
    "bitmap" (8-bit RGB) or "jpeg" of ``preview_size`` (h, w)."""
    h, w = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = 800 + 2400 * (xx / w) * (0.5 + 0.5 * np.sin(yy / 9.0))
    cfa = (base + rng.normal(0, 40, (h, w))).clip(0, 4095).astype("<u2")
    raw_data = cfa.tobytes()
    blobs = []
    ifds = []
    common = [(271, ASCII, "PIAA"), (272, ASCII, "Generated DNG"), (50706, BYTE, (1, 4, 0, 0)),
              (50708, ASCII, "PIAA Generated DNG")]
    raw_entries = common + [
        (254, LONG, (0,)), (256, LONG, (w,)), (257, LONG, (h,)), (258, SHORT, (16,)), (259, SHORT, (1,)),
        (262, SHORT, (32803,)), (277, SHORT, (1,)), (278, LONG, (h,)), (279, LONG, (len(raw_data),)),
        (284, SHORT, (1,)), (33421, SHORT, (2, 2)), (33422, BYTE, (0, 1, 1, 2)), (50707, BYTE, (1, 1, 0, 0)),
        (50717, LONG, (4095,)), (50721, SRATIONAL, (1, 0, 0, 0, 1, 0, 0, 0, 1)), (50778, SHORT, (21,)),
    ]
    ifds.append((raw_entries, raw_data))
    if preview:
        ph, pw = preview_size
        arr = np.zeros((ph, pw, 3), np.uint8)
        arr[..., 0] = np.linspace(30, 220, pw, dtype=np.uint8)[None, :]
        arr[..., 1] = np.linspace(40, 200, ph, dtype=np.uint8)[:, None]
        arr[..., 2] = 90
        if preview == "jpeg":
            buf = io.BytesIO()
            Image.fromarray(arr).save(buf, "JPEG", quality=90)
            data = buf.getvalue()
            entries = [(254, LONG, (1,)), (256, LONG, (pw,)), (257, LONG, (ph,)), (258, SHORT, (8, 8, 8)),
                       (259, SHORT, (7,)), (262, SHORT, (6,)), (277, SHORT, (3,)), (278, LONG, (ph,)),
                       (279, LONG, (len(data),)), (284, SHORT, (1,))]
        else:
            data = arr.tobytes()
            entries = [(254, LONG, (1,)), (256, LONG, (pw,)), (257, LONG, (ph,)), (258, SHORT, (8, 8, 8)),
                       (259, SHORT, (1,)), (262, SHORT, (2,)), (277, SHORT, (3,)), (278, LONG, (ph,)),
                       (279, LONG, (len(data),)), (284, SHORT, (1,))]
        ifds.append((entries, data))
    # layout: header, every IFD (with its extra data), the previews' data, the raw data last (so a
    # truncated copy loses the raw data first and keeps its preview, as real truncated files do)
    sizes = []
    for entries, _data in ifds:
        _ifd, ifd_size, extra = _ifd_bytes(entries + [(273, LONG, (0,))], 0)
        sizes.append(ifd_size + len(extra))
    ifd_pos = [8 + sum(sizes[:k]) for k in range(len(ifds))]
    data_order = list(range(1, len(ifds))) + [0]
    data_pos = {}
    pos = 8 + sum(sizes)
    for k in data_order:
        data_pos[k] = pos
        pos += len(ifds[k][1]) + (len(ifds[k][1]) % 2)
    out = bytearray(b"II*\0" + struct.pack("<I", 8))
    for k, (entries, _data) in enumerate(ifds):
        ifd, _size, extra = _ifd_bytes(entries + [(273, LONG, (data_pos[k],))], ifd_pos[k])
        nxt = ifd_pos[k + 1] if k + 1 < len(ifds) else 0
        out += bytes(ifd[:-4]) + struct.pack("<I", nxt) + bytes(extra)
    for k in data_order:
        d = ifds[k][1]
        out += d + (b"\0" if len(d) % 2 else b"")
    Path(path).write_bytes(bytes(out))
    return Path(path)


def truncate(src: Path, dest: Path, keep: int) -> Path:
    """A copy of ``src`` cut to ``keep`` bytes (an interrupted copy or download)."""
    dest.write_bytes(Path(src).read_bytes()[:keep])
    return dest


def raw_data_bytes(size=(256, 384)) -> int:
    return size[0] * size[1] * 2
