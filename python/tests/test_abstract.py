"""Abstract trees in Python's terms: ArraySpec, shape-and-dtype objects, types, None, `...`,
and arrays or tensors the load writes into."""

import numpy as np
import pytest

import cairn


@pytest.fixture
def saved(tmp_path):
    directory = str(tmp_path / "t")
    state = {
        "w": np.arange(12, dtype=np.float32).reshape(3, 4),
        "opt": {"m": np.ones(5, np.float64)},
        "step": 7,
    }
    cairn.save_tree(directory, state)
    return directory, state


def test_array_spec_casts_and_placeholder_skips(saved):
    directory, state = saved
    loaded = cairn.load_tree(
        directory, {"w": cairn.ArraySpec(dtype=np.float64), "opt": ..., "step": int})
    assert loaded["w"].dtype == np.float64
    np.testing.assert_array_equal(loaded["w"], state["w"])
    assert loaded["opt"] is Ellipsis
    assert loaded["step"] == 7


def test_region_of_an_array(saved):
    directory, state = saved
    loaded = cairn.load_tree(
        directory,
        {"w": cairn.ArraySpec(shape=(2, 2), origin=(1, 1)), "opt": ..., "step": ...})
    np.testing.assert_array_equal(loaded["w"], state["w"][1:3, 1:3])


def test_shape_dtype_struct_like_objects(saved):
    directory, state = saved

    class ShapeDtypeStruct:  # as jax.ShapeDtypeStruct: a shape and a dtype, nothing else
        def __init__(self, shape, dtype):
            self.shape, self.dtype = shape, dtype

    loaded = cairn.load_tree(
        directory,
        {"w": ShapeDtypeStruct((3, 4), np.dtype(np.int32)), "opt": ..., "step": ...})
    assert loaded["w"].dtype == np.int32
    np.testing.assert_array_equal(loaded["w"], state["w"].astype(np.int32))


def test_read_only_array_is_a_spec_not_a_destination(saved):
    directory, state = saved
    template = np.zeros((3, 4), np.float32)
    template.flags.writeable = False
    loaded = cairn.load_tree(directory, {"w": template, "opt": ..., "step": ...})
    assert loaded["w"] is not template
    np.testing.assert_array_equal(loaded["w"], state["w"])


def test_loads_into_a_numpy_array(saved):
    directory, state = saved
    destination = np.zeros((3, 4), np.float32)
    pointer = destination.ctypes.data
    loaded = cairn.load_tree(directory, {"w": destination, "opt": ..., "step": ...})
    assert loaded["w"] is destination
    assert destination.ctypes.data == pointer
    np.testing.assert_array_equal(destination, state["w"])


def test_partial_load_leaves_out_dict_keys(saved):
    directory, _ = saved
    assert cairn.load_tree(directory, {"step": int}, partial=True) == {"step": 7}


def test_non_contiguous_destination_is_refused(saved):
    directory, _ = saved
    destination = np.zeros((3, 8), np.float32)[:, ::2]
    with pytest.raises(cairn.InvalidArgumentError, match="not C-contiguous.* at w"):
        cairn.load_tree(directory, {"w": destination, "opt": ..., "step": ...})


def test_padding_and_truncation_option(saved):
    directory, state = saved
    request = {"w": ..., "opt": {"m": cairn.ArraySpec(shape=(7,))}, "step": ...}
    with pytest.raises(cairn.InvalidArgumentError, match="opt.m"):
        cairn.load_tree(directory, request)
    loaded = cairn.load_tree(directory, request, enable_padding_and_truncation=True)
    np.testing.assert_array_equal(loaded["opt"]["m"], [1, 1, 1, 1, 1, 0, 0])


def test_unknown_option_is_a_type_error(saved):
    directory, _ = saved
    with pytest.raises(TypeError, match="unknown keyword options: partail"):
        cairn.load_tree(directory, partail=True)
