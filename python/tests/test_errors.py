"""Every status code raises its own class, under CairnError and the matching built-in."""


import numpy as np
import pytest

import cairn

CLASSES = {
    "CANCELLED": (cairn.CancelledError, None),
    "UNKNOWN": (cairn.UnknownError, None),
    "INVALID_ARGUMENT": (cairn.InvalidArgumentError, ValueError),
    "DEADLINE_EXCEEDED": (cairn.DeadlineExceededError, TimeoutError),
    "NOT_FOUND": (cairn.NotFoundError, FileNotFoundError),
    "ALREADY_EXISTS": (cairn.AlreadyExistsError, FileExistsError),
    "PERMISSION_DENIED": (cairn.PermissionDeniedError, PermissionError),
    "RESOURCE_EXHAUSTED": (cairn.ResourceExhaustedError, MemoryError),
    "FAILED_PRECONDITION": (cairn.FailedPreconditionError, RuntimeError),
    "ABORTED": (cairn.AbortedError, RuntimeError),
    "OUT_OF_RANGE": (cairn.OutOfRangeError, IndexError),
    "UNIMPLEMENTED": (cairn.UnimplementedError, NotImplementedError),
    "INTERNAL": (cairn.InternalError, RuntimeError),
    "UNAVAILABLE": (cairn.UnavailableError, OSError),
    "DATA_LOSS": (cairn.DataLossError, None),
    "UNAUTHENTICATED": (cairn.UnauthenticatedError, PermissionError),
}


@pytest.mark.parametrize("code", sorted(CLASSES))
def test_class_hierarchy(code):
    cls, builtin = CLASSES[code]
    assert issubclass(cls, cairn.CairnError)
    assert cls.__module__ == "cairn"
    if builtin is not None:
        assert issubclass(cls, builtin)


def check(error_info, cls, code, *fragments):
    assert type(error_info.value) is cls
    assert error_info.value.code == code
    for fragment in fragments:
        assert fragment in str(error_info.value)


def test_not_found(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        cairn.load(str(tmp_path / "missing"))
    check(info, cairn.NotFoundError, "NOT_FOUND", str(tmp_path / "missing"))


def test_invalid_argument_names_the_key_path(tmp_path):
    with pytest.raises(ValueError) as info:
        cairn.save_tree(str(tmp_path / "t"), {"a": {"b": np.array(["text"])}})
    check(info, cairn.InvalidArgumentError, "INVALID_ARGUMENT", "a.b")


def test_invalid_cast_is_the_librarys_message(tmp_path):
    cairn.save_tree(str(tmp_path / "t"), {"x": np.array([1.0, np.nan], np.float32)})
    with pytest.raises(cairn.InvalidArgumentError) as info:
        cairn.load_tree(str(tmp_path / "t"), {"x": cairn.ArraySpec(dtype=np.int32)})
    check(info, cairn.InvalidArgumentError, "INVALID_ARGUMENT", "x", "nan")


def test_already_exists(tmp_path):
    cairn.save(str(tmp_path / "c"), {"x": 1})
    with pytest.raises(FileExistsError) as info:
        cairn.save(str(tmp_path / "c"), {"x": 2})
    check(info, cairn.AlreadyExistsError, "ALREADY_EXISTS")
    cairn.save(str(tmp_path / "c"), {"x": 2}, overwrite=True)
    assert cairn.load(str(tmp_path / "c")) == {"x": 2}


def test_data_loss_on_a_corrupt_data_file(tmp_path, flip_data_byte):
    directory = str(tmp_path / "t")
    cairn.save_tree(directory, {"x": np.arange(4096, dtype=np.int64)})
    flip_data_byte(directory)
    with pytest.raises(cairn.DataLossError) as info:
        cairn.load_tree(directory)
    check(info, cairn.DataLossError, "DATA_LOSS")


def test_failed_precondition(tmp_path):
    reader = cairn.Checkpointer(str(tmp_path), read_only=True)
    with pytest.raises(RuntimeError) as info:
        reader.save(0, {"x": 1})
    check(info, cairn.FailedPreconditionError, "FAILED_PRECONDITION")


def test_missing_root_that_may_not_be_created(tmp_path):
    with pytest.raises(cairn.NotFoundError):
        cairn.Checkpointer(str(tmp_path / "run"), create_root=False)


def test_resource_exhausted(tmp_path):
    cairn.save_tree(str(tmp_path / "t"), {"x": np.zeros(1 << 16, np.float32)})
    with pytest.raises(MemoryError) as info:
        cairn.load_tree(str(tmp_path / "t"), max_allocation_bytes=1024)
    check(info, cairn.ResourceExhaustedError, "RESOURCE_EXHAUSTED", "x")
