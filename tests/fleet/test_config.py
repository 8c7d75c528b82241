"""Settings: defaults, the instance file, CITYFLEET_* environment variables; generated keys."""
import json

from fleet import create_app


def test_environment_and_instance_file(tmp_path, monkeypatch):
    instance = tmp_path / "inst"
    instance.mkdir()
    (instance / "config.py").write_text("SILENT_AFTER = 3600\nPAGE_SIZE = 20\n")
    monkeypatch.setenv("CITYFLEET_PAGE_SIZE", "25")
    monkeypatch.setenv("CITYFLEET_DATABASE", str(tmp_path / "env.db"))
    app = create_app(instance_path=str(instance))
    assert app.config["SILENT_AFTER"] == 3600          # from the instance file
    assert app.config["PAGE_SIZE"] == 25               # the environment wins over the file
    assert app.config["DATABASE"] == str(tmp_path / "env.db")
    assert (tmp_path / "env.db").exists()


def test_keys_are_generated_once_and_kept(tmp_path):
    a = create_app(instance_path=str(tmp_path), overrides={"DATABASE": str(tmp_path / "a.db")})
    b = create_app(instance_path=str(tmp_path), overrides={"DATABASE": str(tmp_path / "a.db")})
    assert a.config["SECRET_KEY"] == b.config["SECRET_KEY"] and a.config["DATA_KEY"] == b.config["DATA_KEY"]
    keys = json.loads((tmp_path / "keys.json").read_text())
    assert keys["DATA_KEY"] == a.config["DATA_KEY"]


def test_test_config_ignores_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYFLEET_PAGE_SIZE", "7")
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "t.db"), "SECRET_KEY": "s", "DATA_KEY": "x"},
                     instance_path=str(tmp_path))
    assert app.config["PAGE_SIZE"] == 50
