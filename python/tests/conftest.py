"""Shared fixtures: the C++ programs the interop tests run (set by ctest; skipped when the
suite is run by hand without them), and a corrupter of saved trees."""

import os

import pytest


def _program(variable):
    path = os.environ.get(variable)
    if not path:
        pytest.skip(f"{variable} is not set (ctest sets it)")
    return path


@pytest.fixture
def cli():
    return _program("CAIRN_CLI")


@pytest.fixture
def train_loop():
    return _program("CAIRN_TRAIN_LOOP")


@pytest.fixture
def evaluate_run():
    return _program("CAIRN_EVALUATE_RUN")


@pytest.fixture
def flip_data_byte():
    """Flips the bits of one byte of the first data file of the tree saved in a directory."""

    def flip(directory, offset=100):
        data_dir = os.path.join(directory, "_cairn_data")
        name = sorted(os.listdir(data_dir))[0]
        with open(os.path.join(data_dir, name), "r+b") as f:
            f.seek(offset)
            byte = f.read(1)
            f.seek(offset)
            f.write(bytes([byte[0] ^ 0xFF]))

    return flip
