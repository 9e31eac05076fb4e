"""The plain Python types of cairn's API: an abstract array leaf and a tree's metadata."""

import dataclasses
from typing import Any, Optional, Tuple


class ArraySpec:
    """An abstract array leaf: what to load for one array.

    shape: the shape to return (a mismatch with the stored one is an error unless padding and
      truncation are enabled); with `origin`, the extent of the region
      global[origin : origin + shape] to read. None: as stored.
    dtype: load as this dtype (numpy or torch dtype, or a name), cast from the stored one. A
      torch dtype returns a torch tensor. None: as saved.
    origin: the start of a region, one index per dimension.
    storage: filled in by metadata(): stored_dtype, chunk_shape, compressed, byte_shuffled,
      compression_level, stored_bytes, num_shards.
    """

    __slots__ = ("shape", "dtype", "origin", "storage")

    def __init__(self, shape=None, dtype=None, origin=None, *, storage=None):
        self.shape = None if shape is None else tuple(int(d) for d in shape)
        self.dtype = dtype
        self.origin = None if origin is None else tuple(int(d) for d in origin)
        self.storage = storage

    def __repr__(self):
        fields = [f"shape={self.shape}", f"dtype={self.dtype}"]
        if self.origin is not None:
            fields.append(f"origin={self.origin}")
        return "ArraySpec(" + ", ".join(fields) + ")"

    def __eq__(self, other):
        if not isinstance(other, ArraySpec):
            return NotImplemented
        return (self.shape, self.dtype, self.origin) == (other.shape, other.dtype, other.origin)

    __hash__ = None


@dataclasses.dataclass(frozen=True)
class TreeMetadata:
    """A saved tree described from its index: `tree` has an ArraySpec per array (with its
    storage) and a type per scalar, and can be passed to load() as the abstract tree."""

    tree: Any
    custom_metadata: Any
    format_version: int
    layout: str
    writer: str
    data_bytes: int
