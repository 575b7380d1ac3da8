"""Model registry: versioned model directories and the active pointer.

Layout under the registry root::

    versions/<version>/      model.json, vocab.json.gz, weights.npz, metrics.json, data.json
    active.json              {"global": version|null, "sites": {site: version},
                              "previous": {scope: [older versions, newest last]},
                              "shadow": {"version", "since"}|null,
                              "log": [{"at", "scope", "from", "to", "action"}]}

The root is ``VIMOD_MODEL_REGISTRY``, else ``<VIMOD_INSTANCE or ./instance>/model-registry``.
``active.json`` is written atomically (temp file + ``os.replace``) under a lock
file, so readers never see a half-written pointer. The version ``"default"`` is
the model shipped in the package (``models/classifier/default/``); it is active
when nothing was promoted. A site without its own pointer uses the global one.

:func:`load_active` returns the active :class:`Classifier` from a per-process
cache and re-reads the pointer at most every ``VIMOD_MODEL_RECHECK_SECONDS``
(default 5) seconds, so a promotion reaches running workers without a restart.

The *shadow* pointer names a candidate version that scores new comments beside the
active one without deciding anything (global only); :func:`load_shadow` follows it with
the same per-process cache and recheck interval, so setting or clearing it also reaches
running workers without a restart.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import threading
import time
from pathlib import Path

from models.classifier.model import Classifier

__all__ = ["ConcurrentChange", "Registry", "load_active", "load_shadow", "default_model_dir",
           "default_registry_root", "DEFAULT_VERSION"]

log = logging.getLogger(__name__)

DEFAULT_VERSION = "default"
_REQUIRED = ("model.json", "vocab.json.gz", "weights.npz")


def default_model_dir() -> Path:
    return Path(__file__).resolve().parent / "default"


def default_registry_root() -> Path:
    env = os.environ.get("VIMOD_MODEL_REGISTRY")
    if env:
        return Path(env)
    return Path(os.environ.get("VIMOD_INSTANCE") or "instance") / "model-registry"


def _scope(site_id) -> str:
    return "global" if site_id is None else f"site:{site_id}"


class ConcurrentChange(ValueError):
    """The pointer changed since the caller looked at it."""


_ANY = object()


def _check_expect(current, expect) -> None:
    if expect is not _ANY and current != expect:
        raise ConcurrentChange(f"the active model changed meanwhile (now {current!r})")


class Registry:
    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = Path(root) if root is not None else default_registry_root()

    # -- paths ---------------------------------------------------------------------
    @property
    def versions_dir(self) -> Path:
        return self.root / "versions"

    @property
    def pointer_path(self) -> Path:
        return self.root / "active.json"

    @staticmethod
    def check_version_name(version: str) -> None:
        """Reject version names that are not plain directory names."""
        if (not version or "/" in version or "\\" in version or version.startswith(".")
                or version != version.strip()):
            raise ValueError(f"bad version name {version!r}")

    def path_of(self, version: str) -> Path:
        if version == DEFAULT_VERSION:
            return default_model_dir()
        self.check_version_name(version)
        p = self.versions_dir / version
        if not (p / "model.json").is_file():
            raise KeyError(f"no model version {version!r} in {self.root}")
        return p

    # -- state -----------------------------------------------------------------------
    def _read_state(self) -> dict:
        try:
            state = json.loads(self.pointer_path.read_text("utf-8"))
        except FileNotFoundError:
            state = {}
        except (OSError, ValueError) as e:
            log.error("unreadable model pointer %s: %s", self.pointer_path, e)
            state = {}
        state.setdefault("global", None)
        state.setdefault("sites", {})
        state.setdefault("previous", {})
        state.setdefault("log", [])
        if not isinstance(state.get("shadow"), dict) or not state["shadow"].get("version"):
            state["shadow"] = None
        return state

    def _write_state(self, state: dict) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.pointer_path.with_name(f".active.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(state, ensure_ascii=False, indent=2) + "\n", "utf-8")
        os.replace(tmp, self.pointer_path)

    @contextlib.contextmanager
    def _locked(self):
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a") as fh:
            try:
                import fcntl
                fcntl.flock(fh, fcntl.LOCK_EX)
            except ImportError:  # pragma: no cover - non-POSIX
                pass
            yield

    # -- queries -------------------------------------------------------------------
    def active_version(self, site_id=None) -> str:
        """The version serving ``site_id`` (its own pointer, else global, else default)."""
        state = self._read_state()
        if site_id is not None:
            v = state["sites"].get(str(site_id))
            if v:
                return v
        return state["global"] or DEFAULT_VERSION

    def state(self) -> dict:
        """The pointer file as read now: global, sites, previous, shadow, log."""
        return self._read_state()

    def shadow(self) -> dict | None:
        """``{"version", "since"}`` of the shadow candidate, or None."""
        return self._read_state()["shadow"]

    def shadow_version(self) -> str | None:
        shadow = self.shadow()
        return shadow["version"] if shadow else None

    def active_path(self, site_id=None) -> Path:
        return self.path_of(self.active_version(site_id))

    def versions(self) -> list[str]:
        if not self.versions_dir.is_dir():
            return []
        return sorted(p.name for p in self.versions_dir.iterdir()
                      if (p / "model.json").is_file() and not p.name.startswith("."))

    def info(self, version: str) -> dict:
        p = self.path_of(version)
        model = json.loads((p / "model.json").read_text("utf-8"))
        metrics = _read_json(p / "metrics.json")
        data = _read_json(p / "data.json")
        return {"version": version, "path": str(p), "labels": model.get("labels"),
                "created": model.get("created"), "metrics": metrics,
                "data": data, "params": model.get("params")}

    def list(self) -> list[dict]:
        """Every version (the shipped default first) with where it is active."""
        state = self._read_state()
        active: dict[str, list[str]] = {}
        active.setdefault(state["global"] or DEFAULT_VERSION, []).append("global")
        for site, v in state["sites"].items():
            active.setdefault(v, []).append(f"site:{site}")
        shadow = (state["shadow"] or {}).get("version")
        out = []
        for v in [DEFAULT_VERSION, *self.versions()]:
            try:
                info = self.info(v)
            except (KeyError, OSError, ValueError):
                continue
            summary = _headline(info.get("metrics"))
            out.append({"version": v, "created": info["created"], "labels": info["labels"],
                        "active": active.get(v, []), "metrics": summary, "path": info["path"],
                        "shadow": v == shadow})
        return out

    # -- changes -------------------------------------------------------------------
    def register(self, model_dir: str | os.PathLike, version: str | None = None) -> str:
        """Copy a trained model directory into the registry; returns its version."""
        src = Path(model_dir)
        for name in _REQUIRED:
            if not (src / name).is_file():
                raise ValueError(f"{src} is not a model directory (no {name})")
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        if version is None:
            h = hashlib.sha256((src / "weights.npz").read_bytes()).hexdigest()[:4]
            base = time.strftime("%Y-%m-%dT%H-%M-%S", time.gmtime()) + "-" + h
            version, n = base, 1
            while (self.versions_dir / version).exists():
                n += 1
                version = f"{base}.{n}"
        if version == DEFAULT_VERSION:
            raise ValueError("'default' is reserved for the shipped model")
        self.check_version_name(version)
        dest = self.versions_dir / version
        if dest.exists():
            raise ValueError(f"version {version!r} already exists")
        tmp = self.versions_dir / f".{version}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(src, tmp)
        model_json = tmp / "model.json"
        model = json.loads(model_json.read_text("utf-8"))
        model["version"] = version
        model_json.write_text(json.dumps(model, ensure_ascii=False, indent=2) + "\n", "utf-8")
        os.replace(tmp, dest)
        return version

    def promote(self, version: str, site_id=None, expect=_ANY) -> str | None:
        """Make ``version`` active (globally or for one site); returns the previous one.
        With ``expect``, only if the scope's pointer still is that (else ConcurrentChange):
        two admins acting on the same page must not both change it."""
        self.path_of(version)  # must exist
        with self._locked():
            state = self._read_state()
            scope = _scope(site_id)
            old = self._get(state, site_id)
            _check_expect(old, expect)
            if old == version:
                return old
            state["previous"].setdefault(scope, []).append(old)
            state["previous"][scope] = state["previous"][scope][-50:]
            self._set(state, site_id, version)
            self._log(state, scope, old, version, "promote")
            self._write_state(state)
            return old

    def rollback(self, site_id=None, expect=_ANY) -> str:
        """Re-activate the version that was active before the last promotion (with
        ``expect``: only if the scope's pointer still is that, as for promote)."""
        with self._locked():
            state = self._read_state()
            scope = _scope(site_id)
            _check_expect(self._get(state, site_id), expect)
            stack = state["previous"].get(scope) or []
            if not stack:
                raise ValueError(f"nothing to roll back for {scope}")
            back = stack.pop()
            old = self._get(state, site_id)
            self._set(state, site_id, back)
            self._log(state, scope, old, back, "rollback")
            self._write_state(state)
            return back or (self.active_version(site_id))

    def clear(self, site_id) -> None:
        """Remove a site's own pointer (it follows the global model again)."""
        with self._locked():
            state = self._read_state()
            old = state["sites"].pop(str(site_id), None)
            self._log(state, _scope(site_id), old, None, "clear")
            self._write_state(state)

    def set_shadow(self, version: str) -> str | None:
        """Let ``version`` score new comments beside the active model; returns the previous
        shadow version. ``since`` restarts with every change, so the agreement figures
        only count comments this candidate scored."""
        self.path_of(version)  # must exist
        with self._locked():
            state = self._read_state()
            old = (state["shadow"] or {}).get("version")
            state["shadow"] = {"version": version,
                               "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            self._log(state, "shadow", old, version, "shadow")
            self._write_state(state)
            return old

    def clear_shadow(self) -> str | None:
        """Stop shadow scoring; returns the version that was the shadow (or None)."""
        with self._locked():
            state = self._read_state()
            old = (state["shadow"] or {}).get("version")
            if old is None:
                return None
            state["shadow"] = None
            self._log(state, "shadow", old, None, "shadow_clear")
            self._write_state(state)
            return old

    @staticmethod
    def _get(state: dict, site_id) -> str | None:
        if site_id is None:
            return state["global"]
        return state["sites"].get(str(site_id))

    @staticmethod
    def _set(state: dict, site_id, version: str | None) -> None:
        if site_id is None:
            state["global"] = version
        elif version is None:
            state["sites"].pop(str(site_id), None)
        else:
            state["sites"][str(site_id)] = version

    @staticmethod
    def _log(state: dict, scope: str, old, new, action: str) -> None:
        state["log"].append({"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                             "scope": scope, "from": old, "to": new, "action": action})
        state["log"] = state["log"][-200:]


def _read_json(p: Path):
    try:
        return json.loads(p.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def _headline(metrics) -> dict:
    if not isinstance(metrics, dict):
        return {}
    out = {}
    for key, rep in metrics.items():
        if isinstance(rep, dict) and "macro_f1" in rep:
            out[key] = rep["macro_f1"]
    return out


# -- per-process cache of the active model -----------------------------------------

_lock = threading.Lock()
_models: dict[tuple[str, str], Classifier] = {}
_active: dict[tuple[str, str], tuple[float, str]] = {}


def _recheck_seconds() -> float:
    try:
        return float(os.environ.get("VIMOD_MODEL_RECHECK_SECONDS", "5"))
    except ValueError:
        return 5.0


def load_active(registry_root: str | os.PathLike | None = None, site_id=None,
                max_age: float | None = None) -> Classifier:
    """The active classifier (for ``site_id`` or global), cached per process.

    The pointer is re-read when the cached answer is older than ``max_age``
    seconds (default ``VIMOD_MODEL_RECHECK_SECONDS`` or 5); a newly promoted
    version is loaded then, and models no longer active anywhere in this process
    are dropped. If the promoted version cannot be loaded the previous model keeps
    serving (and the error is logged).
    """
    reg = Registry(registry_root)
    root = str(reg.root.resolve())
    key = (root, _scope(site_id))
    age = _recheck_seconds() if max_age is None else max_age
    now = time.monotonic()
    with _lock:
        cached = _active.get(key)
        if cached is not None and now - cached[0] < age:
            clf = _models.get((root, cached[1]))
            if clf is not None:
                return clf
        try:
            version = reg.active_version(site_id)
        except Exception:  # pragma: no cover - defensive
            log.exception("reading the active model pointer failed")
            version = cached[1] if cached else DEFAULT_VERSION
        clf = _models.get((root, version))
        if clf is None:
            try:
                clf = Classifier.load(reg.path_of(version), version=version)
            except Exception:
                log.exception("loading model %s failed", version)
                old = _models.get((root, cached[1])) if cached else None
                if old is not None:
                    _active[key] = (now, cached[1])
                    return old
                version = DEFAULT_VERSION
                clf = _models.get((root, version)) or Classifier.load(
                    default_model_dir(), version=DEFAULT_VERSION)
            _models[(root, version)] = clf
        _active[key] = (now, version)
        _drop_unused()
        return clf


def load_shadow(registry_root: str | os.PathLike | None = None,
                max_age: float | None = None) -> Classifier | None:
    """The shadow candidate's classifier, or None when no shadow is set; cached per
    process and re-checked like :func:`load_active`. A candidate that cannot be loaded
    gives None (logged): it must never disturb the scoring of comments."""
    reg = Registry(registry_root)
    root = str(reg.root.resolve())
    key = (root, "shadow")
    age = _recheck_seconds() if max_age is None else max_age
    now = time.monotonic()
    with _lock:
        cached = _active.get(key)
        if cached is not None and now - cached[0] < age:
            if cached[1] is None:
                return None
            clf = _models.get((root, cached[1]))
            if clf is not None:
                return clf
        try:
            version = reg.shadow_version()
        except Exception:  # pragma: no cover - defensive
            log.exception("reading the shadow model pointer failed")
            version = None
        clf = None
        if version is not None:
            clf = _models.get((root, version))
            if clf is None:
                try:
                    clf = Classifier.load(reg.path_of(version), version=version)
                    _models[(root, version)] = clf
                except Exception:
                    log.exception("loading shadow model %s failed", version)
                    version = None
        _active[key] = (now, version)
        _drop_unused()
        return clf


def _drop_unused() -> None:
    # Models no longer active (or shadow) anywhere in this process free their memory.
    in_use = {(k[0], v) for k, (_, v) in _active.items()}
    for k in list(_models):
        if k not in in_use:
            del _models[k]


def clear_cache() -> None:
    with _lock:
        _models.clear()
        _active.clear()
