"""Catalog jobs of the personal score on a real scanned library (12 photos generated from the sample library) and the shipped prior."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from piaa_desktop.core.jobs import Cancelled, CancelToken


@pytest.fixture
def prior(shipped_prior):
    return shipped_prior


@pytest.fixture
def library(embedded_catalog):
    return embedded_catalog


def test_generic_scores_from_the_prior(library, prior):
    from piaa_desktop.core.personal.heads import generic_scores

    ids, emb = library.embeddings()
    stars, dists, version = generic_scores(emb, library.signal_matrix(ids.tolist()))
    assert stars.shape == (12,) and dists.shape == (12, 5)
    assert np.all((stars > 0) & (stars < 6)) and np.ptp(stars) > 0
    np.testing.assert_allclose(dists.sum(1), 1, atol=1e-5)
    assert version.startswith("prior-")


def test_personalize_versions_scores_and_explains(library, prior):
    from piaa_desktop.core.personal import operations as jobs

    with pytest.raises(jobs.PersonalError, match="no feedback"):
        jobs.personalize(library)
    ids = [p.id for p in library.photos()]
    for pid, stars in zip(ids, [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]):
        library.set_rating([pid], stars)
    library.add_preference(ids[10], ids[11], source="ranking")
    seen = []
    res = jobs.personalize(library, progress=lambda d, t, m="": seen.append((d, t)))
    assert res.accepted and res.model_id and res.n_ratings == 10 and res.n_preferences == 1
    assert res.n_scored == 12 and seen[-1] == (4, 4)
    assert res.metrics["cv_srocc"] is not None
    detail = library.score_detail(ids[0])["personal"]
    assert detail["model_version"] == res.version
    assert len(detail["distribution"]) == 5 and abs(sum(detail["distribution"]) - 1) < 1e-2
    scores = library.scores("personal")
    assert np.mean([scores[i] for i in ids[:4]]) > np.mean([scores[i] for i in ids[6:10]])
    # a second run is a new version; the first is kept but inactive
    res2 = jobs.personalize(library)
    versions = jobs.model_versions(library)
    assert [v["id"] for v in versions] == [res2.model_id, res.model_id]
    assert [v["active"] for v in versions] == [True, False]
    # explanation: named attributes with signed contributions, largest first
    ex = jobs.explain(library, ids[0])
    names = [a for a, _ in ex]
    assert "sharpness" in names and jobs.EMBEDDING_LABEL in names
    assert all(abs(ex[i][1]) >= abs(ex[i + 1][1]) for i in range(len(ex) - 1))
    # roll back, then reset to the prior
    jobs.activate_version(library, res.model_id)
    assert jobs.active_model(library)[0] == res.model_id
    n = jobs.reset_to_prior(library)
    assert n == 12 and jobs.active_model(library) == (None, None)
    assert library.score_detail(ids[0])["personal"]["model_version"] == "prior"
    assert len(jobs.model_versions(library)) == 2


def test_nan_training_is_rejected_and_the_previous_model_kept(library, prior, monkeypatch):
    from piaa_desktop.core.personal import operations as jobs
    from piaa_desktop.core.personal.heads import Head

    ids = [p.id for p in library.photos()]
    library.set_rating(ids[:6], 4)
    library.set_rating(ids[6:10], 2)
    good = jobs.personalize(library)
    before = library.scores("personal")

    def broken(*a, **k):
        return Head(np.full(prior.dim, np.nan, np.float32), 0.0), np.zeros(len(prior.base_names))

    monkeypatch.setattr(jobs, "fit_head", broken)
    res = jobs.personalize(library)
    assert not res.accepted and "NaN" in res.message
    assert jobs.active_model(library)[0] == good.model_id
    assert library.scores("personal") == before
    assert len(jobs.model_versions(library)) == 1


def test_cancelled_personalize_writes_nothing(library, prior):
    from piaa_desktop.core.personal import operations as jobs

    ids = [p.id for p in library.photos()]
    library.set_rating(ids[:3], 5)
    tok = CancelToken()
    tok.cancel()
    with pytest.raises(Cancelled):
        jobs.personalize(library, cancel=tok)
    assert jobs.model_versions(library) == []
    assert library.scores("personal") == {}


def test_next_pairs_skip_answered_and_rejected(library, prior):
    from piaa_desktop.core.personal import operations as jobs

    ids = [p.id for p in library.photos()]
    library.set_flag([ids[0]], -1)
    library.add_preference(ids[1], ids[2])
    pairs = jobs.next_pairs(library, 5, rng=np.random.default_rng(0))
    assert 1 <= len(pairs) <= 5
    flat = [i for p in pairs for i in p]
    assert ids[0] not in flat
    assert frozenset((ids[1], ids[2])) not in {frozenset(p) for p in pairs}
    assert len(set(flat)) == len(flat)


def test_record_order_adds_neighbour_preferences(library):
    from piaa_desktop.core.personal import operations as jobs

    ids = [p.id for p in library.photos()][:4]
    assert jobs.record_order(library, [ids[2], ids[0], ids[2], ids[3]]) == 2
    assert library.preferences() == [(ids[2], ids[0]), (ids[0], ids[3])]
    assert jobs.record_order(library, [ids[1]]) == 0


def test_shipped_prior_manifest_entry_documents_training():
    from piaa_desktop.core.models import load_manifest

    entry = load_manifest()["models"].get("personal_prior")
    if entry is None:
        pytest.skip("prior not in manifest")
    assert "piaa train-prior" in entry["trained"]
    assert "held-out" in entry["metric"]
    assert entry["bytes"] < 5_000_000
    json.dumps(entry)


def test_shown_scores_stay_on_the_star_scale_and_keep_the_ranking(library):
    """Shown scores are the mean of each photo's 5-bin distribution: within 1-5, same order as the head."""
    from piaa_desktop.core.personal import operations as jobs
    from piaa_desktop.core.personal.heads import expected_stars, star_distribution

    latent = np.array([-3.0, 0.2, 1.0, 2.7, 3.1, 4.9, 7.5])
    dists = star_distribution(latent, 0.8)
    shown = expected_stars(dists)
    assert (shown >= 1).all() and (shown <= 5).all()
    assert (np.diff(shown) > 0).all()  # strictly increasing: rankings unchanged
    ids = library.query_ids(sort="added")
    for k, pid in enumerate(ids[:8]):
        library.set_rating([pid], 1 + k % 5)
    jobs.personalize(library)
    for pid in ids:
        d = library.score_detail(pid)["personal"]
        assert 1 <= d["score"] <= 5
        assert abs(d["score"] - sum((k + 1) * p for k, p in enumerate(d["distribution"]))) < 2e-3


def test_generic_column_is_stored_when_photos_are_embedded_and_reused(library, prior, monkeypatch):
    """The generic MLP column is computed once, when a photo is embedded, and kept in the catalog under
    the prior's signature: re-scoring reads it back instead of running the MLP again; a changed embedding
    (new content hash) or another prior is not read back."""
    from piaa_desktop.core.embeddings import embedding_key
    from piaa_desktop.core.personal import operations as jobs
    from piaa_desktop.core.personal.heads import FeatureTransform
    from piaa_desktop.core.scoring import score_library

    if not prior.transform.n_mlp:
        pytest.skip("the shipped prior has no MLP column")
    key = embedding_key()
    sig = jobs.column_signature(prior, key)
    ids, vals = library.taste_columns(sig)
    emb_ids, emb = library.embeddings(key)
    assert ids.tolist() == emb_ids.tolist()  # stored by the scan, for every embedded photo
    np.testing.assert_allclose(vals, prior.transform.mlp_raw(emb), atol=1e-4)
    expected = prior.transform.mlp_column(emb)
    calls = []
    real = FeatureTransform.mlp_raw
    monkeypatch.setattr(FeatureTransform, "mlp_raw", lambda self, e, *a, **k: calls.append(len(e)) or real(self, e, *a, **k))
    before = dict(library.scores("personal"))
    assert jobs.rescore(library) == 12 and score_library(library) == 12
    assert calls == []  # no MLP ran: both passes read the stored column
    assert library.scores("personal").keys() == before.keys() or not before
    # the same column as computing it
    col = jobs.generic_column(library, prior, emb_ids, emb, key)
    np.testing.assert_allclose(col, expected, atol=1e-4)
    # a photo whose embedding changed (other content) is recomputed, once, then stored again
    pid = int(emb_ids[0])
    library.set_embeddings([(pid, key, "other-content", emb[0] * 0.5)])
    col = jobs.generic_column(library, prior, emb_ids, np.concatenate([emb[:1] * 0.5, emb[1:]]), key)
    assert calls == [1]
    assert library.taste_columns(sig)[0].tolist() == emb_ids.tolist()
    # another prior (other weights) has another signature: nothing of this one is read back
    t = prior.transform
    other = jobs.column_signature(SimpleNamespace(transform=FeatureTransform(
        t.emb_mean, t.proj, t.sig_mean, t.sig_std, t.mlp_w1 * 1.01, t.mlp_b1, t.mlp_w2, t.mlp_b2, t.mlp_out)), key)
    assert other != sig and len(library.taste_columns(other)[0]) == 0


def test_a_personal_model_fitted_on_other_features_is_stale_and_retrained(library, prior, monkeypatch):
    """A new backbone (or prior) changes what a personal head's weights mean: the stored head is not applied,
    and the re-score after an import re-trains it from the kept answers on the new embeddings."""
    from piaa_desktop.core.personal import operations as jobs

    ids = [p.id for p in library.photos()]
    for pid, stars in zip(ids, [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]):
        library.set_rating([pid], stars)
    first = jobs.personalize(library)
    key = jobs._embedding_key()
    sig = jobs.feature_signature(prior, key)
    assert jobs.active_model(library)[1].meta["features"] == sig
    assert not jobs.model_is_stale(library)
    assert jobs.rescore_personal(library) == 12  # a plain re-score: no new version
    assert len(jobs.model_versions(library)) == 1

    # the same head read under another backbone key (what shipping a new backbone file does)
    other = key.split("@")[0] + "@" + "0" * 16
    assert jobs.feature_signature(prior, other) != sig
    monkeypatch.setattr(jobs, "_embedding_key", lambda: other)
    assert jobs.model_is_stale(library)
    assert jobs.active_model(library) == (None, None)
    assert jobs.explain(library, ids[0]) == []  # no personal "why" from a stale head
    monkeypatch.undo()

    # a head stored before heads carried a signature is stale too
    _, head = jobs.active_model(library)
    head.meta.pop("features")
    library.store_personal_model(jobs.MODEL_KIND, head.to_bytes(), {}, 10, 0)
    assert jobs.model_is_stale(library) and jobs.active_model(library) == (None, None)
    n = jobs.rescore_personal(library)  # re-trained from the kept ratings
    assert n == 12
    mid, fresh = jobs.active_model(library)
    assert mid is not None and mid != first.model_id and fresh.meta["features"] == sig
    assert not jobs.model_is_stale(library)


def test_update_models_brings_a_library_to_a_new_backbone_and_relearns_the_personal_model(
        library, prior, app_paths, monkeypatch):
    """What the app runs after its start-up checks when an update shipped a new backbone: every photo is
    embedded by the new one and re-scored, and the personal model fitted on the old features is re-learned
    from the kept ratings; until then the Info panel's words say so. A second run finds nothing to do."""
    from piaa_desktop.core.personal import operations as jobs
    from piaa_desktop.core.scanner import update_models

    ids = [p.id for p in library.photos()]
    for pid, stars in zip(ids, [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]):
        library.set_rating([pid], stars)
    first = jobs.personalize(library)
    assert update_models(library, app_paths.thumbnails) == {"embedded": 0, "scored": 0, "personal": 0}

    # the library as the previous backbone left it: its embeddings under another key, the head fitted on them
    key = jobs._embedding_key()
    old = key.split("@")[0] + "@" + "0" * 16
    library.conn.execute("UPDATE embeddings SET model=?", (old,))
    library.conn.commit()
    _, head = jobs.active_model(library)
    head.meta["features"] = jobs.feature_signature(prior, old)
    library.store_personal_model(jobs.MODEL_KIND, head.to_bytes(), {}, 10, 0)
    assert jobs.model_is_stale(library) and len(library.photos_needing_embeddings(key)) == len(ids)
    words = jobs.taste_confidence(library)
    assert "re-learned" in words and "No personal model" not in words

    counts = update_models(library, app_paths.thumbnails)
    assert counts == {"embedded": len(ids), "scored": len(ids), "personal": len(ids)}
    assert library.photos_needing_embeddings(key) == []
    mid, fresh = jobs.active_model(library)
    assert mid is not None and mid != first.model_id and fresh.meta["features"] == jobs.feature_signature(prior, key)
    assert "re-learned" not in jobs.taste_confidence(library)
    assert update_models(library, app_paths.thumbnails) == {"embedded": 0, "scored": 0, "personal": 0}
