"""Shared fixtures: the C++ programs the interop tests run (set by ctest; skipped when the
suite is run by hand without them)."""

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
