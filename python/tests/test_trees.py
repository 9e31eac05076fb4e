"""Round trips of every dtype, container and scalar through the store and checkpoints."""

import numpy as np
import pytest

import cairn

NUMPY_DTYPES = [
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
    np.float16, np.float32, np.float64, np.complex64, np.complex128,
]


def sample(dtype, shape=(3, 4)):
    values = np.arange(np.prod(shape)).reshape(shape) % 7
    return values.astype(dtype)


@pytest.mark.parametrize("dtype", NUMPY_DTYPES, ids=lambda d: np.dtype(d).name)
def test_numpy_dtype_round_trips(tmp_path, dtype):
    array = sample(dtype)
    cairn.save_tree(str(tmp_path / "t"), {"a": array})
    loaded = cairn.load_tree(str(tmp_path / "t"))["a"]
    assert loaded.dtype == array.dtype
    assert loaded.shape == array.shape
    np.testing.assert_array_equal(loaded, array)


@pytest.mark.parametrize("name", ["bfloat16", "float8_e4m3fn", "float8_e5m2"])
def test_narrow_floats_round_trip_as_their_numpy_dtype(tmp_path, name):
    dtype = getattr(cairn, name)
    values = np.array([0.0, 1.0, -2.0, 0.5, 3.0], np.float32)
    narrow = cairn.cast(values, dtype)
    assert narrow.dtype == dtype
    cairn.save_tree(str(tmp_path / "t"), {"x": narrow})
    loaded = cairn.load_tree(str(tmp_path / "t"))["x"]
    assert loaded.dtype == dtype
    assert loaded.tobytes() == narrow.tobytes()
    np.testing.assert_array_equal(cairn.to_float32(loaded), values)
    assert cairn.dtype_name(loaded.dtype) == name


def test_bfloat16_structured_dtype_is_documented_form():
    if cairn.HAVE_ML_DTYPES:
        pytest.skip("ml_dtypes provides bfloat16")
    assert cairn.bfloat16 == np.dtype([("bfloat16", "<u2")])
    assert cairn.float8_e4m3fn == np.dtype([("float8_e4m3fn", "u1")])


def test_containers_and_scalars_round_trip(tmp_path):
    tree = {
        "params": {"w": sample(np.float32), "layers": [sample(np.int32), (sample(np.uint8),)]},
        "none": None,
        "step": 12,
        "big": -(2**62),
        "lr": 3e-4,
        "flag": True,
        "name": "run-é",
        "blob": b"\x00\xff",
        "empty_list": [],
        "empty_tuple": (),
        "empty_dict": {},
        "scalar_array": np.float32(2.5),
    }
    cairn.save(str(tmp_path / "c"), tree)
    loaded = cairn.load(str(tmp_path / "c"))
    assert list(loaded) == list(tree)
    assert loaded["step"] == 12 and type(loaded["step"]) is int
    assert loaded["big"] == -(2**62)
    assert loaded["lr"] == 3e-4 and type(loaded["lr"]) is float
    assert loaded["flag"] is True
    assert loaded["name"] == "run-é"
    assert loaded["blob"] == b"\x00\xff"
    assert loaded["none"] is None
    assert loaded["empty_list"] == [] and loaded["empty_tuple"] == () and loaded["empty_dict"] == {}
    assert isinstance(loaded["params"]["layers"], list)
    assert isinstance(loaded["params"]["layers"][1], tuple)
    np.testing.assert_array_equal(loaded["params"]["layers"][1][0], sample(np.uint8))
    assert loaded["scalar_array"].shape == () and loaded["scalar_array"] == 2.5


def test_non_contiguous_and_big_endian_arrays_save_their_values(tmp_path):
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    tree = {"strided": base[:, ::2], "transposed": base.T, "big": base.astype(">i4")}
    cairn.save_tree(str(tmp_path / "t"), tree)
    loaded = cairn.load_tree(str(tmp_path / "t"))
    np.testing.assert_array_equal(loaded["strided"], base[:, ::2])
    np.testing.assert_array_equal(loaded["transposed"], base.T)
    np.testing.assert_array_equal(loaded["big"], base.astype(np.int32))


def test_buffer_protocol_objects_save_as_arrays(tmp_path):
    cairn.save_tree(str(tmp_path / "t"), {"raw": bytearray(b"abc"), "view": memoryview(b"xy")})
    loaded = cairn.load_tree(str(tmp_path / "t"))
    np.testing.assert_array_equal(loaded["raw"], np.frombuffer(b"abc", np.uint8))
    np.testing.assert_array_equal(loaded["view"], np.frombuffer(b"xy", np.uint8))


def test_tree_metadata_describes_arrays_and_scalars(tmp_path):
    cairn.save_tree(str(tmp_path / "t"), {"w": sample(np.float32), "step": 3, "lr": 0.1},
                    custom_metadata={"run": "a"}, compress=True)
    info = cairn.tree_metadata(str(tmp_path / "t"))
    assert info.custom_metadata == {"run": "a"}
    assert info.layout == "aggregated"
    spec = info.tree["w"]
    assert spec == cairn.ArraySpec((3, 4), np.dtype(np.float32))
    assert spec.storage["compressed"] is True
    assert info.tree["step"] is int and info.tree["lr"] is float
    # The metadata tree is an abstract tree.
    loaded = cairn.load_tree(str(tmp_path / "t"), info.tree)
    np.testing.assert_array_equal(loaded["w"], sample(np.float32))


def test_checkpoint_metadata_and_item_names(tmp_path):
    cairn.save(str(tmp_path / "c"), {"x": 1}, metrics={"loss": 0.5}, custom_metadata={"k": [1]})
    meta = cairn.checkpoint_metadata(str(tmp_path / "c"))
    assert meta["metrics"] == {"loss": 0.5}
    assert meta["custom_metadata"] == {"k": [1]}
    assert cairn.load(str(tmp_path / "c"), item="pytree") == {"x": 1}
    assert cairn.metadata(str(tmp_path / "c")).tree == {"x": int}
