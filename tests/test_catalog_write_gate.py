"""The catalog's write gate: this process's connections to one catalog take turns first come, first served, so
a rating made while a background job writes 100,000 personal scores waits for one chunk of them, not all."""
from __future__ import annotations

import threading
import time

import numpy as np

from piaa_desktop.core.catalog import Catalog, _WriteGate


def test_the_gate_serves_a_waiting_writer_before_the_holder_comes_back():
    gate = _WriteGate()
    gate.acquire()
    gate.acquire()  # re-entrant for its holder
    order = []

    def gui():
        gate.acquire()
        order.append("gui")
        gate.release()

    t = threading.Thread(target=gui)
    t.start()
    deadline = time.monotonic() + 10
    while not gate.waiting():
        assert time.monotonic() < deadline
        time.sleep(0.001)
    gate.release()
    assert order == []  # still held once
    gate.release()
    gate.acquire()  # the bulk writer's next chunk: after the one that waited
    order.append("bulk")
    gate.release()
    t.join(10)
    assert order == ["gui", "bulk"]
    assert not gate.waiting()


def test_connections_to_one_file_share_a_gate(tmp_path):
    a = Catalog.open(tmp_path / "c.sqlite3")
    b = Catalog.open(tmp_path / "c.sqlite3")
    other = Catalog.open(tmp_path / "d.sqlite3")
    try:
        assert a._gate is b._gate and a._gate is not other._gate
    finally:
        for c in (a, b, other):
            c.close()


def test_personal_scores_written_in_chunks_are_whole(embedded_catalog, monkeypatch):
    cat = embedded_catalog
    monkeypatch.setattr(Catalog, "SCORE_CHUNK", 5)
    ids = sorted(p.id for p in cat.photos())
    rng = np.random.default_rng(0)
    first = rng.uniform(1, 5, len(ids))
    assert cat.set_score_arrays("personal", ids, first, rng.dirichlet(np.ones(5), len(ids)), "v1") == len(ids)
    assert cat.scores("personal") == {i: float(s) for i, s in zip(ids, first)}
    # a re-score of fewer photos, one of them new to the table: updated in place, inserted, the rest deleted
    keep = ids[1:8]
    cat.set_score_arrays("personal", [ids[0]], [2.0], None, "v1")
    second = rng.uniform(1, 5, len(keep) + 1)
    cat.set_score_arrays("personal", [ids[0]] + keep, second, rng.dirichlet(np.ones(5), len(keep) + 1), "v2")
    assert cat.scores("personal") == {i: float(s) for i, s in zip([ids[0]] + keep, second)}
    assert {cat.score_detail(i)["personal"]["model_version"] for i in keep} == {"v2"}


def test_a_rating_waits_for_one_chunk_not_the_whole_write(embedded_catalog, app_paths, monkeypatch):
    """While another connection writes scores chunk by chunk, a rating from this one gets in between two chunks."""
    cat = embedded_catalog
    ids = sorted(p.id for p in cat.photos())
    monkeypatch.setattr(Catalog, "SCORE_CHUNK", 1)
    bulk = Catalog.open(app_paths.catalog)
    chunks_done = []
    real = bulk.transaction

    def slow_transaction():  # each chunk holds the gate ~30 ms, like 8,192 rows on a slow machine
        ctx = real()

        class Slow:
            def __enter__(self):
                tx = ctx.__enter__()
                time.sleep(0.03)
                return tx

            def __exit__(self, *exc):
                out = ctx.__exit__(*exc)
                chunks_done.append(time.monotonic())
                return out
        return Slow()

    bulk.transaction = slow_transaction
    t = threading.Thread(target=lambda: bulk.set_score_arrays("personal", ids, np.linspace(1, 5, len(ids)), None, "v"))
    t.start()
    while len(chunks_done) < 2:
        time.sleep(0.001)
    t0 = time.monotonic()
    cat.set_rating([ids[0]], 4)
    waited = time.monotonic() - t0
    t.join(30)
    bulk.close()
    assert len(chunks_done) == len(ids) + 1  # the deletion's transaction + one per row
    assert waited < 0.5 and chunks_done[-1] > t0 + waited  # it got in before the write ended
    assert cat.photo(ids[0]).rating == 4
