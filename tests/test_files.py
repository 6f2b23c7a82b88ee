"""atomic_write_text: whole files only, with the permissions an ordinary write gives."""

import os
import stat

import pytest

from rewardsmith.files import atomic_write_text


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_file_gets_the_umask_mode_not_the_0600_of_a_temporary_file(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "report.html", "<p>hi</p>")
    finally:
        os.umask(old)
    assert path.read_text() == "<p>hi</p>"
    assert mode(path) == 0o644


def test_replaced_file_keeps_its_mode(tmp_path):
    path = tmp_path / "program.json"
    path.write_text("old")
    path.chmod(0o640)
    atomic_write_text(path, "new")
    assert path.read_text() == "new" and mode(path) == 0o640


def test_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "results.md"
    path.write_text("old")
    with pytest.raises(TypeError):
        atomic_write_text(path, None)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["results.md"]
