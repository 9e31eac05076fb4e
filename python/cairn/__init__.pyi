# Type stubs of the cairn package (docs/PYTHON.md describes the API).
from typing import Any, Dict, Iterator, List, Literal, Optional, Sequence, Tuple, Union

import numpy

HAVE_ML_DTYPES: bool
bfloat16: numpy.dtype
float8_e4m3fn: numpy.dtype
float8_e5m2: numpy.dtype

# A tree: dicts with str keys, lists, tuples and None, with leaves of numpy arrays (or anything
# with the buffer protocol), torch tensors, int, float, bool, str and bytes.
_Tree = Any
# An abstract tree: a tree whose leaves may also be ArraySpec, objects with .shape and .dtype,
# the types int, float, bool, str, bytes, numpy.ndarray and torch.Tensor, and `...` (skip).
# Writable numpy arrays and torch tensors in it receive the loaded data.
_AbstractTree = Any
_DTypeLike = Any
_Layout = Literal["aggregated", "per_leaf"]
_CommitMode = Literal["rename", "commit_file"]

class ArraySpec:
    shape: Optional[Tuple[int, ...]]
    dtype: Optional[_DTypeLike]
    origin: Optional[Tuple[int, ...]]
    storage: Optional[Dict[str, Any]]
    def __init__(
        self,
        shape: Optional[Sequence[int]] = ...,
        dtype: Optional[_DTypeLike] = ...,
        origin: Optional[Sequence[int]] = ...,
        *,
        storage: Optional[Dict[str, Any]] = ...,
    ) -> None: ...

class TreeMetadata:
    tree: _AbstractTree
    custom_metadata: Any
    format_version: int
    layout: _Layout
    writer: str
    data_bytes: int

class CairnError(Exception):
    code: str

class CancelledError(CairnError): ...
class UnknownError(CairnError): ...
class InvalidArgumentError(CairnError, ValueError): ...
class DeadlineExceededError(CairnError, TimeoutError): ...
class NotFoundError(CairnError, FileNotFoundError): ...
class AlreadyExistsError(CairnError, FileExistsError): ...
class PermissionDeniedError(CairnError, PermissionError): ...
class ResourceExhaustedError(CairnError, MemoryError): ...
class FailedPreconditionError(CairnError, RuntimeError): ...
class AbortedError(CairnError, RuntimeError): ...
class OutOfRangeError(CairnError, IndexError): ...
class UnimplementedError(CairnError, NotImplementedError): ...
class InternalError(CairnError, RuntimeError): ...
class UnavailableError(CairnError, OSError): ...
class DataLossError(CairnError): ...
class UnauthenticatedError(CairnError, PermissionError): ...

def cast(array: Any, dtype: _DTypeLike) -> numpy.ndarray:
    """A copy of `array` converted to `dtype` by cairn's conversion rules."""

def to_float32(array: Any) -> numpy.ndarray:
    """A float32 copy of `array`, bfloat16 and float8 included."""

def dtype_name(dtype: _DTypeLike) -> str:
    """cairn's name of a numpy or torch dtype ("bfloat16")."""

def save_tree(
    directory: str,
    tree: _Tree,
    *,
    compress: bool = ...,
    compression_level: int = ...,
    byte_shuffle: bool = ...,
    chunk_bytes: int = ...,
    layout: _Layout = ...,
    storage_dtype: Optional[_DTypeLike] = ...,
    sync: bool = ...,
    parallelism: int = ...,
    custom_metadata: Any = ...,
) -> None:
    """Saves `tree` into `directory` (absent or empty); arrays are read in place."""

class MapReport:
    """What a load with map_arrays=True did with each array, by key path; pass one as
    map_report= and the load fills it in."""
    def __init__(self) -> None: ...
    @property
    def mapped(self) -> List[str]:
        """Key paths of the arrays returned as read-only views of the data files."""
    @property
    def fallbacks(self) -> Dict[str, str]:
        """Key path -> why it was read into memory of its own: destination, cast, region,
        padding, compressed, layout, empty, format or filesystem."""

class ArrayArena:
    """Memory for loads (memory=) that keeps the memory of destroyed arrays for the next load
    of the same sizes, already faulted in. Arrays may outlive the arena."""
    def __init__(self, *, huge_pages: bool = ..., max_kept_bytes: Optional[int] = ...) -> None: ...
    @property
    def kept_bytes(self) -> int: ...
    def release(self) -> None: ...

def load_tree(
    directory: str,
    abstract: Optional[_AbstractTree] = ...,
    *,
    partial: bool = ...,
    enable_padding_and_truncation: bool = ...,
    saturate_casts: bool = ...,
    max_allocation_bytes: Optional[int] = ...,
    load_parallelism: int = ...,
    map_arrays: bool = ...,
    map_report: Optional[MapReport] = ...,
    memory: Optional[ArrayArena] = ...,
) -> _Tree:
    """Loads the tree in `directory`, as saved or as `abstract` asks."""

def tree_metadata(directory: str) -> TreeMetadata:
    """Describes the tree in `directory` without reading array bytes."""

def save(
    directory: str,
    tree: _Tree,
    *,
    overwrite: bool = ...,
    metrics: Optional[Dict[str, Any]] = ...,
    custom_metadata: Optional[Dict[str, Any]] = ...,
    commit_mode: _CommitMode = ...,
    compress: bool = ...,
    compression_level: int = ...,
    byte_shuffle: bool = ...,
    chunk_bytes: int = ...,
    layout: _Layout = ...,
    storage_dtype: Optional[_DTypeLike] = ...,
    sync: bool = ...,
    parallelism: int = ...,
) -> None:
    """Saves `tree` as a checkpoint at `directory`, committed atomically."""

def load(
    directory: str,
    abstract: Optional[_AbstractTree] = ...,
    *,
    item: Optional[str] = ...,
    flat: bool = ...,
    partial: bool = ...,
    enable_padding_and_truncation: bool = ...,
    saturate_casts: bool = ...,
    max_allocation_bytes: Optional[int] = ...,
    load_parallelism: int = ...,
    map_arrays: bool = ...,
    map_report: Optional[MapReport] = ...,
    memory: Optional[ArrayArena] = ...,
) -> _Tree:
    """Loads the pytree of the checkpoint at `directory`."""

def metadata(directory: str, *, item: Optional[str] = ..., flat: bool = ...) -> TreeMetadata:
    """Describes the pytree of the checkpoint at `directory`."""

def checkpoint_metadata(directory: str) -> Dict[str, Any]:
    """The checkpoint's _CHECKPOINT_METADATA."""

class SaveFuture:
    @property
    def step(self) -> int: ...
    @property
    def started(self) -> bool: ...
    def done(self) -> bool: ...
    def result(self, timeout: Optional[float] = ...) -> None:
        """Waits until the step has committed; raises the save's error."""
    def report(self) -> Dict[str, float]: ...

class Checkpointer:
    def __init__(
        self,
        root: str,
        *,
        save_interval_steps: Optional[int] = ...,
        save_on_steps: Optional[Sequence[int]] = ...,
        save_min_interval_secs: Optional[float] = ...,
        max_to_keep: Optional[int] = ...,
        keep_period: Optional[int] = ...,
        keep_time_interval_secs: Optional[float] = ...,
        best_metric: Optional[str] = ...,
        best_mode: Literal["min", "max"] = ...,
        keep_best: Optional[int] = ...,
        keep_checkpoints_without_metrics: bool = ...,
        allow_deleting_latest: bool = ...,
        todelete_subdir: str = ...,
        step_prefix: Optional[str] = ...,
        step_format_fixed_length: Optional[int] = ...,
        commit_mode: _CommitMode = ...,
        create_root: bool = ...,
        read_only: bool = ...,
        async_copy: bool = ...,
        max_saves_in_flight: int = ...,
        handle_sigterm: bool = ...,
        cleanup_temporaries: bool = ...,
        compress: bool = ...,
        compression_level: int = ...,
        byte_shuffle: bool = ...,
        chunk_bytes: int = ...,
        layout: _Layout = ...,
        storage_dtype: Optional[_DTypeLike] = ...,
        sync: bool = ...,
        parallelism: int = ...,
        partial: bool = ...,
        enable_padding_and_truncation: bool = ...,
        saturate_casts: bool = ...,
        max_allocation_bytes: Optional[int] = ...,
        load_parallelism: int = ...,
        map_arrays: bool = ...,
        memory: Optional[ArrayArena] = ...,
    ) -> None: ...
    @property
    def root(self) -> str: ...
    @property
    def preempted(self) -> bool: ...
    def step_dir(self, step: int) -> str: ...
    def should_save(self, step: int) -> bool: ...
    def save(
        self,
        step: int,
        state: _Tree,
        *,
        metrics: Optional[Dict[str, Any]] = ...,
        custom_metadata: Optional[Dict[str, Any]] = ...,
        force: bool = ...,
        overwrite: bool = ...,
    ) -> bool: ...
    def save_async(
        self,
        step: int,
        state: _Tree,
        *,
        metrics: Optional[Dict[str, Any]] = ...,
        custom_metadata: Optional[Dict[str, Any]] = ...,
        force: bool = ...,
        overwrite: bool = ...,
    ) -> SaveFuture: ...
    def wait_until_finished(self) -> None: ...
    def close(self) -> None: ...
    def reload(self) -> None: ...
    def apply_retention(self) -> None: ...
    def delete(self, step: int) -> None: ...
    def is_saving_in_progress(self) -> bool: ...
    def latest_step(self) -> Optional[int]: ...
    def all_steps(self) -> List[int]: ...
    def best_step(self) -> Optional[int]: ...
    def metrics(self, step: int) -> Dict[str, Any]: ...
    def checkpoint_metadata(self, step: int) -> Dict[str, Any]: ...
    def load(
        self,
        step: int,
        abstract: Optional[_AbstractTree] = ...,
        *,
        item: Optional[str] = ...,
        flat: bool = ...,
    ) -> _Tree: ...
    def notify_preemption(self) -> None: ...
    def __enter__(self) -> "Checkpointer": ...
    def __exit__(self, *exc: Any) -> bool: ...

class LeasedStep:
    @property
    def step(self) -> int: ...
    @property
    def path(self) -> str: ...
    @property
    def found(self) -> bool: ...
    @property
    def leased(self) -> bool: ...
    def release(self) -> None: ...
    def __int__(self) -> int: ...
    def __index__(self) -> int: ...
    def __bool__(self) -> bool: ...
    def __enter__(self) -> "LeasedStep": ...
    def __exit__(self, *exc: Any) -> bool: ...

class CheckpointsIterator(Iterator[LeasedStep]):
    @property
    def last_step(self) -> Optional[int]: ...
    @property
    def notification_status(self) -> str: ...
    def __iter__(self) -> "CheckpointsIterator": ...
    def __next__(self) -> LeasedStep: ...

def checkpoints_iterator(
    root: str,
    *,
    mode: Literal["newest", "every"] = ...,
    timeout_secs: Optional[float] = ...,
    min_interval_secs: Optional[float] = ...,
    after_step: Optional[int] = ...,
    poll_interval_secs: float = ...,
    lease_ttl_secs: float = ...,
    step_prefix: Optional[str] = ...,
    step_format_fixed_length: Optional[int] = ...,
    commit_mode: _CommitMode = ...,
) -> CheckpointsIterator: ...

def wait_for_new_checkpoint(
    root: str,
    *,
    until_step: Optional[int] = ...,
    timeout_secs: Optional[float] = ...,
    poll_interval_secs: float = ...,
    lease_ttl_secs: float = ...,
    step_prefix: Optional[str] = ...,
    step_format_fixed_length: Optional[int] = ...,
    commit_mode: _CommitMode = ...,
) -> LeasedStep: ...
