"""Hierarchical keywords (catalog, XMP dc:subject + lr:hierarchicalSubject, import), the search language,
collections and the `piaa keyword` / `piaa search` / `piaa collection` commands."""
from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from piaa_desktop.core import search, sync, xmp
from piaa_desktop.core.catalog import Catalog, UndoStack
from piaa_desktop.core.sample import copy_sample_library
from piaa_desktop.core.settings import Settings

EXIFTOOL = shutil.which("exiftool")


@pytest.fixture
def lib(tmp_path) -> Path:
    return copy_sample_library(tmp_path / "lib")


def _scan(catalog, folder, app_paths, hook=None) -> list[int]:
    from piaa_desktop.core.scanner import scan_folder

    res = scan_folder(catalog, folder, app_paths.cache_dir, workers=2, on_new_photo=hook)
    assert not res.errors
    return sorted(res.new)


def _fake_catalog(path: Path, rows) -> Catalog:
    """A catalog of made-up photo rows (name, camera, capture_time, rating, flag)."""
    cat = Catalog.open(path)
    fid = cat.add_folder(path.parent)
    now = time.time()
    with cat.transaction() as tx:
        for name, cam, ct, rating, flag in rows:
            tx.execute(
                "INSERT INTO photos(folder_id, path, content_hash, size, mtime, capture_time, camera, rating, flag, "
                "added_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (fid, str(path.parent / "shoot" / name), "h", 1, now, ct, cam, rating, flag, now, now),
            )
    return cat


# ------------------------------------------------------------------------------------------ parser
def test_parse_fields_ranges_negation_and_quotes():
    q = search.parse('kw:"New York" -flag:reject rating:>=3 date:2024-05..2024-06-15 score:3.5.. sunset')
    assert [t.field for t in q.terms] == ["keyword", "flag", "rating", "date", "score", "text"]
    assert q.terms[0].value == "New York"
    assert q.terms[1].negate and q.terms[1].value == -1
    assert q.terms[2].value == ((">=", 3),)
    assert q.terms[3].value == ((">=", "2024-05-01"), ("<", "2024-06-16"))
    assert q.terms[4].value == ((">=", 3.5),)
    assert search.parse("date:2024-12").terms[0].value == ((">=", "2024-12-01"), ("<", "2025-01-01"))
    assert search.parse("before:2023").terms[0].value == (("<", "2024-01-01"),)
    assert not search.parse("   ")
    assert search.parse('kw:"Par').terms[0].value == "Par"  # half-typed quote
    assert search.parse("kw:").terms == []  # half-typed field
    for bad in ("colour:blue x:1", "rating:7", "date:May", "score:high", "flag:maybe"):
        if bad.startswith("colour"):
            assert search.parse(bad.split()[0]).terms[0].field == "label"
            with pytest.raises(search.SearchError, match="unknown search field"):
                search.parse(bad)
        else:
            with pytest.raises(search.SearchError):
                search.parse(bad)


def test_catalog_search_every_field(tmp_path):
    cat = _fake_catalog(tmp_path / "c.sqlite3", [
        ("a_1.jpg", "X100V", "2024-05-17T10:00:00", 4, 1),
        ("b%2.jpg", "EOS R5", "2023-02-01T08:00:00", 2, -1),
        ("paris.jpg", None, "2024-12-31T23:59:59", 0, 0),
    ])
    cat.add_keywords([1, 2], ["Places|France|Paris", "sunset"])
    cat.add_keywords([3], ["Places|Italy"])
    cat.set_color_label([2], "red")
    cat.set_scores("generic", [(1, 3.2, None), (2, 4.1, None), (3, 2.0, None)])
    cat.set_scores("personal", [(1, 4.5, None)])

    def ids(q):
        return cat.search_ids(q)

    assert ids("kw:France") == [1, 2]
    assert ids("kw:places|france") == [1, 2]
    assert ids("kw:Places") == [1, 2, 3]
    assert ids("kw:Fra*") == [1, 2]
    assert ids("kw:Franc") == []  # a whole component, not a substring
    assert ids("paris") == [1, 2, 3]  # bare text: keyword or file name
    assert ids("name:paris") == [3]
    assert ids("name:%") == [2] and ids("name:_1") == [1]  # LIKE wildcards are literal
    assert ids("camera:x100") == [1] and ids("-camera:x100") == [2, 3]
    assert ids("date:2024") == [1, 3] and ids("date:2024-05-17") == [1] and ids("date:..2023-12") == [2]
    assert ids("rating:>=2") == [1, 2] and ids("rating:0") == [3] and ids("stars:2..3") == [2]
    assert ids("flag:pick") == [1] and ids("-flag:reject") == [1, 3]
    assert ids("score:>=4") == [1, 2]  # personal 4.5 for 1, generic 4.1 for 2
    assert ids("generic:>=4") == [2]
    assert ids("label:red") == [2] and ids("label:none") == [1, 3]
    assert ids("folder:shoot") == [1, 2, 3]
    assert ids("kw:France -flag:reject rating:>=3") == [1]
    # a query the catalog cannot run is refused before SQL
    with pytest.raises(search.SearchError):
        cat.search_ids("nope:1")
    cat.close()


def test_keywords_undo_case_and_descendants(tmp_path):
    cat = _fake_catalog(tmp_path / "c.sqlite3", [("a.jpg", None, None, 0, 0), ("b.jpg", None, None, 0, 0)])
    undo = UndoStack(cat)
    undo.push(cat.add_keywords([1, 2], [" Places | France|Paris ", "sunset", "SUNSET"]))
    assert cat.keywords_of() == {1: ["Places|France|Paris", "sunset"], 2: ["Places|France|Paris", "sunset"]}
    undo.push(cat.add_keywords([1], ["places|france|paris", "Beach"]))  # same keyword, another case
    assert cat.photo_keywords(1) == ["Beach", "Places|France|Paris", "sunset"]
    undo.push(cat.remove_keywords([1], ["Places|France"]))  # removes what is below too
    assert cat.photo_keywords(1) == ["Beach", "sunset"]
    assert cat.keyword_counts() == {"Beach": 1, "Places|France|Paris": 1, "sunset": 2}
    undo.undo()
    assert cat.photo_keywords(1) == ["Beach", "Places|France|Paris", "sunset"]
    undo.undo()
    undo.undo()
    assert cat.keywords_of() == {}
    undo.redo()
    assert cat.photo_keywords(2) == ["Places|France|Paris", "sunset"]
    cat.close()


def test_collections_plain_and_smart(tmp_path):
    cat = _fake_catalog(tmp_path / "c.sqlite3", [("a.jpg", None, None, 5, 0), ("b.jpg", None, None, 1, 0)])
    best = cat.create_collection("Best")
    assert cat.add_to_collection(best, [1, 2, 2]) == 2
    cat.remove_from_collection(best, [2])
    smart = cat.create_collection("Five stars", "rating:5")
    with pytest.raises(ValueError, match="exists already"):
        cat.create_collection("best")
    with pytest.raises(search.SearchError):
        cat.create_collection("Broken", "nope:1")
    with pytest.raises(ValueError, match="smart"):
        cat.add_to_collection(smart, [2])
    assert cat.collection_ids(best) == [1] and cat.collection_ids(smart) == [1]
    cat.set_rating([2], 5)
    assert cat.collection_ids(smart) == [1, 2]  # a saved search follows the library
    assert [(c["name"], c["count"]) for c in cat.collections()] == [("Best", 1), ("Five stars", 2)]
    assert cat.search_ids("collection:best") == [1]
    cat.delete_collection(best)
    assert [c["name"] for c in cat.collections()] == ["Five stars"]
    cat.close()


# ------------------------------------------------------------------------------------------ XMP
def test_xmp_keywords_roundtrip_preserves_other_fields(tmp_path):
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"")
    side = Path(str(photo) + ".xmp")
    side.write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:lr="http://ns.adobe.com/lightroom/1.0/" '
        'xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/" xmp:Rating="2" crs:Exposure2012="+0.50">'
        "<dc:subject><rdf:Bag><rdf:li>Paris</rdf:li><rdf:li>France</rdf:li><rdf:li>Places</rdf:li>"
        "<rdf:li>holiday</rdf:li></rdf:Bag></dc:subject>"
        "<lr:hierarchicalSubject><rdf:Bag><rdf:li>Places|France|Paris</rdf:li></rdf:Bag></lr:hierarchicalSubject>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>",
        encoding="utf-8",
    )
    # Lightroom puts ancestors in dc:subject too: they are not separate keywords
    assert xmp.read_sidecar(photo)["keywords"] == ["Places|France|Paris", "holiday"]
    xmp.write_sidecar(photo, keywords=["Places|France|Lyon", "holiday", "Travel|Train"])
    vals = xmp.read_sidecar(photo)
    assert vals["keywords"] == ["Places|France|Lyon", "holiday", "Travel|Train"]
    assert vals["rating"] == 2
    text = side.read_text(encoding="utf-8")
    assert 'crs:Exposure2012="+0.50"' in text and "rdf:Bag" in text
    xmp.write_sidecar(photo, keywords=[])
    assert "keywords" not in xmp.read_sidecar(photo)
    assert "subject" not in side.read_text(encoding="utf-8")


@pytest.mark.skipif(EXIFTOOL is None, reason="exiftool not installed")
def test_keyword_written_by_app_is_read_by_exiftool_fresh_import_and_search(lib, data_dir, tmp_path, capsys):
    """The Must-show path through the CLI: keyword -> sidecar -> exiftool; a fresh catalog imports it;
    search finds it."""
    from piaa_desktop.cli.main import main

    d = str(data_dir)
    assert main(["--data-dir", d, "-q", "scan", "--no-embeddings", str(lib)]) == 0
    photo = sorted(lib.glob("*.jpg"))[0]
    assert main(["--data-dir", d, "keyword", "add", "Places|France|Paris", str(photo)]) == 0
    assert main(["--data-dir", d, "keyword", "add", "sunset", str(photo)]) == 0
    side = Path(str(photo) + ".xmp")
    out = subprocess.run(
        [EXIFTOOL, "-j", "-XMP-dc:Subject", "-XMP-lr:HierarchicalSubject", str(side)],
        capture_output=True, text=True, timeout=60,
    )
    got = json.loads(out.stdout)[0]
    assert sorted(got["Subject"]) == ["Paris", "sunset"]
    assert sorted(got["HierarchicalSubject"]) == ["Places|France|Paris", "sunset"]

    fresh = tmp_path / "fresh-data"
    assert main(["--data-dir", str(fresh), "-q", "scan", "--no-embeddings", str(lib)]) == 0
    capsys.readouterr()
    assert main(["--data-dir", str(fresh), "keyword", "list", str(photo)]) == 0
    assert capsys.readouterr().out.split() == ["Places|France|Paris", "sunset"]
    assert main(["--data-dir", str(fresh), "search", "--json", "kw:France"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [r["path"] for r in found] == [str(photo.resolve())]
    # exiftool writes a keyword to another photo's sidecar: a fresh import reads it
    other = sorted(lib.glob("*.jpg"))[1]
    subprocess.run([EXIFTOOL, "-o", str(other) + ".xmp", "-XMP-dc:Subject=cat", "-XMP-lr:HierarchicalSubject=Animals|cat",
                    str(other)], capture_output=True, timeout=60, check=True)
    fresh2 = tmp_path / "fresh2"
    assert main(["--data-dir", str(fresh2), "-q", "scan", "--no-embeddings", str(lib)]) == 0
    capsys.readouterr()
    assert main(["--data-dir", str(fresh2), "search", "--json", "kw:animals"]) == 0
    assert [r["path"] for r in json.loads(capsys.readouterr().out)] == [str(other.resolve())]


def test_sidecar_hook_writes_keywords_and_import_reads_them(catalog, lib, app_paths, tmp_path):
    ids = _scan(catalog, lib, app_paths)
    sync.install_sidecar_hook(catalog, Settings())
    undo = UndoStack(catalog)
    path = Path(catalog.photo(ids[0]).path)
    undo.push(catalog.add_keywords([ids[0]], ["Animals|cat"]))
    assert xmp.read_sidecar(path)["keywords"] == ["Animals|cat"]
    undo.undo()
    assert "keywords" not in xmp.read_sidecar(path)
    undo.redo()
    other = Catalog.open(tmp_path / "other.sqlite3")
    try:
        new = _scan(other, lib, app_paths, hook=lambda cat, pid: sync.import_sidecar(cat, pid))
        pid = other.photo_by_path(path).id
        assert pid in new
        assert other.photo_keywords(pid) == ["Animals|cat"]
        assert other.search_ids("kw:cat") == [pid]
    finally:
        other.close()


def test_cli_keyword_and_collection_commands(lib, data_dir, capsys):
    from piaa_desktop.cli.main import main

    d = str(data_dir)
    assert main(["--data-dir", d, "-q", "scan", "--no-embeddings", str(lib)]) == 0
    photos = sorted(str(p) for p in lib.glob("*.jpg"))
    assert main(["--data-dir", d, "keyword", "add", "Animals|cat", photos[0], photos[1]]) == 0
    assert main(["--data-dir", d, "keyword", "remove", "animals", photos[1]]) == 0
    capsys.readouterr()
    assert main(["--data-dir", d, "keyword", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"Animals|cat": 1}
    assert main(["--data-dir", d, "collection", "create", "Cats", "--query", "kw:cat"]) == 0
    assert main(["--data-dir", d, "collection", "create", "Picked"]) == 0
    assert main(["--data-dir", d, "collection", "add", "Picked", photos[2]]) == 0
    capsys.readouterr()
    assert main(["--data-dir", d, "collection", "list", "--json"]) == 0
    got = {c["name"]: c["count"] for c in json.loads(capsys.readouterr().out)}
    assert got == {"Cats": 1, "Picked": 1}
    assert main(["--data-dir", d, "search", "--json", "collection:Picked"]) == 0
    assert [r["path"] for r in json.loads(capsys.readouterr().out)] == [str(Path(photos[2]).resolve())]
    assert main(["--data-dir", d, "search", "nope:1"]) == 2
    assert main(["--data-dir", d, "keyword", "add", "x", str(lib / "missing.jpg")]) == 3


def test_version1_catalog_migrates_keeping_photos(tmp_path):
    """A catalog written before keywords/collections/trash opens with its photos and ratings kept."""
    import sqlite3

    import piaa_desktop.core.catalog as c

    path = tmp_path / "v1.sqlite3"
    conn = sqlite3.connect(path)
    for stmt in c.MIGRATIONS[1].split(";"):
        if stmt.strip():
            conn.execute(stmt)
    conn.execute("INSERT INTO folders(id, path, added_at) VALUES (1, '/x', 0)")
    conn.execute("INSERT INTO photos(folder_id, path, content_hash, size, mtime, rating, added_at, updated_at) "
                 "VALUES (1, '/x/a.jpg', 'h', 1, 0, 4, 0, 0)")
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()
    cat = Catalog.open(path, backup_dir=tmp_path / "backups")
    assert cat.schema_version == c.SCHEMA_VERSION >= 3
    assert cat.ratings() == {1: 4}
    cat.add_keywords([1], ["a|b"])
    assert cat.search_ids("kw:b rating:4") == [1]
    assert list((tmp_path / "backups").glob("*.sqlite3"))
    cat.close()


def test_real_world_sidecar_keywords_imported_and_foreign_ones_kept(catalog, lib, app_paths):
    """darktable's sidecar: its automatic darktable|... tags are not imported as the user's keywords, and
    they stay in the sidecar when the app adds or removes a keyword or changes the rating."""
    fixture = Path(__file__).parent / "fixtures" / "xmp" / "darktable.xmp"
    photo = sorted(lib.glob("*.jpg"))[0]
    side = Path(str(photo) + ".xmp")
    side.write_bytes(fixture.read_bytes())
    ids = _scan(catalog, lib, app_paths, hook=lambda cat, pid: sync.import_sidecar(cat, pid))
    pid = catalog.photo_by_path(photo).id
    assert pid in ids
    assert catalog.photo_keywords(pid) == ["places|Bretagne|lighthouse"]
    sync.install_sidecar_hook(catalog, Settings())
    catalog.add_keywords([pid], ["Subjects|sea"])
    kws = xmp.read_sidecar(photo)["keywords"]
    assert "darktable|format|nef" in kws and "Subjects|sea" in kws and "places|Bretagne|lighthouse" in kws
    catalog.remove_keywords([pid], ["places|Bretagne|lighthouse"])
    catalog.set_rating([pid], 3)
    kws = xmp.read_sidecar(photo)["keywords"]
    assert "darktable|format|nef" in kws and "Subjects|sea" in kws and "places|Bretagne|lighthouse" not in kws
    for tool, expect in (("lightroom_classic", ["Places|France|Lyon", "Subjects|street", "market"]),
                         ("digikam", ["Family|Kids", "Events|Christmas 2022"]),
                         ("capture_one", ["marathon", "sport", "Oslo"])):
        got = xmp.read_packet_file(fixture.with_name(f"{tool}.xmp"))["keywords"]
        assert got == expect, tool


def test_keywords_embedded_in_a_jpeg_are_read_on_import(catalog, lib, app_paths, tmp_path):
    """A JPEG exported by Lightroom carries its keywords in its own XMP: with no sidecar, import reads them."""
    from piaa_desktop.core.export import jpeg_with_xmp

    photo = sorted(lib.glob("*.jpg"))[0]
    packet = xmp.packet_bytes(None, keywords=["Places|Norway|Oslo", "winter"])
    photo.write_bytes(jpeg_with_xmp(photo.read_bytes(), packet))
    assert xmp.read_embedded_keywords(photo) == ["Places|Norway|Oslo", "winter"]
    ids = _scan(catalog, lib, app_paths, hook=lambda cat, pid: sync.import_sidecar(cat, pid))
    pid = catalog.photo_by_path(photo).id
    assert pid in ids and catalog.photo_keywords(pid) == ["Places|Norway|Oslo", "winter"]
    assert catalog.photo(pid).rating == 0  # only keywords come from inside the file
    assert xmp.embedded_packet(b"not a jpeg") is None
    assert xmp.read_embedded_keywords(sorted(lib.glob("*.jpg"))[1]) is None
