"""After an update that shipped a new backbone, the app's start-up brings the library up to it on a worker:
photos re-embedded and re-scored, the personal model re-learned from the kept ratings; the window never waits."""
from __future__ import annotations

from _gui_helpers import open_window


def test_startup_updates_a_library_left_by_the_previous_backbone(qtbot, imported_library, app_paths):
    from piaa_desktop.core.catalog import Catalog
    from piaa_desktop.core.personal import operations as jobs

    cat = Catalog.open(app_paths.catalog)
    try:
        ids = [p.id for p in cat.photos()]
        for pid, stars in zip(ids, [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]):
            cat.set_rating([pid], stars)
        first = jobs.personalize(cat)
        prior = jobs.load_prior()
        key = jobs._embedding_key()
        old = key.split("@")[0] + "@" + "0" * 16  # the previous backbone's key
        cat.conn.execute("UPDATE embeddings SET model=?", (old,))
        cat.conn.commit()
        _, head = jobs.active_model(cat)
        head.meta["features"] = jobs.feature_signature(prior, old)
        cat.store_personal_model(jobs.MODEL_KIND, head.to_bytes(), {}, 10, 0)
        assert jobs.model_is_stale(cat)
    finally:
        cat.close()

    w = open_window(qtbot, app_paths)
    w.features.importing.run_startup_checks()
    qtbot.waitUntil(lambda: "Library updated for the new taste model" in w.status_label.text(), timeout=60000)
    assert f"{len(ids)} photos re-analysed" in w.status_label.text()
    assert "personal model re-learned" in w.status_label.text()
    cat = Catalog.open(app_paths.catalog)
    try:
        assert cat.photos_needing_embeddings(key) == []
        mid, _head = jobs.active_model(cat)
        assert mid is not None and mid != first.model_id
    finally:
        cat.close()
