import os
import stat

import pytest

from piaa_desktop.core.fsutil import atomic_write, file_mode, is_within, unique_path


def test_atomic_write_replaces_whole_file_or_nothing(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(OSError):
        with atomic_write(target, "w") as fh:
            fh.write("half")
            raise OSError(28, "No space left on device")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no .part left behind
    with atomic_write(target, "w") as fh:
        fh.write("new")
    assert target.read_text() == "new"


def test_atomic_write_gives_normal_permissions(tmp_path):
    with atomic_write(tmp_path / "new.bin") as fh:
        fh.write(b"x")
    with open(tmp_path / "plain.bin", "wb") as fh:  # what a plain open() makes in this process
        fh.write(b"x")
    mode = stat.S_IMODE((tmp_path / "new.bin").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "plain.bin").stat().st_mode) == file_mode()
    existing = tmp_path / "keep.bin"
    existing.write_bytes(b"1")
    existing.chmod(0o640)
    with atomic_write(existing) as fh:
        fh.write(b"2")
    assert stat.S_IMODE(existing.stat().st_mode) == 0o640


def test_unique_path_never_overwrites(tmp_path):
    p = tmp_path / "x.jpg"
    assert unique_path(p) == p
    p.write_bytes(b"1")
    (tmp_path / "x-1.jpg").write_bytes(b"1")
    assert unique_path(p) == tmp_path / "x-2.jpg"


def test_is_within(tmp_path):
    assert is_within(tmp_path / "a" / "b", tmp_path)
    assert not is_within(tmp_path / ".." / "evil", tmp_path)
    os.symlink("/", tmp_path / "root")
    assert not is_within(tmp_path / "root" / "etc", tmp_path)
