"""Every option that decides a result, on every path it applies to, arrives.

Each case drives one command-line option through one path (an image file, a
stack file, a video streamed a few frames at a time, a ``.zarr`` store,
``batch``, ``batch --dask``, ``compare``) and
checks that the written result equals the in-memory :func:`nlmeans.denoise`
with the same choices, and, where the option changes values, that it differs
from the run without it; a path that does not take an option refuses it by
name. The options are read from the commands themselves: a new option without
a case here fails :func:`test_every_option_has_a_flow_case`.
"""

import contextlib
import json

import imageio.v3 as iio
import numpy as np
import pytest
import typer.main
from typer.testing import CliRunner

import nlmeans
from nlmeans.cli import app

runner = CliRunner()

#: Choices every case starts from (a case replaces those it names).
BASE = {"h": 20.0, "sigma": 10.0, "f": 1, "r": 2}

#: Options that decide nothing about the values (files, reports, resuming, compare's inputs).
NOT_DENOISING = {
    "denoise": {"input_path", "output", "overwrite", "quiet", "json_output", "debug", "codec"},
    "batch": {
        "input_dir", "output_dir", "pattern", "recursive", "same_params", "overwrite", "quiet",
        "json_output", "debug", "dask", "codec",
    },
    "compare": {
        "clean", "noisy", "noise_sigma", "seed", "known_sigma", "repeat", "opencv",
        "montage_path", "csv_path", "json_output", "debug",
    },
}  # fmt: skip

PATHS = ("image", "stack", "zarr", "batch", "dask", "compare", "video")


def case(
    option, args, kwargs, applies, refused=None, *, base=BASE, color=False, stack=False,
    changes=True,
):  # fmt: skip
    """One option's flow: CLI ``args``, the API's ``kwargs``, the paths it ``applies`` to,
    the paths that refuse it ({path: words of the error})."""
    return {
        "option": option,
        "args": args,
        "kwargs": kwargs,
        "applies": set(applies),
        "refused": refused or {},
        "base": base,
        "color": color,
        "stack": stack,
        "changes": changes,
    }


ALL = ("image", "stack", "zarr", "batch", "dask")
NO_SIGMA = {"h": 20.0, "f": 1, "r": 2}
ZARR_NO_MAPS = "are not available with .zarr files"

# The 16×20 images are too small to fit a Poisson-Gaussian model: its values are given.
CASES = [
    case("h", ["--h", "35"], {"h": 35.0}, (*ALL, "compare")),
    case("r", ["--r", "3"], {"r": 3}, (*ALL, "compare")),
    case("f", ["--f", "2"], {"f": 2}, (*ALL, "compare")),
    case("sigma", ["--sigma", "25"], {"sigma": 25.0}, ALL),
    case("method", ["--method", "patch"], {"method": "patch"}, (*ALL, "compare")),
    case(
        "patch_kernel",
        ["--patch-kernel", "gaussian"],
        {"patch_kernel": "gaussian"},
        ALL,
        {"compare": "--patch-kernel gaussian is not available in compare"},
    ),
    # Tuning is the default where h is not given: --presets is what changes the result,
    # except in compare, whose peers share the presets unless --tune is given.
    case("tune", ["--presets"], {"tune": False}, ALL, base={"sigma": 10.0}),
    case("tune", ["--tune"], {"tune": True}, ("compare",), base={"sigma": 10.0}),
    case(
        "h_chroma",
        ["--h-chroma", "60"],
        {"h_chroma": 60.0},
        ("image", "zarr", "batch", "dask", "compare"),
        color=True,
    ),
    case(
        "noise",
        ["--noise", "poisson-gaussian", "--gain", "2", "--read-noise", "3"],
        {"noise": "poisson-gaussian", "gain": 2.0, "read_noise": 3.0},
        ALL,
        base=NO_SIGMA,
    ),
    case(
        "gain",
        ["--noise", "poisson-gaussian", "--gain", "6", "--read-noise", "3"],
        {"noise": "poisson-gaussian", "gain": 6.0, "read_noise": 3.0},
        ALL,
        base=NO_SIGMA,
    ),
    case(
        "read_noise",
        ["--noise", "poisson-gaussian", "--read-noise", "9", "--gain", "2"],
        {"noise": "poisson-gaussian", "read_noise": 9.0, "gain": 2.0},
        ALL,
        base=NO_SIGMA,
    ),
    case(
        "offset",
        ["--noise", "poisson-gaussian", "--offset", "30", "--gain", "2", "--read-noise", "3"],
        {"noise": "poisson-gaussian", "offset": 30.0, "gain": 2.0, "read_noise": 3.0},
        ALL,
        base=NO_SIGMA,
    ),
    case(
        "coils",
        ["--noise", "rician", "--coils", "4"],
        {"noise": "rician", "coils": 4},
        ("image", "stack"),
        {"zarr": ZARR_NO_MAPS},
    ),
    case(
        "backend",
        ["--backend", "reference"],
        {"backend": "reference"},
        (*ALL, "compare"),
        changes=False,
    ),
    case("threads", ["--threads", "1"], {}, (*ALL, "compare"), changes=False),
    case(
        "axes",
        ["--axes", "TYX"],
        {"f": (0, None, None), "r": (2, None, None)},
        ("stack", "batch", "dask"),
        {"zarr": "--axes applies to image files"},
        base={"h": 20.0, "sigma": 10.0},
        stack=True,
    ),
    case(
        "chunks",
        ["--chunks", "8"],
        {},
        ("zarr",),
        {"image": "--chunks applies to .zarr", "stack": "--chunks applies to .zarr"},
        changes=False,
    ),
    case(
        "channel_axis",
        ["--channel-axis", "2"],
        {},
        ("zarr",),
        {"image": "--channel-axis applies to .zarr"},
        color=True,
        changes=False,
    ),
    case(
        "sigma_map",
        ["--sigma-map", "{sigma_map}"],
        {"sigma": "sigma_map"},
        ("image", "stack"),
        {"zarr": ZARR_NO_MAPS},
        base=NO_SIGMA,
    ),
    case(
        "mask",
        ["--mask", "{mask}"],
        {"mask": "mask"},
        ("image", "stack"),
        {"zarr": ZARR_NO_MAPS},
    ),
    case(
        "motion",
        ["--motion", "--axes", "TYX"],
        {"motion": True, "f": (0, None, None), "r": (2, None, None)},
        ("stack",),
        {"zarr": "--motion takes in-memory stacks"},
        base={"h": 20.0, "sigma": 10.0},
        stack=True,
    ),
]


#: Options a video takes (streamed a few frames at a time; --noise takes it in memory).
VIDEO = {
    "h",
    "r",
    "f",
    "sigma",
    "method",
    "patch_kernel",
    "h_chroma",
    "noise",
    "backend",
    "threads",
}
for _case in CASES:
    if _case["option"] in VIDEO:
        _case["applies"].add("video")


def _command_options(name: str) -> set[str]:
    command = typer.main.get_command(app).commands[name]
    return {param.name for param in command.params}


def test_every_option_has_a_flow_case():
    covered = {c["option"] for c in CASES}
    for name, apart in NOT_DENOISING.items():
        missing = _command_options(name) - covered - apart
        assert not missing, f"{name}: options without a flow case: {sorted(missing)}"
    paths: dict[str, set] = {}  # an option's paths, over its cases
    for c in CASES:
        wanted = set(c["applies"]) | set(c["refused"])
        assert wanted <= set(PATHS), c["option"]
        paths.setdefault(c["option"], set()).update(wanted)
    for option, wanted in paths.items():
        for path in ("batch", "compare"):
            takes = option in _command_options(path)
            assert takes == (path in wanted or path == "batch" and "dask" in wanted), (
                f"{option}: {path} {'takes' if takes else 'lacks'} it; the cases say otherwise"
            )


def _image(color: bool, stack: bool) -> np.ndarray:
    rng = np.random.default_rng(7)
    shape = (6,) * stack + (16, 20) + (3,) * color
    ramp = np.linspace(40, 200, 16).reshape((1,) * stack + (16, 1) + (1,) * color)
    return np.clip(ramp + rng.normal(0, 18, shape), 0, 255).astype(np.uint8)


def _args(options: dict) -> list[str]:
    return [a for k, v in options.items() for a in (f"--{k.replace('_', '-')}", str(v))]


@pytest.fixture(scope="module")
def cluster():
    """One in-process Dask cluster for every ``batch --dask`` case (``local:N`` starts
    processes, seconds each): the same tasks, workers and warm-up, in threads."""
    distributed = pytest.importorskip("distributed")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=1) as client:
        yield client


def _run(path, c, tmp_path, monkeypatch, request_fixture):
    """(exit code, output text, written array or JSON params) of case ``c`` on ``path``."""
    color, stack = c["color"] or path == "video", path in ("stack", "video") or c["stack"]
    image = _image(color, stack)
    spatial = image.shape[:-1] if color else image.shape
    files = {}
    if "{sigma_map}" in c["args"]:
        files["sigma_map"] = np.linspace(8, 16, int(np.prod(spatial))).reshape(spatial)
    if "{mask}" in c["args"]:
        files["mask"] = (np.indices(spatial).sum(axis=0) % 3 != 0).astype(np.uint8)
    for name, values in files.items():
        np.save(tmp_path / f"{name}.npy", values)
    args = [a.format(**{k: tmp_path / f"{k}.npy" for k in files}) for a in c["args"]]
    args = _args(c["base"]) + args
    if path in ("image", "stack"):
        source = tmp_path / ("in.npy" if stack else "in.png")
        (np.save if stack else iio.imwrite)(source, image)
        out = tmp_path / f"out{source.suffix}"
        result = runner.invoke(app, ["denoise", str(source), "-o", str(out), "-q", *args])
        written = None if result.exit_code else (np.load if stack else iio.imread)(out)
    elif path == "video":
        pytest.importorskip("av", reason="the video extra (PyAV) is not installed")
        from nlmeans.io import Picture, read_image, write_image

        source, out = tmp_path / "in.mkv", tmp_path / "out.mkv"  # lossless (FFV1)
        write_image(source, image, like=Picture(image, None, "TYXC", "format", {"fps": 25}))
        result = runner.invoke(app, ["denoise", str(source), "-o", str(out), "-q", *args])
        written = None if result.exit_code else read_image(out).pixels
    elif path == "zarr":
        zarr = pytest.importorskip("zarr")
        source = zarr.create_array(str(tmp_path / "in.zarr"), shape=image.shape, dtype=np.uint8)
        source[:] = image
        out = tmp_path / "out.zarr"
        result = runner.invoke(
            app, ["denoise", str(tmp_path / "in.zarr"), "-o", str(out), "-q", *args]
        )
        written = None
        if not result.exit_code:
            stored = zarr.open_array(str(out), mode="r")
            written = stored[:]
            if c["option"] == "chunks":
                assert stored.chunks == (8, 8), stored.chunks
    elif path in ("batch", "dask"):
        folder = tmp_path / "in"
        folder.mkdir()
        name = "a.npy" if stack else "a.png"
        (np.save if stack else iio.imwrite)(folder / name, image)
        extra = []
        if path == "dask":
            client = request_fixture.getfixturevalue("cluster")
            monkeypatch.setattr(
                "nlmeans.batch.dask_client", lambda spec: contextlib.nullcontext(client)
            )
            extra = ["--dask", "local:1"]
        result = runner.invoke(app, ["batch", str(folder), str(tmp_path / "out"), "-q", *args,
                                     *extra])  # fmt: skip
        written = None
        if not result.exit_code:
            written = (np.load if stack else iio.imread)(tmp_path / "out" / name)
    else:  # compare: the parameters it ran nlmeans with
        source = tmp_path / "clean.png"
        iio.imwrite(source, image)
        args = [a for a in args if a not in ("--sigma", "10.0")]  # compare's --sigma adds noise
        result = runner.invoke(
            app, ["compare", str(source), "--sigma", "15", "--no-opencv", "--json", *args]
        )
        written = None if result.exit_code else json.loads(result.stdout)["images"][0]["params"]
    return result, image, files, written


def _expected(path, c, image, files, base=True):
    kwargs = dict(c["base"]) if base else {}
    kwargs.update({k: files.get(v, v) if isinstance(v, str) else v for k, v in c["kwargs"].items()})
    if path == "compare":
        from nlmeans._reporting import params_record
        from nlmeans.evaluate import add_noise, to_8bit_scale

        kwargs.pop("sigma", None)
        noisy = add_noise(to_8bit_scale(image), 15.0, 0)
        axis = -1 if c["color"] else None
        params = nlmeans.denoise(
            noisy, channel_axis=axis, data_range=255.0, return_params=True, **kwargs
        )[1]
        return json.loads(json.dumps(params_record(params)))
    axis = -1 if c["color"] or path == "video" else None
    return nlmeans.denoise(image, channel_axis=axis, **kwargs)


FLOWS = [
    pytest.param(c, path, id=f"{c['option']}-{path}")
    for c in CASES
    for path in PATHS
    if path in c["applies"] or path in c["refused"]
]


@pytest.mark.parametrize(("c", "path"), FLOWS)
def test_the_option_arrives(c, path, tmp_path, monkeypatch, request):
    if path == "dask":
        pytest.importorskip("distributed")
    result, image, files, written = _run(path, c, tmp_path, monkeypatch, request)
    if path in c["refused"]:
        assert result.exit_code == 2, result.output
        assert c["refused"][path] in result.output
        return
    assert result.exit_code == 0, result.output
    expected = _expected(path, c, image, files)
    if path == "compare":
        assert written == expected
        return
    assert written.shape == expected.shape and written.dtype == expected.dtype
    difference = np.abs(written.astype(int) - expected.astype(int))
    if path in ("image", "stack", "video"):
        np.testing.assert_array_equal(written, expected)  # same process, same kernels
    else:
        # Chunks and workers sum in float32 on their own: a value may cross a .5 tie.
        assert difference.max() <= 1 and np.mean(difference) < 0.02
    if c["changes"]:
        without = _expected(path, {**c, "kwargs": {}}, image, files)
        assert np.abs(without.astype(int) - expected.astype(int)).max() > 1, (
            "this case does not tell the option's effect apart"
        )
