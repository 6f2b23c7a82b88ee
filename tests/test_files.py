"""atomic_write_text: whole files only, with the permissions an ordinary write gives; read_json:
one clear error for a missing or damaged file."""

import os
import stat

import pytest

from rewardsmith.files import atomic_write_text, read_json


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


class FileError(ValueError):
    pass


def read(path):
    return read_json(path, FileError, missing=f"no file {path.name}",
                     damaged=lambda exc: f"{path.name} is damaged ({exc}); write it again")


def test_read_json_returns_the_document(tmp_path):
    (tmp_path / "a.json").write_text('{"format": "x", "n": [1, 2]}')
    assert read(tmp_path / "a.json") == {"format": "x", "n": [1, 2]}


def test_missing_json_file_raises_the_callers_error_not_oserror(tmp_path):
    with pytest.raises(FileError, match="no file gone.json"):
        read(tmp_path / "gone.json")


@pytest.mark.parametrize("content", [b'{"cut": ', b"\xff\xfe not utf-8"], ids=["torn", "binary"])
def test_damaged_json_file_raises_one_message_with_the_fix(tmp_path, content):
    path = tmp_path / "a.json"
    path.write_bytes(content)
    with pytest.raises(FileError, match=r"a.json is damaged \(.+\); write it again") as info:
        read(path)
    assert info.value.__cause__ is None and info.value.__suppress_context__
