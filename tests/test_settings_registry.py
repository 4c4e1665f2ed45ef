"""The typed settings registry: defaults, validation, atomic save, corrupt and unknown entries."""
from __future__ import annotations

import json

import pytest

from piaa_desktop.core import settings as S


def test_defaults_without_a_file(app_paths):
    st = S.load_settings(app_paths)
    assert st.xmp_write is True
    assert st["xmp_naming"] == "ext"
    assert st.theme == "dark"
    assert st.first_run_done is False
    assert st.last_library == ""
    assert st.warnings == []


def test_save_load_round_trip(app_paths):
    st = S.load_settings(app_paths)
    st["xmp_write"] = False
    st.set("xmp_naming", "replace")
    st["export_quality"] = 80
    st["last_library"] = "/photos/2024"
    path = st.save()
    assert path == app_paths.settings_file
    again = S.load_settings(app_paths)
    assert (again.xmp_write, again.xmp_naming, again.export_quality, again.last_library) == (
        False, "replace", 80, "/photos/2024",
    )
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".part")] == []


@pytest.mark.parametrize(
    "name,value",
    [("xmp_write", "yes"), ("xmp_naming", "sidecar"), ("export_quality", 101), ("export_quality", 9.5),
     ("thumbnail_size", True), ("theme", 3)],
)
def test_invalid_values_are_refused(name, value):
    st = S.Settings()
    with pytest.raises(ValueError):
        st.set(name, value)
    assert st.get(name) == S.REGISTRY[name].default


def test_unknown_name_is_a_key_error():
    st = S.Settings()
    with pytest.raises(KeyError):
        st.set("no_such_setting", 1)
    with pytest.raises(KeyError):
        st.get("no_such_setting")


def test_file_with_bad_and_unknown_entries(app_paths):
    app_paths.settings_file.write_text(
        json.dumps({"xmp_write": "nope", "export_quality": 70, "from_a_newer_version": [1, 2]}), encoding="utf-8"
    )
    st = S.load_settings(app_paths)
    assert st.xmp_write is True  # bad value -> default
    assert st.export_quality == 70
    assert len(st.warnings) == 2
    assert any("from_a_newer_version" in w for w in st.warnings)
    st.save()
    saved = json.loads(app_paths.settings_file.read_text(encoding="utf-8"))
    assert saved["from_a_newer_version"] == [1, 2]  # survives the round trip
    assert saved["export_quality"] == 70


def test_corrupt_file_is_kept_aside(app_paths):
    app_paths.settings_file.write_text("{ this is not json", encoding="utf-8")
    st = S.load_settings(app_paths)
    assert st.theme == "dark"
    assert st.warnings and "corrupt" in st.warnings[0]
    kept = list(app_paths.config_dir.glob("settings.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_text(encoding="utf-8") == "{ this is not json"


def test_register_new_entry_and_conflict():
    s = S.register(S.Setting("test_only_columns", int, 6, "grid columns", minimum=1, maximum=20))
    assert S.register(s) is s  # idempotent
    with pytest.raises(ValueError):
        S.register(S.Setting("test_only_columns", int, 7, "different default"))
    with pytest.raises(ValueError):
        S.register(S.Setting("test_only_bad_default", int, "six"))
    assert S.Settings().test_only_columns == 6


def test_every_setting_the_app_reads_is_declared_in_the_core_registry():
    """GUI settings live in the core's one registry too: a headless process (the CLI) knows them, so a
    settings file written by the app loads without "unknown setting" warnings, and every name the code
    reads is declared there (nowhere else)."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "piaa_desktop"
    read = set()
    for path in root.rglob("*.py"):
        read |= set(re.findall(r"settings\.(?:get|set)\(\s*[\"']([a-z_0-9]+)[\"']", path.read_text(encoding="utf-8")))
    code = (
        "import sys, json; from piaa_desktop.core.settings import REGISTRY\n"
        "print(json.dumps(sorted(REGISTRY))); sys.exit(1 if any(m.startswith('PySide6') for m in sys.modules) else 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root.parent)
    assert out.returncode == 0, out.stderr
    import json

    declared = set(json.loads(out.stdout))
    assert {"grid_sort", "grid_show_scores"} <= declared
    assert read and read <= declared, sorted(read - declared)
    registrations = [p.relative_to(root).as_posix() for p in root.rglob("*.py")
                     if "register(Setting(" in p.read_text(encoding="utf-8") and p.name != "settings.py"]
    assert registrations == [], f"settings declared outside core/settings.py: {registrations}"


def test_settings_file_from_the_app_loads_in_the_cli_without_warnings(app_paths, caplog):
    import json
    import logging

    from piaa_desktop.core.settings import load_settings

    app_paths.settings_file.write_text(json.dumps({"grid_sort": "personal", "grid_show_scores": False}))
    with caplog.at_level(logging.WARNING):
        s = load_settings(app_paths)
    assert s.get("grid_sort") == "personal" and s.get("grid_show_scores") is False
    assert not [r for r in caplog.records if "unknown" in r.getMessage()]
