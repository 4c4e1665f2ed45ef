"""Loaders of personal rating data sets, on small files in the real formats written here."""
from __future__ import annotations

import pytest

from piaa_desktop.core.personal.datasets import (
    RatingsError,
    detect_format,
    load_aadb,
    load_flickr_aes,
    load_generic,
    load_para,
    load_ratings,
)


def test_flickr_aes_worker_csv_with_spaces(tmp_path):
    p = tmp_path / "FLICKR-AES_image_labeled_by_each_worker.csv"
    p.write_text(
        "worker, imagePair, score\n"
        "A1, farm1_1_a.jpg, 4\n"
        "A1, farm1_2_b.jpg, 2\n"
        "B7, farm1_1_a.jpg, 5\n"
        "B7, farm1_3_c.jpg, not-a-number\n"
    )
    t = load_ratings(p)
    assert t.fmt == "flickr-aes"
    assert t.users() == ["A1", "B7"]
    assert t.skipped == 1 and t.notes
    by = t.by_user()
    assert by["A1"] == {"farm1_1_a.jpg": 4.0, "farm1_2_b.jpg": 2.0}
    assert by["B7"] == {"farm1_1_a.jpg": 5.0}


def test_aadb_per_rater_csv_and_mean_list(tmp_path):
    p = tmp_path / "aadb_raters.csv"
    p.write_text("ImageFile,AnnotatorID,score\nfarm1_a.jpg,11,0.8\nfarm1_b.jpg,11,0.2\nfarm1_a.jpg,12,1.0\n")
    assert detect_format(p) == "aadb"
    t = load_aadb(p)
    assert t.scale == (0.0, 1.0)
    by = t.by_user()
    assert by["11"]["farm1_a.jpg"] == pytest.approx(1 + 4 * 0.8)
    assert by["12"]["farm1_a.jpg"] == pytest.approx(5.0)
    q = tmp_path / "imgListTrainRegression_score.txt"
    q.write_text("farm1_a.jpg 0.6\nfarm1_b.jpg 0.1\n\n")
    t2 = load_ratings(q)
    assert t2.fmt == "aadb" and t2.users() == ["aadb-mean"]
    assert t2.by_user()["aadb-mean"]["farm1_b.jpg"] == pytest.approx(1.4)


def test_para_with_sessions(tmp_path):
    p = tmp_path / "PARA-Images.csv"
    p.write_text(
        "sessionId,imageName,userId,aestheticScore,qualityScore\n"
        "s1,iaa_1.jpg,u1,3.5,4\n"
        "s1,iaa_2.jpg,u1,2.0,3\n"
        "s2,iaa_3.jpg,u2,5,5\n"
    )
    t = load_ratings(p)
    assert t.fmt == "para"
    assert t.by_user()["u1"] == {"s1/iaa_1.jpg": 3.5, "s1/iaa_2.jpg": 2.0}
    assert load_para(p).by_user()["u2"] == {"s2/iaa_3.jpg": 5.0}


def test_generic_csv_scale_and_duplicates(tmp_path):
    p = tmp_path / "ratings.csv"
    p.write_text("user,image,score\nu,a.jpg,0\nu,b.jpg,10\nu,b.jpg,8\nv,a.jpg,5\n")
    t = load_generic(p)
    assert t.scale == (0.0, 10.0)
    by = t.by_user()
    assert by["u"]["a.jpg"] == pytest.approx(1.0)
    assert by["u"]["b.jpg"] == pytest.approx(1 + 4 * 0.9)  # repeated rows are averaged
    assert by["v"]["a.jpg"] == pytest.approx(3.0)


def test_bad_files_raise_clear_errors(tmp_path):
    with pytest.raises(RatingsError, match="not found"):
        load_ratings(tmp_path / "nope.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(RatingsError, match="empty"):
        load_ratings(empty)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a,b\n1,2\n")
    with pytest.raises(RatingsError, match="user,image,score"):
        load_ratings(wrong)
    junk = tmp_path / "junk.csv"
    junk.write_text("user,image,score\nu,a.jpg,x\n")
    with pytest.raises(RatingsError, match="no usable"):
        load_ratings(junk)
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81\x82")
    with pytest.raises(RatingsError):
        load_ratings(binary)
    fl = tmp_path / "f.csv"
    fl.write_text("worker,imagePair\nA,b.jpg\n")
    with pytest.raises(RatingsError):
        load_flickr_aes(fl)
