import sqlite3

from bench.probe import sqlite_kib


def test_sqlite_kib_counts_what_the_sqlite3_module_allocates() -> None:
    connection = sqlite3.connect(":memory:")
    before = sqlite_kib()
    assert before is not None  # the sqlite3 module here is linked to the shared library
    connection.execute("create table t (x text)")
    connection.executemany("insert into t values (?)", (("x" * 1000,) for _ in range(2000)))
    grown = sqlite_kib()
    assert grown is not None and grown - before > 1500  # about 2 MB of pages, in the connection's memory
    connection.close()
    closed = sqlite_kib()
    assert closed is not None and closed < grown - 1500
