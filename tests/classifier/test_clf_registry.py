"""Registry: register, promote (global / per site), rollback, pick-up without restart."""

from __future__ import annotations

import json

import pytest

from models.classifier import Registry, load_active
from models.classifier.registry import DEFAULT_VERSION, clear_cache, default_registry_root


def test_default_root_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("VIMOD_MODEL_REGISTRY", str(tmp_path / "r"))
    assert default_registry_root() == tmp_path / "r"
    monkeypatch.delenv("VIMOD_MODEL_REGISTRY")
    monkeypatch.setenv("VIMOD_INSTANCE", str(tmp_path / "inst"))
    assert default_registry_root() == tmp_path / "inst" / "model-registry"


def test_register_promote_rollback(tiny_model_dir, tmp_path):
    reg = Registry(tmp_path / "reg")
    assert reg.active_version() == DEFAULT_VERSION
    assert [r["version"] for r in reg.list()] == [DEFAULT_VERSION]
    v1 = reg.register(tiny_model_dir)
    v1b = reg.register(tiny_model_dir)               # same weights, same second: still unique
    assert v1b != v1
    v2 = reg.register(tiny_model_dir, version="v2")
    assert v1 != v2 and set(reg.versions()) == {v1, v1b, v2}
    meta = json.loads((reg.path_of(v1) / "model.json").read_text("utf-8"))
    assert meta["version"] == v1
    with pytest.raises(ValueError):
        reg.register(tiny_model_dir, version="v2")
    with pytest.raises(ValueError):
        reg.register(tiny_model_dir, version="../x")

    assert reg.promote(v1) is None
    assert reg.active_version() == v1
    reg.promote(v2, site_id=7)
    assert reg.active_version(site_id=7) == "v2"
    assert reg.active_version(site_id=8) == v1          # falls back to global
    assert reg.active_version() == v1
    state = json.loads(reg.pointer_path.read_text("utf-8"))
    assert state["global"] == v1 and state["sites"] == {"7": "v2"}
    assert not list(reg.root.glob(".active.*.tmp"))

    listed = {r["version"]: r for r in reg.list()}
    assert listed[v1]["active"] == ["global"] and listed["v2"]["active"] == ["site:7"]

    reg.promote("v2")
    assert reg.rollback() == v1
    assert reg.active_version() == v1
    reg.rollback()
    assert reg.active_version() == DEFAULT_VERSION
    with pytest.raises(ValueError):
        reg.rollback()
    reg.clear(7)
    assert reg.active_version(site_id=7) == DEFAULT_VERSION
    with pytest.raises(KeyError):
        reg.promote("nope")
    with pytest.raises(ValueError):
        reg.path_of("../etc")


def test_load_active_picks_up_promotion_without_restart(tiny_model_dir, tmp_path):
    clear_cache()
    root = tmp_path / "reg"
    reg = Registry(root)
    first = load_active(root)
    assert first.version == DEFAULT_VERSION
    assert load_active(root) is first                     # cached
    v = reg.register(tiny_model_dir)
    reg.promote(v)
    assert load_active(root, max_age=60) is first         # not re-checked yet
    now = load_active(root, max_age=0)
    assert now.version == v and now is not first
    assert load_active(root, site_id=3, max_age=0) is now  # same version shared
    reg.promote("default", site_id=3)
    assert load_active(root, site_id=3, max_age=0).version == DEFAULT_VERSION
    # a broken promoted model keeps the previous one serving
    (reg.path_of(v) / "weights.npz").write_bytes(b"broken")
    reg.register(tiny_model_dir, version="v3")
    (reg.path_of("v3") / "weights.npz").write_bytes(b"broken")
    reg.promote("v3")
    assert load_active(root, max_age=0) is now
    clear_cache()


def test_registry_refuses_a_stale_expectation(tmp_path) -> None:  # noqa: ANN001
    from models.classifier.registry import ConcurrentChange, Registry, default_model_dir

    reg = Registry(tmp_path / "registry")
    a = reg.register(default_model_dir(), version="a")
    b = reg.register(default_model_dir(), version="b")
    reg.promote(a, expect=None)
    # Two admins confirmed "promote b" on a page that showed "a": only one wins.
    reg.promote(b, expect=a)
    with pytest.raises(ConcurrentChange):
        reg.promote(b, expect=a)
    # A double-clicked rollback pops one version, not two.
    assert reg.rollback(expect=b) == a
    with pytest.raises(ConcurrentChange):
        reg.rollback(expect=b)
    assert reg.active_version() == a
