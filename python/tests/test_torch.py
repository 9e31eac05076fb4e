"""torch tensors: saved in place, loaded as tensors or into the model's own tensors."""

import subprocess
import sys

import numpy as np
import pytest

import cairn

torch = pytest.importorskip("torch")

TORCH_DTYPES = [
    torch.bool, torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8, torch.float16,
    torch.bfloat16, torch.float32, torch.float64, torch.complex64, torch.complex128,
]


def test_cairn_does_not_import_torch():
    code = "import sys, cairn; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("dtype", TORCH_DTYPES, ids=str)
def test_tensor_round_trips_as_tensor(tmp_path, dtype):
    tensor = (torch.arange(12) % 5).reshape(3, 4).to(dtype)
    cairn.save_tree(str(tmp_path / "t"), {"x": tensor})
    loaded = cairn.load_tree(str(tmp_path / "t"), {"x": torch.Tensor})["x"]
    assert isinstance(loaded, torch.Tensor)
    assert loaded.dtype == dtype
    assert torch.equal(loaded, tensor)


def test_bfloat16_tensor_loads_as_numpy_bfloat16(tmp_path):
    tensor = torch.tensor([1.0, -2.5, 0.125], dtype=torch.bfloat16)
    cairn.save_tree(str(tmp_path / "t"), {"x": tensor})
    loaded = cairn.load_tree(str(tmp_path / "t"))["x"]
    assert loaded.dtype == cairn.bfloat16
    np.testing.assert_array_equal(cairn.to_float32(loaded), [1.0, -2.5, 0.125])


def test_spec_with_torch_dtype_gives_a_cast_tensor(tmp_path):
    cairn.save_tree(str(tmp_path / "t"), {"x": np.arange(4, dtype=np.float32)})
    loaded = cairn.load_tree(str(tmp_path / "t"), {"x": cairn.ArraySpec(dtype=torch.bfloat16)})
    assert loaded["x"].dtype == torch.bfloat16
    assert loaded["x"].float().tolist() == [0.0, 1.0, 2.0, 3.0]


def test_loads_into_the_models_tensors(tmp_path):
    model = torch.nn.Linear(4, 3)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    cairn.save_tree(str(tmp_path / "t"), state)
    fresh = torch.nn.Linear(4, 3)
    targets = fresh.state_dict()
    pointers = {k: v.data_ptr() for k, v in targets.items()}
    loaded = cairn.load_tree(str(tmp_path / "t"), targets)
    for key, tensor in loaded.items():
        assert tensor is targets[key]
        assert tensor.data_ptr() == pointers[key]
        assert torch.equal(tensor, state[key])
    assert torch.equal(fresh.weight, model.weight)


def test_tensors_needing_grad_and_non_contiguous_save(tmp_path):
    weight = torch.randn(4, 6, requires_grad=True)
    cairn.save_tree(str(tmp_path / "t"), {"w": weight, "t": weight.detach().t()})
    loaded = cairn.load_tree(str(tmp_path / "t"))
    np.testing.assert_array_equal(loaded["w"], weight.detach().numpy())
    np.testing.assert_array_equal(loaded["t"], weight.detach().t().numpy())


def test_non_contiguous_tensor_destination_is_refused(tmp_path):
    cairn.save_tree(str(tmp_path / "t"), {"w": np.zeros((3, 4), np.float32)})
    with pytest.raises(cairn.InvalidArgumentError, match="not contiguous"):
        cairn.load_tree(str(tmp_path / "t"), {"w": torch.zeros(4, 3).t()})


def test_mapped_array_asked_as_a_tensor_stays_a_read_only_numpy_array(tmp_path):
    cairn.save_tree(str(tmp_path / "t"), {"x": torch.arange(1024, dtype=torch.float32)})
    loaded = cairn.load_tree(str(tmp_path / "t"), {"x": torch.Tensor}, map_arrays=True)["x"]
    # torch has no read-only tensors: a write through one would fault on the mapped pages.
    assert isinstance(loaded, np.ndarray)
    assert not loaded.flags.writeable
    assert torch.equal(torch.from_numpy(loaded.copy()), torch.arange(1024, dtype=torch.float32))
