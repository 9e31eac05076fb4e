"""numpy dtypes for the element formats numpy lacks: bfloat16, float8_e4m3fn and float8_e5m2.

When ml_dtypes can be imported these are its dtypes. Otherwise each is a one-field structured
dtype holding the raw bits under the format's name, numpy.dtype([("bfloat16", "<u2")]),
numpy.dtype([("float8_e4m3fn", "u1")]) and numpy.dtype([("float8_e5m2", "u1")]): numpy cannot
compute with them, but they name their format, so an array saved from one loads back as one.
cairn.cast(x, numpy.float32) converts either kind to float32, and back with the dtype as target.
"""

import numpy

try:
    import ml_dtypes

    bfloat16 = numpy.dtype(ml_dtypes.bfloat16)
    float8_e4m3fn = numpy.dtype(ml_dtypes.float8_e4m3fn)
    float8_e5m2 = numpy.dtype(ml_dtypes.float8_e5m2)
    HAVE_ML_DTYPES = True
except ImportError:
    bfloat16 = numpy.dtype([("bfloat16", "<u2")])
    float8_e4m3fn = numpy.dtype([("float8_e4m3fn", "u1")])
    float8_e5m2 = numpy.dtype([("float8_e5m2", "u1")])
    HAVE_ML_DTYPES = False
