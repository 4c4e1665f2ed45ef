"""Re-scoring from the feature rows stored in the catalog (schema v6, ``taste_features``): the rows give the
scores computed from the embeddings, a re-embedded photo, new signals or another prior never use a stale
row, a re-score reads no embedding, and a v5 catalog migrates (personal scores kept)."""
from __future__ import annotations

import sqlite3

import numpy as np
import pytest



@pytest.fixture
def prior(shipped_prior):
    return shipped_prior


@pytest.fixture
def library(embedded_catalog):
    return embedded_catalog


def _from_embeddings(catalog, prior, ids=None):
    """phi of the library computed the slow way: every embedding, signals, the MLP run again."""
    e_ids, emb = catalog.embeddings(prior_key())
    if ids is not None:
        keep = np.isin(e_ids, ids)
        e_ids, emb = e_ids[keep], emb[keep]
    sig = catalog.signal_matrix(e_ids.tolist())
    return e_ids, emb, sig, prior.transform(emb, sig)


def prior_key():
    from piaa_desktop.core.embeddings import embedding_key

    return embedding_key()


def _personal(catalog, ids):
    for pid, stars in zip(ids, [5, 5, 4, 4, 3, 2, 1, 1]):
        catalog.set_rating([pid], stars)
    catalog.add_preference(ids[8], ids[9], source="ranking")


def test_stored_rows_give_the_scores_computed_from_embeddings(library, prior, monkeypatch):
    from piaa_desktop.core.catalog import Catalog
    from piaa_desktop.core.personal import operations as jobs
    from piaa_desktop.core.personal.heads import expected_stars, score_library

    key = prior_key()
    sig = jobs.feature_signature(prior, key)
    ids, phi = library.taste_features(sig, key, prior.dim)
    e_ids, emb, signals, expected = _from_embeddings(library, prior)
    # stored when the photos were embedded, one finite row per embedded photo: the features themselves
    assert ids.tolist() == e_ids.tolist() and np.isfinite(phi).all() and phi.shape == (12, prior.dim)
    np.testing.assert_allclose(phi, expected, rtol=1e-5, atol=1e-5)

    pids = [p.id for p in library.photos()]
    _personal(library, pids)
    res = jobs.personalize(library)
    assert res.accepted and res.n_scored == 12
    _, head = jobs.active_model(library)
    # a re-score reads the rows, never an embedding
    for name in ("embeddings", "embeddings_of", "embeddings_with_hash"):
        monkeypatch.setattr(Catalog, name, lambda *a, **k: pytest.fail("a re-score read the embeddings"))
    assert jobs.rescore(library) == 12
    monkeypatch.undo()
    got = library.scores("personal")
    # the same scores as the folded head over the embeddings (the rated photos show their own rating)
    _stars, dists = score_library(head, prior.transform, emb, signals)
    want = expected_stars(dists)
    rated = library.ratings()
    for k, pid in enumerate(e_ids.tolist()):
        if pid in rated:
            assert got[pid] == pytest.approx(rated[pid], abs=0.5)
        else:
            assert got[pid] == pytest.approx(float(want[k]), abs=1e-4)
    detail = library.score_detail(pids[-1])["personal"]
    assert detail["model_version"] == res.version and abs(sum(detail["distribution"]) - 1) < 1e-3
    # the rows gone (an older catalog): computed from the embeddings once, stored, the same scores
    library.conn.execute("DELETE FROM taste_features")
    assert jobs.rescore(library) == 12
    again = library.scores("personal")
    assert again.keys() == got.keys() and all(abs(again[i] - got[i]) < 1e-5 for i in got)
    assert np.isfinite(library.taste_features(sig, key, prior.dim)[1]).all()
    # the generic score reads the same rows
    from piaa_desktop.core.scoring import generic_scores_for

    g_ids, g_scores, _d, version = generic_scores_for(library)
    _s, g_dists = score_library(prior.generic_head(), prior.transform, emb, signals)
    np.testing.assert_allclose(g_scores, expected_stars(g_dists), atol=1e-4)
    assert version.startswith("prior-")


def test_a_stale_row_is_never_used(library, prior):
    """A re-embedded photo, new signals of a photo, another prior or backbone: the old rows are not read."""
    import dataclasses

    from piaa_desktop.core.personal import operations as jobs
    from piaa_desktop.core.personal.heads import FeatureTransform

    key = prior_key()
    sig = jobs.feature_signature(prior, key)
    e_ids, emb, signals, _ = _from_embeddings(library, prior)
    a, b = int(e_ids[0]), int(e_ids[1])
    # a new embedding of a photo deletes its row in the same transaction; the next read computes it anew
    library.set_embeddings([(a, key, "new-content", emb[0] * 0.5)])
    ids, phi = library.taste_features(sig, key, prior.dim)
    assert np.isnan(phi[ids.tolist().index(a)]).all() and np.isfinite(np.delete(phi, ids.tolist().index(a), 0)).all()
    # new signals of a photo (a rescan of a touched file) delete its row too
    library.set_signals([(b, {"sharpness": 9.0, "brightness": 0.1})])
    ids, phi = library.taste_features(sig, key, prior.dim)
    assert np.isnan(phi[ids.tolist().index(b)]).all()
    ids, phi = jobs.library_features(library, prior)
    f_ids, _emb, _sig, fresh = _from_embeddings(library, prior)
    assert ids.tolist() == f_ids.tolist()
    np.testing.assert_allclose(phi, fresh, rtol=1e-5, atol=1e-5)  # the new vector and the new signals
    assert np.isfinite(library.taste_features(sig, key, prior.dim)[1]).all()  # and stored again
    # a row computed from an embedding that changed meanwhile is not stored
    got, _rows = library.set_taste_features(sig, key, [(a, "old-content", phi[0, :prior.transform.k])],
                                            prior.transform.signals_z)
    assert len(got) == 0
    # another prior (other PCA weights): another signature, its own rows, the old ones never read back
    t = prior.transform
    other = dataclasses.replace(prior, transform=FeatureTransform(
        t.emb_mean, t.proj * 1.01, t.sig_mean, t.sig_std, t.mlp_w1, t.mlp_b1, t.mlp_w2, t.mlp_b2, t.mlp_out, t.mlp_lin))
    sig2 = jobs.feature_signature(other, key)
    assert sig2 != sig and np.isnan(library.taste_features(sig2, key, other.dim)[1]).all()
    ids2, phi2 = jobs.library_features(library, other)
    np.testing.assert_allclose(phi2, other.transform(*_from_embeddings(library, other)[1:3]), rtol=1e-5, atol=1e-5)
    assert not np.allclose(phi2, phi)
    # one row per photo: the other prior's rows replaced these; going back recomputes them (never mixes)
    assert np.isnan(library.taste_features(sig, key, prior.dim)[1]).all()
    ids, back = jobs.library_features(library, prior)
    np.testing.assert_allclose(back, phi, rtol=1e-6, atol=1e-6)
    # another backbone key: nothing is read (no embedding of that backbone)
    assert len(library.taste_features(jobs.feature_signature(prior, "other-backbone"), "other-backbone", prior.dim)[0]) == 0
    # a missing photo is not scored
    library.conn.execute("UPDATE photos SET missing=1 WHERE id=?", (a,))
    assert a not in jobs.library_features(library, prior)[0].tolist()


def test_migration_from_v5_keeps_personal_scores(tmp_path):
    """A version-5 catalog opens as version 6: backed up, personal scores moved to their own table (JSON
    distributions still read), generic scores untouched, search by score unchanged."""
    import piaa_desktop.core.catalog as c

    path = tmp_path / "v5.sqlite3"
    conn = sqlite3.connect(path)
    for v in range(1, 6):
        for stmt in c._split_sql(c.MIGRATIONS[v]):
            conn.execute(stmt)
    conn.execute("INSERT INTO folders(id, path, added_at) VALUES (1, '/lib', 0)")
    for pid in (1, 2, 3):
        conn.execute("INSERT INTO photos(id, folder_id, path, content_hash, size, mtime, added_at, updated_at) "
                     "VALUES (?, 1, ?, 'h', 1, 0, 0, 0)", (pid, f"/lib/{pid}.jpg"))
        conn.execute("INSERT INTO embeddings VALUES (?, 'bb', 'h', ?)", (pid, np.ones(4, np.float16).tobytes()))
        conn.execute("INSERT INTO scores VALUES (?, 'generic', ?, NULL, 'g1')", (pid, float(pid)))
    conn.execute("INSERT INTO scores VALUES (1, 'personal', 4.5, '[0.0,0.0,0.1,0.4,0.5]', 'personal-v3')")
    conn.execute("INSERT INTO scores VALUES (2, 'personal', 1.5, NULL, 'personal-v3')")
    conn.execute("PRAGMA user_version=5")
    conn.commit()
    conn.close()
    cat = c.Catalog.open(path, backup_dir=tmp_path / "backups")
    try:
        assert cat.schema_version == c.SCHEMA_VERSION == 6
        assert len(list((tmp_path / "backups").glob("*v5*.sqlite3"))) == 1
        assert cat.scores("personal") == {1: 4.5, 2: 1.5}
        assert cat.scores("generic") == {1: 1.0, 2: 2.0, 3: 3.0}
        d = cat.score_detail(1)
        assert d["personal"] == {"score": 4.5, "distribution": [0.0, 0.0, 0.1, 0.4, 0.5], "model_version": "personal-v3"}
        assert d["generic"]["score"] == 1.0 and cat.score_detail(2)["personal"]["distribution"] is None
        assert cat.conn.execute("SELECT COUNT(*) FROM scores WHERE kind='personal'").fetchone()[0] == 0
        assert cat.search_ids("score:>=4") == [1]  # personal 4.5; 2 has personal 1.5; 3 falls back to generic 3
        assert cat.search_ids("score:<=3") == [2, 3]
        names = {r[0] for r in cat.conn.execute("SELECT name FROM sqlite_master")}
        assert {"taste_features", "personal_scores", "embeddings_model", "photos_missing"} <= names
        # the new tables work on the migrated file: rows, scores as arrays, a photo's removal cascades
        ids, phi = cat.taste_features("phi@x", "bb", 3)
        assert ids.tolist() == [1, 2, 3] and np.isnan(phi).all()
        got, rows = cat.set_taste_features("phi@x", "bb", [(1, "h", np.array([1.0, 2.0], np.float32))],
                                           lambda s: np.zeros((len(s), 1), np.float32))
        assert got.tolist() == [1] and rows.tolist() == [[1.0, 2.0, 0.0]]
        assert cat.taste_features("phi@x", "bb", 3)[1][0].tolist() == [1.0, 2.0, 0.0]
        n = cat.set_score_arrays("personal", [3, 1], [2.0, 4.0], np.full((2, 5), 0.2, np.float32), "personal-v4")
        assert n == 2 and cat.scores("personal") == {1: 4.0, 3: 2.0}
        assert cat.score_detail(3)["personal"] == {"score": 2.0, "distribution": [0.2] * 5, "model_version": "personal-v4"}
        cat.conn.execute("DELETE FROM photos WHERE id=1")
        assert cat.scores("personal") == {3: 2.0} and cat.taste_features("phi@x", "bb", 3)[0].tolist() == [2, 3]
    finally:
        cat.close()
