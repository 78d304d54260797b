"""Seeded mutations of valid image files, and a worker that reads each one under a time limit.

Used by tests/io/test_fuzz.py. Every case is ``(name, data, pad_to)``: the bytes of
a mutated file and, for a few, a size to extend it to with a sparse hole
(``os.truncate``), which costs no disk space. Cases depend only on the seed and
their index, so a failure is reproduced with :func:`make_case`.
"""

from __future__ import annotations

import io
import os
import signal
import struct
import tempfile
import traceback
import zlib

import numpy as np

#: Seconds one case may take (reading, and denoising where it runs) before it counts as a hang.
CASE_SECONDS = 10

#: Memory the worker's checks see as available: large declared sizes are refused fast.
WORKER_AVAILABLE = 256 * 1024**2


def seed_files() -> dict[str, bytes]:
    """Small valid files of every format and depth nlmeans reads."""
    import tifffile
    from PIL import Image

    from nlmeans.io import _png16 as png16

    rng = np.random.default_rng(7)
    gray8 = rng.integers(0, 256, (20, 24), dtype=np.uint8)
    rgb8 = rng.integers(0, 256, (18, 22, 3), dtype=np.uint8)
    rgba16 = rng.integers(0, 65536, (16, 19, 4), dtype=np.uint16)
    files = {}

    def pillow(image, fmt, **options):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format=fmt, **options)
        return buffer.getvalue()

    def tiff(image, **options):
        buffer = io.BytesIO()
        tifffile.imwrite(buffer, image, **options)
        return buffer.getvalue()

    files["gray8.png"] = pillow(gray8, "PNG")
    files["rgb8.png"] = pillow(rgb8, "PNG", optimize=True)
    files["rgba16.png"] = png16.encode(rgba16)
    files["gray16.png"] = png16.encode(rgba16[..., 0])
    files["rgb.jpg"] = pillow(rgb8, "JPEG", quality=90)
    files["gray.bmp"] = pillow(gray8, "BMP")
    files["rgb.bmp"] = pillow(rgb8, "BMP")
    files["gray16.tif"] = tiff(rgba16[..., 0])
    files["rgb8_zlib.tif"] = tiff(rgb8, photometric="rgb", compression="zlib")
    files["tiled.tif"] = tiff(
        rng.integers(0, 256, (32, 48), dtype=np.uint8), tile=(16, 16), compression="zlib"
    )
    files["float.tif"] = tiff(rng.random((12, 13), dtype=np.float32))
    with io.BytesIO() as buffer:
        with tifffile.TiffWriter(buffer) as writer:
            writer.write(np.zeros((5, 6), np.uint8), subfiletype=1)
            writer.write(gray8)
        files["thumb.tif"] = buffer.getvalue()
    return files


# ------------------------------------------------------------------- structure


def png_chunks(data: bytes) -> list[tuple[int, int, bytes]]:
    """(offset, length, type) of each chunk of a PNG, as far as it is well formed."""
    found, position = [], 8
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        found.append((position, length, kind))
        position += 12 + length
    return found


def tiff_fields(data: bytes) -> tuple[str, list[int], list[tuple[int, int, int, int]]]:
    """(byte order, IFD offsets, [(entry offset, tag, type, count)]) of a classic TIFF."""
    order = "<" if data[:2] == b"II" else ">"
    ifds, entries = [], []
    (offset,) = struct.unpack_from(order + "I", data, 4)
    while offset and offset + 2 <= len(data) and offset not in ifds and len(ifds) < 16:
        ifds.append(offset)
        (count,) = struct.unpack_from(order + "H", data, offset)
        for k in range(count):
            at = offset + 2 + 12 * k
            if at + 12 > len(data):
                break
            tag, kind, values = struct.unpack_from(order + "HHI", data, at)
            entries.append((at, tag, kind, values))
        end = offset + 2 + 12 * count
        if end + 4 > len(data):
            break
        (offset,) = struct.unpack_from(order + "I", data, end)
    return order, ifds, entries


def _far(rng) -> int:
    return int(
        rng.choice([0, 1, 7, 2**16, 2**31 - 1, 2**31, 2**32 - 1, int(rng.integers(0, 2**32))])
    )


def mutate(name: str, data: bytes, rng) -> tuple[str, bytes, int]:
    """One seeded mutation of ``data``: (description, bytes, sparse size or 0).

    A structural mutation that does not fit an already mutated file leaves it as it is.
    """
    try:
        return _mutate(name, bytearray(data), rng)
    except (struct.error, IndexError, ValueError):
        return "none", bytes(data), 0


def _mutate(name: str, data: bytearray, rng) -> tuple[str, bytes, int]:
    kinds = ["bitflip", "bytes", "truncate", "pad"]
    if name.endswith(".png"):
        kinds += ["png_length", "png_size", "png_size", "png_drop_chunk"]
    elif name.endswith(".tif"):
        kinds += ["tiff_next", "tiff_next", "tiff_value", "tiff_value", "tiff_count"]
    elif name.endswith(".jpg"):
        kinds += ["jpeg_size", "jpeg_length"]
    elif name.endswith(".bmp"):
        kinds += ["bmp_field", "bmp_field"]
    kind = str(rng.choice(kinds))
    pad_to = 0
    if kind == "bitflip":
        for _ in range(int(rng.integers(1, 9))):
            at = int(rng.integers(0, len(data)))
            data[at] ^= 1 << int(rng.integers(0, 8))
    elif kind == "bytes":
        at = int(rng.integers(0, len(data)))
        run = rng.integers(0, 256, int(rng.integers(1, 9)), dtype=np.uint8).tobytes()
        data[at : at + len(run)] = run
    elif kind == "truncate":
        data = data[: int(rng.integers(1, max(2, len(data))))]
    elif kind == "pad":
        if rng.random() < 0.5:
            pad_to = int(rng.choice([2**20, 2**32 + 5, 100 * 2**30]))
        else:
            data += bytes(int(rng.integers(1, 5000)))
    elif kind in ("png_length", "png_drop_chunk"):
        chunks = png_chunks(bytes(data))
        at, length, _ = chunks[int(rng.integers(0, len(chunks)))]
        if kind == "png_length":
            struct.pack_into(">I", data, at, _far(rng))
        else:
            del data[at : at + 12 + length]
    elif kind == "png_size":
        width, height = _far(rng) or 1, int(rng.choice([1, 2, 2**15, 2**20, 2**31 - 1]))
        struct.pack_into(">II", data, 16, width, height)
        struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))  # a valid CRC
    elif kind.startswith("tiff"):
        order, ifds, entries = tiff_fields(bytes(data))
        if kind == "tiff_next" and ifds:
            last = ifds[int(rng.integers(0, len(ifds)))]
            (count,) = struct.unpack_from(order + "H", data, last)
            target = int(rng.choice(ifds + [_far(rng), len(data) - 2, 8]))
            if last + 2 + 12 * count + 4 <= len(data):
                struct.pack_into(order + "I", data, last + 2 + 12 * count, target)
        elif entries:
            at, tag, field_type, count = entries[int(rng.integers(0, len(entries)))]
            if kind == "tiff_count":
                struct.pack_into(order + "I", data, at + 4, _far(rng))
            elif field_type == 3 and count == 1:
                struct.pack_into(order + "H", data, at + 8, _far(rng) & 0xFFFF)
            else:
                struct.pack_into(order + "I", data, at + 8, _far(rng))
    elif kind == "jpeg_size":
        at = bytes(data).find(b"\xff\xc0")
        if at < 0:
            at = bytes(data).find(b"\xff\xc2")
        if at >= 0:
            struct.pack_into(">HH", data, at + 5, _far(rng) & 0xFFFF, _far(rng) & 0xFFFF)
    elif kind == "jpeg_length":
        markers = [i for i in range(2, len(data) - 4) if data[i] == 0xFF and 0xC0 <= data[i + 1]]
        if markers:
            at = markers[int(rng.integers(0, len(markers)))]
            struct.pack_into(">H", data, at + 2, _far(rng) & 0xFFFF)
    elif kind == "bmp_field":
        field = int(rng.choice([2, 10, 14, 18, 22, 28, 34, 46]))  # size, offset, dims, bpp...
        struct.pack_into("<I", data, field, _far(rng))
    return kind, bytes(data), pad_to


def make_case(seeds: dict[str, bytes], seed: int, index: int) -> tuple[str, bytes, int]:
    """Case ``index`` of the run seeded ``seed``: (label, bytes, sparse size)."""
    rng = np.random.default_rng([seed, index])
    names = sorted(seeds)
    name = names[int(rng.integers(0, len(names)))]
    data, kinds = seeds[name], []
    for _ in range(int(rng.choice([1, 1, 1, 2, 3]))):
        kind, data, pad_to = mutate(name, data, rng)
        kinds.append(kind)
    return f"{name}#{index}:{'+'.join(kinds)}", data, pad_to


# ---------------------------------------------------------------------- worker


def _expired(signum, frame):
    raise TimeoutError(f"case took more than {CASE_SECONDS} s")


def init_worker() -> None:
    """Import and warm everything once per worker; checks see little free memory."""
    from nlmeans import _memory as memory

    memory.available_bytes = lambda: WORKER_AVAILABLE
    signal.signal(signal.SIGALRM, _expired)


def run_case(label: str, data: bytes, pad_to: int, denoise: bool) -> tuple[str, str, str]:
    """Read one mutated file (and denoise it through the CLI when ``denoise``).

    Returns (label, outcome, detail): outcome "read", "refused" (NLMeansError,
    the clean refusal) or "bad" (anything else: another exception, a hang, a
    traceback or unexpected exit code from the CLI).
    """
    from nlmeans.errors import NLMeansError
    from nlmeans.io import read_image

    folder = tempfile.mkdtemp(prefix="nlmeans-fuzz-")
    suffix = os.path.splitext(label.split("#")[0])[1]
    path = os.path.join(folder, f"case{suffix}")
    with open(path, "wb") as handle:
        handle.write(data)
    if pad_to:
        os.truncate(path, pad_to)
    signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
    try:
        try:
            picture = read_image(path)
        except NLMeansError as error:
            message = str(error)
            if "\n" in message or not message.startswith(path):
                return label, "bad", f"refusal not one line naming the file: {message!r}"
            return label, "refused", message
        outcome = f"read {picture.pixels.shape} {picture.pixels.dtype}"
        if denoise:
            from typer.testing import CliRunner

            from nlmeans.cli import app

            out = os.path.join(folder, f"out{'.tif' if suffix == '.tif' else '.png'}")
            args = ["denoise", path, "-o", out, "--h", "10", "--r", "1", "--f", "1"]
            result = CliRunner().invoke(app, [*args, "--sigma", "5"])
            if result.exit_code not in (0, 2) or "Traceback" in result.output:
                return label, "bad", f"CLI exit {result.exit_code}: {result.output[-500:]}"
            outcome += f", CLI exit {result.exit_code}"
        return label, "read", outcome
    except BaseException:  # noqa: BLE001 - every other outcome is a finding
        return label, "bad", traceback.format_exc(limit=6)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for name in os.listdir(folder):
            os.unlink(os.path.join(folder, name))
        os.rmdir(folder)
