"""Detached children write caches while the parent goes on; the parent can wait for them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from skillsrv import forking
from skillsrv.forking import _can_fork, run_detached, wait_detached
from skillsrv.packs.cache import read_pickle, write_pickle_detached


def test_a_detached_write_is_read_back_whole_by_the_process_that_started_it(
        tmp_path: Path) -> None:
    for age, name in ((2_000_000, "state-oldest.pickle"), (2_000_001, "state-older.pickle")):
        (tmp_path / name).write_bytes(b"old")
        os.utime(tmp_path / name, (age, age))
    target = tmp_path / "state-new.pickle"
    value = {"postings": {f"term{n}": {n: float(n)} for n in range(50_000)}}
    write_pickle_detached(target, value, keep=2)
    value["postings"].clear()  # the child wrote its own copy
    assert read_pickle(target) == {"postings": {f"term{n}": {n: float(n)}
                                                for n in range(50_000)}}
    # Then it kept the two newest files of its kind.
    assert sorted(p.name for p in tmp_path.glob("state-*.pickle")) == [
        "state-new.pickle", "state-older.pickle"]


def test_detached_work_runs_in_another_process_and_its_exit_does_not_end_this_one(
        tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    run_detached(lambda: marker.write_text(str(os.getpid())))
    wait_detached()
    assert marker.exists()
    if (os.cpu_count() or 1) > 1 and _can_fork():
        assert int(marker.read_text()) != os.getpid()


def test_a_failing_detached_job_loses_only_its_own_work(tmp_path: Path) -> None:
    def fail() -> None:
        raise RuntimeError("disk on fire")

    if (os.cpu_count() or 1) > 1 and _can_fork():
        run_detached(fail)  # in a child: its error ends the child, not the caller
        wait_detached()
    write_pickle_detached(tmp_path / "ok-1.pickle", [1, 2, 3], keep=1)
    assert read_pickle(tmp_path / "ok-1.pickle") == [1, 2, 3]


def test_a_better_value_is_written_only_where_a_child_pays_for_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "state-1.pickle"
    write_pickle_detached(target, "as is", keep=1, better=lambda: "better")
    forked = (os.cpu_count() or 1) > 1 and _can_fork()
    assert read_pickle(target) == ("better" if forked else "as is")
    monkeypatch.setattr(forking, "_can_fork", lambda: False)  # as in a threaded server
    write_pickle_detached(target, "as is", keep=1, better=lambda: "better")
    assert read_pickle(target) == "as is"


def _square_or_die(n: int) -> int:
    if n == 7 and os.environ.get("SKILLSRV_TEST_DIE_AT_7") and os.getpid() != _PARENT:
        os._exit(1)  # a worker killed mid-batch: its pool breaks
    return n * n


_PARENT = os.getpid()


def test_forked_results_stream_in_job_order_and_match_a_plain_map() -> None:
    results = forking.imap_forked(_square_or_die, range(100), minimum=10, chunksize=4)
    assert next(results) == 0  # usable before the rest are done
    assert list(results) == [n * n for n in range(1, 100)]


def test_jobs_a_broken_pool_did_not_return_are_run_here(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKILLSRV_TEST_DIE_AT_7", "1")
    assert list(forking.imap_forked(_square_or_die, range(40), minimum=10)) == [
        n * n for n in range(40)]


def test_closing_a_stream_early_shuts_its_workers_down() -> None:
    import multiprocessing

    results = forking.imap_forked(_square_or_die, range(400), minimum=10)
    assert next(results) == 0
    results.close()
    assert multiprocessing.active_children() == []
    if "fork" in multiprocessing.get_all_start_methods():
        assert forking._can_fork()  # no pool threads left behind to make forking unsafe


def _square_announcing_the_first(n: int) -> int:
    fifo = os.environ.get("SKILLSRV_TEST_FIFO")
    if n == 0 and fifo:
        descriptor = os.open(fifo, os.O_WRONLY)
        os.write(descriptor, str(os.getpid()).encode())
        os.close(descriptor)
    return n * n


def test_workers_start_before_the_first_result_is_asked_for(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The caller may do other work first (the index scores its other fields meanwhile)."""
    import select

    if forking.pool_size(40, 10) < 2:
        pytest.skip("no worker processes here")
    fifo = tmp_path / "first"
    os.mkfifo(fifo)
    monkeypatch.setenv("SKILLSRV_TEST_FIFO", str(fifo))
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        results = forking.imap_forked(_square_announcing_the_first, range(40), minimum=10,
                                      chunksize=4)
        ready, _, _ = select.select([reader], [], [], 60)  # nothing has been asked for yet
        assert ready, "no worker started the first job"
        assert int(os.read(reader, 64)) != os.getpid()
    finally:
        os.close(reader)
    assert list(results) == [n * n for n in range(40)]
