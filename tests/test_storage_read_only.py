"""Read-only opens (``bot mentions``, ``bot incidents``, ``bot audit``): the right file, whatever
its path holds, and a clear word when its schema is not this Vigie's."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage.database import StorageError, open_database
from storage.mentions import count_mentions, find_mentions, save_batch
from storage.migrations import MIGRATIONS, current_version
from tests.test_migrations import at_version
from tests.test_storage import scored


def files_in(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


@pytest.mark.parametrize("folder", ["a#b", "%41", "what?mode=rw", "50%", "x%2Fy"])
def test_a_read_only_open_reads_the_file_at_its_path_whatever_the_path_holds(
    tmp_path: Path, folder: str
) -> None:
    path = tmp_path / folder / "vigie.db"
    writer = open_database(path)
    save_batch(writer, [scored(1)])
    writer.close()
    before = files_in(tmp_path)

    reader = open_database(path, read_only=True)
    try:
        assert [row["native_id"] for row in find_mentions(reader)] == ["m-1"]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            save_batch(reader, [scored(2)])
    finally:
        reader.close()
    assert files_in(tmp_path) - before <= {f"{folder}/vigie.db-wal", f"{folder}/vigie.db-shm"}
    assert not (tmp_path / "a").exists()
    assert not (tmp_path / "A").exists()


def test_a_read_only_open_of_a_relative_path_with_a_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    writer = open_database(Path("a#b/vigie.db"))
    save_batch(writer, [scored(1)])
    writer.close()
    reader = open_database(Path("a#b/vigie.db"), read_only=True)
    try:
        assert count_mentions(reader) == 1
    finally:
        reader.close()
    assert not (tmp_path / "a").exists()


def test_a_database_from_a_newer_vigie_is_refused_read_only_as_the_writer_refuses_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "vigie.db"
    open_database(path).close()
    raw = sqlite3.connect(path)
    with raw:
        raw.execute("INSERT INTO schema_version VALUES (?, 'later')", [len(MIGRATIONS) + 1])
    raw.close()

    with pytest.raises(StorageError) as writing:
        open_database(path)
    with pytest.raises(StorageError) as reading:
        open_database(path, read_only=True)
    assert "newer than this Vigie" in str(reading.value)
    assert "upgrade Vigie" in str(reading.value)
    assert str(reading.value) == str(writing.value)


def test_a_database_from_an_older_vigie_read_only_says_to_run_vigie_once(tmp_path: Path) -> None:
    path = tmp_path / "vigie.db"
    at_version(path, len(MIGRATIONS) - 2).close()

    with pytest.raises(StorageError, match=r"older than this Vigie.*`python -m bot run` once"):
        open_database(path, read_only=True)
    old = open_database(path, read_only=False)  # the writer upgrades it
    old.close()
    reader = open_database(path, read_only=True)
    try:
        assert current_version(reader) == len(MIGRATIONS)
    finally:
        reader.close()


def test_a_read_only_open_leaves_an_old_database_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "vigie.db"
    at_version(path, 3).close()
    with pytest.raises(StorageError, match="older"):
        open_database(path, read_only=True)
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == 3
    raw.close()


def test_an_empty_file_read_only_is_no_vigie_database(tmp_path: Path) -> None:
    path = tmp_path / "vigie.db"
    path.touch()
    with pytest.raises(StorageError, match="is not a Vigie database: the file is empty"):
        open_database(path, read_only=True)


def test_junk_read_only_is_no_vigie_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is certainly not an SQLite file " * 200)
    with pytest.raises(StorageError, match="is not a Vigie database: file is not a database"):
        open_database(path, read_only=True)
