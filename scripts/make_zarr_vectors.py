#!/usr/bin/python3
"""Writes the zarr v2 test vectors in tests/data/zarr/v2/ with Debian's python3-zarr (2.13), an
independent zarr writer. Run from the repository root as
`bash scripts/install-deps.sh python3-zarr && /usr/bin/python3 scripts/make_zarr_vectors.py`.
tests/zarr_v2_vectors_test.cc reads them back; the values follow the formulas
below, so the test computes what to expect without Python.

Element i (row-major) of each array is:
  signed integers: i % 100 - 20      unsigned integers: i % 200
  floats: i * 0.25 - 3               complex: (i * 0.5) - i*1j
  bool: i % 3 == 0
"""
import os
import shutil
import sys

import numcodecs
import numpy as np
import zarr

OUT = os.path.join("tests", "data", "zarr", "v2")


def values(dtype, shape):
    n = int(np.prod(shape, dtype=np.int64))
    i = np.arange(n, dtype=np.int64)
    kind = np.dtype(dtype).kind
    if kind == "b":
        v = i % 3 == 0
    elif kind == "i":
        v = i % 100 - 20
    elif kind == "u":
        v = i % 200
    elif kind == "f":
        v = i * 0.25 - 3
    else:
        v = i * 0.5 - 1j * i
    return v.astype(dtype).reshape(shape)


def write(name, dtype, shape, chunks, compressor=None, order="C", fill_value=0,
          separator=".", region=None):
    path = os.path.join(OUT, name)
    shutil.rmtree(path, ignore_errors=True)
    store = zarr.DirectoryStore(path, dimension_separator=separator)
    array = zarr.create(shape=shape, chunks=chunks, dtype=dtype, compressor=compressor,
                        order=order, fill_value=fill_value, store=store,
                        write_empty_chunks=region is None)
    data = values(dtype, shape)
    if region is None:
        array[...] = data
    else:
        # Only `region` is written: the chunks outside it stay missing (the fill value).
        array[region] = data[region]


def main():
    if not os.path.isdir(os.path.join("tests", "data")):
        sys.exit("run from the repository root")
    zstd = numcodecs.Zstd(level=3)
    zlib = numcodecs.Zlib(level=5)
    gzip = numcodecs.GZip(level=5)
    write("int32_many_chunks", "<i4", (7, 10), (3, 4), compressor=zstd)
    write("float64_big_endian_order_f", ">f8", (5, 6), (2, 4), compressor=zlib, order="F")
    write("uint16_gzip_nested_keys", "<u2", (4, 5, 3), (2, 2, 2), compressor=gzip,
          separator="/")
    write("int16_big_endian_order_f_3d", ">i2", (3, 4, 5), (2, 3, 2), order="F")
    write("bool_raw", "|b1", (9,), (4,), fill_value=False)
    write("scalar_float32", "<f4", (), (), compressor=zstd)
    for dtype in ["|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "<f2", "<f4", "<f8",
                  "<c8", "<c16", ">u4", ">c16", ">f4"]:
        name = "dtype_" + dtype.replace("<", "le_").replace(">", "be_").replace("|", "")
        write(name, dtype, (6,), (4,), compressor=zlib)
    # Missing chunks read as the fill value.
    write("float32_fill_nan_missing", "<f4", (6, 6), (2, 3), compressor=zstd,
          fill_value=float("nan"), region=(slice(0, 2), slice(0, 3)))
    write("int8_fill_minus5_missing", "|i1", (10,), (3,), fill_value=-5,
          region=(slice(3, 6),))
    write("float64_fill_infinity_missing", "<f8", (4,), (2,), fill_value=float("-inf"),
          region=(slice(0, 2),))
    write("complex64_fill_missing", "<c8", (4,), (2,), fill_value=1 + 2j, region=(slice(2, 4),))
    write("uint8_fill_null_missing", "|u1", (4,), (2,), fill_value=None, region=(slice(0, 2),))
    write("blosc_unread", "<i4", (4,), (4,), compressor=numcodecs.Blosc())


if __name__ == "__main__":
    main()
