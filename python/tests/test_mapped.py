"""Mapped loads (map_arrays=True): read-only views of the data files, the MapReport, and the
lifetime of a view; and loads into an ArrayArena (memory=)."""

import shutil

import numpy as np
import pytest

import cairn

STATE = {
    "w": np.arange(1 << 16, dtype=np.float32).reshape(256, 256),
    "b": np.arange(1024, dtype=np.int64),
}


def saved(tmp_path, **options):
    directory = str(tmp_path / "t")
    cairn.save_tree(directory, STATE, **options)
    return directory


def test_mapped_load_round_trips(tmp_path):
    loaded = cairn.load_tree(saved(tmp_path), map_arrays=True)
    for key, value in STATE.items():
        np.testing.assert_array_equal(loaded[key], value)
        assert loaded[key].dtype == value.dtype


def test_mapped_arrays_are_read_only(tmp_path):
    loaded = cairn.load_tree(saved(tmp_path), map_arrays=True)
    assert not loaded["w"].flags.writeable
    with pytest.raises(ValueError):
        loaded["w"][0, 0] = 1.0


def test_arrays_loaded_without_map_arrays_stay_writable(tmp_path):
    assert cairn.load_tree(saved(tmp_path))["w"].flags.writeable


def test_report_names_the_mapped_key_paths(tmp_path):
    report = cairn.MapReport()
    cairn.load_tree(saved(tmp_path), map_arrays=True, map_report=report)
    assert sorted(report.mapped) == ["b", "w"]
    assert report.fallbacks == {}


def test_report_gives_compressed_as_the_fallback_of_a_compressed_save(tmp_path):
    report = cairn.MapReport()
    loaded = cairn.load_tree(saved(tmp_path, compress=True), map_arrays=True, map_report=report)
    assert report.mapped == []
    assert report.fallbacks == {"w": "compressed", "b": "compressed"}
    # Read into memory of its own: writable.
    assert loaded["w"].flags.writeable


def test_report_gives_cast_as_the_fallback_of_a_cast(tmp_path):
    report = cairn.MapReport()
    abstract = {"w": cairn.ArraySpec(dtype=np.float64), "b": np.ndarray}
    loaded = cairn.load_tree(saved(tmp_path), abstract, map_arrays=True, map_report=report)
    assert report.mapped == ["b"]
    assert report.fallbacks == {"w": "cast"}
    assert loaded["w"].dtype == np.float64


def test_checkpoint_load_fills_the_report(tmp_path):
    directory = str(tmp_path / "c")
    cairn.save(directory, STATE)
    report = cairn.MapReport()
    loaded = cairn.load(directory, map_arrays=True, map_report=report)
    assert sorted(report.mapped) == ["b", "w"]
    assert not loaded["b"].flags.writeable


def test_corrupt_chunk_of_a_mapped_load_raises_data_loss(tmp_path, flip_data_byte):
    directory = saved(tmp_path)
    flip_data_byte(directory)
    with pytest.raises(cairn.DataLossError):
        cairn.load_tree(directory, map_arrays=True)


def test_mapped_array_outlives_the_deleted_directory(tmp_path):
    directory = saved(tmp_path)
    w = cairn.load_tree(directory, map_arrays=True)["w"]
    shutil.rmtree(directory)
    np.testing.assert_array_equal(w, STATE["w"])


def test_checkpointer_loads_mapped_with_the_constructor_option(tmp_path):
    with cairn.Checkpointer(str(tmp_path), map_arrays=True) as checkpointer:
        checkpointer.save(1, STATE)
        loaded = checkpointer.load(1)
    assert not loaded["w"].flags.writeable
    np.testing.assert_array_equal(loaded["w"], STATE["w"])


def test_arena_reuses_the_memory_of_a_freed_array(tmp_path):
    directory = saved(tmp_path)
    arena = cairn.ArrayArena()
    first = cairn.load_tree(directory, memory=arena)
    address = first["w"].ctypes.data
    del first
    assert arena.kept_bytes >= STATE["w"].nbytes
    second = cairn.load_tree(directory, memory=arena)
    assert second["w"].ctypes.data == address
    np.testing.assert_array_equal(second["w"], STATE["w"])
    assert second["w"].flags.writeable


def test_arrays_outlive_their_arena(tmp_path):
    arena = cairn.ArrayArena()
    loaded = cairn.load_tree(saved(tmp_path), memory=arena)
    del arena
    np.testing.assert_array_equal(loaded["w"], STATE["w"])
    del loaded


def test_checkpointer_keeps_its_arena(tmp_path):
    checkpointer = cairn.Checkpointer(str(tmp_path), memory=cairn.ArrayArena())
    checkpointer.save(1, STATE)
    first = checkpointer.load(1)
    address = first["w"].ctypes.data
    del first
    assert checkpointer.load(1)["w"].ctypes.data == address
    checkpointer.close()


def test_memory_of_the_wrong_type_raises_type_error(tmp_path):
    with pytest.raises(TypeError, match="memory"):
        cairn.load_tree(saved(tmp_path), memory=bytearray(16))


def test_map_report_of_the_wrong_type_raises_type_error(tmp_path):
    with pytest.raises(TypeError, match="map_report"):
        cairn.load_tree(saved(tmp_path), map_arrays=True, map_report={})


def test_map_arrays_of_the_wrong_type_raises_type_error(tmp_path):
    with pytest.raises(TypeError, match="map_arrays"):
        cairn.load_tree(saved(tmp_path), map_arrays="yes")


def test_map_report_without_map_arrays_raises_invalid_argument(tmp_path):
    with pytest.raises(cairn.InvalidArgumentError, match="map_arrays"):
        cairn.load_tree(saved(tmp_path), map_report=cairn.MapReport())


def test_step_of_a_checkpointer_loads_mapped_with_a_report(tmp_path):
    with cairn.Checkpointer(str(tmp_path)) as checkpointer:
        checkpointer.save(1, {"params": STATE})
        report = cairn.MapReport()
        cairn.load(checkpointer.step_dir(1), map_arrays=True, map_report=report)
    assert sorted(report.mapped) == ["params.b", "params.w"]
