"""cairn: checkpoints for training loops, over cairn's C++ core.

Save a tree of numpy arrays, torch tensors and Python scalars into a directory, load it back
whole, in part, cast, or straight into the model's own arrays; follow a run from an evaluator.
The on-disk format is the C++ library's: a Python trainer and a C++ evaluator share one root.
"""

import numpy as _numpy

from cairn._cairn import (
    AbortedError,
    AlreadyExistsError,
    ArrayArena,
    CairnError,
    CancelledError,
    Checkpointer,
    CheckpointsIterator,
    DataLossError,
    DeadlineExceededError,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    LeasedStep,
    MapReport,
    NotFoundError,
    OutOfRangeError,
    PermissionDeniedError,
    ResourceExhaustedError,
    SaveFuture,
    UnauthenticatedError,
    UnavailableError,
    UnimplementedError,
    UnknownError,
    cast,
    checkpoint_metadata,
    checkpoints_iterator,
    dtype_name,
    load,
    load_tree,
    metadata,
    save,
    save_tree,
    tree_metadata,
    wait_for_new_checkpoint,
)
from cairn._dtypes import HAVE_ML_DTYPES, bfloat16, float8_e4m3fn, float8_e5m2
from cairn._types import ArraySpec, TreeMetadata


def to_float32(array):
    """A float32 copy of `array`, whatever its dtype (bfloat16 and float8 included)."""
    return cast(array, _numpy.float32)


__all__ = [name for name in dir() if not name.startswith("_")]
