"""The batch's read-ahead leaves room, in its memory checks, for the file being denoised."""

import numpy as np
import tifffile

import nlmeans._memory as memory
import nlmeans.batch._local as local
import nlmeans.batch._process as process
from nlmeans._request import Request
from nlmeans.batch import discover, run_batch
from nlmeans.batch._readahead import read_beside
from nlmeans.io import read_image

SHAPE, AXES = (3, 40, 44), "TYX"
REQUEST = Request(h=20.0, sigma=10.0, f=1, r=1)


def write_stacks(folder, count):
    folder.mkdir()
    for index in range(count):
        values = np.random.default_rng(index).integers(0, 256, SHAPE, dtype=np.uint8)
        tifffile.imwrite(
            folder / f"s{index}.tif", values, photometric="minisblack", metadata={"axes": AXES}
        )


def one_file_bytes():
    """What reading one of the stacks checks for (decode, denoise and write it)."""
    spatial = SHAPE
    return memory.stack_file_bytes(spatial, 1, 1, memory.default_pads(AXES))


def test_a_file_that_fits_only_alone_is_read_after_the_denoise_not_beside_it(tmp_path, monkeypatch):
    # Memory for one file's processing but not for reading the next one beside it.
    alone = one_file_bytes()
    beside = memory.processing_bytes(SHAPE, AXES, 1)
    assert alone + beside > int(1.5 * alone) >= alone
    monkeypatch.setattr(memory, "available_bytes", lambda: int(1.5 * alone))
    events = []

    def logged_read(path, axes=None):
        try:
            picture = read_image(path, axes)
        except Exception:
            events.append(("refused", path.name))
            raise
        events.append(("read", path.name))
        return picture

    real_denoise = process.denoise_request

    def logged_denoise(pixels, request, **kw):
        events.append(("denoise", len([e for e in events if e[0] == "denoise"])))
        result = real_denoise(pixels, request, **kw)
        events.append(("denoised", None))
        return result

    monkeypatch.setattr(local, "read_image", logged_read)
    monkeypatch.setattr(process, "denoise_request", logged_denoise)
    write_stacks(tmp_path / "in", 3)
    items = discover(tmp_path / "in", tmp_path / "out", None, False)
    results = list(run_batch(items, REQUEST))
    assert [r.status for r in results] == ["done"] * 3, [r.reason for r in results]
    # Each later file: refused beside the denoise of the one before (whenever the read-ahead
    # runs), then read once that denoise is done.
    done = [i for i, event in enumerate(events) if event[0] == "denoised"]
    for before, name in enumerate(("s1.tif", "s2.tif")):
        refused = events.index(("refused", name))
        read = events.index(("read", name))
        assert refused < read
        assert done[before] < read, events
    # No file was read while another was being denoised.
    denoising = False
    for kind, _ in events:
        denoising = {"denoise": True, "denoised": False}.get(kind, denoising)
        assert not (denoising and kind == "read"), events


def test_read_beside_passes_what_fits_and_raises_what_never_would(tmp_path, monkeypatch):
    write_stacks(tmp_path / "in", 2)
    first = read_image(tmp_path / "in" / "s0.tif")
    path = tmp_path / "in" / "s1.tif"
    alone = one_file_bytes()
    # Room for both: read at once.
    monkeypatch.setattr(memory, "available_bytes", lambda: 10 * alone)
    assert read_beside(read_image, path, first).pixels.shape == SHAPE
    # Too little even alone: the read's own error, not a later retry.
    monkeypatch.setattr(memory, "available_bytes", lambda: alone // 2)
    try:
        read_beside(read_image, path, first)
    except Exception as error:
        assert "memory" in str(error) and "s1.tif" in str(error)
    else:
        raise AssertionError("a file that never fits was not refused")
