"""Atomic output: the old file survives a failed write; new files get ordinary permissions."""

import os

import pytest

from seqt_plugins.io.atomic import atomic_write


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "picks.xml"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as handle:
            handle.write(b"half of the new")
            raise RuntimeError("crash mid-write")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["picks.xml"]


def test_new_file_follows_umask_and_replacement_keeps_mode(tmp_path):
    old = os.umask(0o022)
    try:
        target = tmp_path / "new.xml"
        with atomic_write(target) as handle:
            handle.write(b"x")
        assert target.stat().st_mode & 0o777 == 0o644
        os.chmod(target, 0o640)
        with atomic_write(target) as handle:
            handle.write(b"y")
        assert target.stat().st_mode & 0o777 == 0o640
        assert target.read_bytes() == b"y"
    finally:
        os.umask(old)
