"""CLI: ``vimod model train|evaluate|register|promote|rollback|list`` and ``vimod classify``.

Data options are positional groups: each ``--data FILE`` (or ``--eval-data FILE``
for ``train``) starts a file, and the ``--text-column``, ``--label-column``,
``--label-map`` and ``--weight`` options after it apply to that file. The same
options given before the first ``--data`` are defaults for every file; an
``--eval-data`` file inherits the settings of the ``--data`` group with the same
path, else of the last ``--data`` group (and its own options override them)::

    vimod model train --data a.csv --text-column free_text --label-column label_id \\
        --label-map 0=clean,1=offensive,2=hate \\
        --data b.jsonl --text-column text --label-column y --weight 3 --out /tmp/m
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import fields
from pathlib import Path

import click

from models.classifier.datasets import DataSpec, load_many, parse_label_map, text_key
from models.classifier.metrics import evaluate_labels, format_report
from models.classifier.model import Classifier
from models.classifier.recipe import DEVELOPMENT_SET, drop_development_set
from models.classifier.registry import DEFAULT_VERSION, Registry, load_active

__all__ = ["model", "classify", "parse_data_args", "resolve_model"]

_SPEC_OPTS = {"--text-column": "text_column", "--label-column": "label_column",
              "--label-map": "label_map", "--weight": "weight"}


def parse_data_args(args: list[str], starts: tuple[str, ...] = ("--data",)
                    ) -> dict[str, list[DataSpec]]:
    """Turn ``--data FILE --text-column C ...`` groups into DataSpecs (by start flag)."""
    defaults: dict = {}
    groups: list[tuple[str, dict]] = []
    last_data: dict = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if "=" in arg and arg.startswith("--"):
            flag, value = arg.split("=", 1)
            i += 1
        else:
            flag = arg
            if i + 1 >= len(args):
                raise click.UsageError(f"{flag} needs a value")
            value = args[i + 1]
            i += 2
        if flag in starts:
            base = dict(defaults)
            if flag != "--data":
                same = [g for f, g in groups if f == "--data" and g["path"] == value]
                base = dict(same[-1] if same else last_data)
            base.pop("path", None)
            base["path"] = value
            groups.append((flag, base))
            if flag == "--data":
                last_data = base
        elif flag in _SPEC_OPTS:
            target = groups[-1][1] if groups else defaults
            target[_SPEC_OPTS[flag]] = value
        else:
            raise click.UsageError(f"unknown option {flag}")
    out: dict[str, list[DataSpec]] = {s: [] for s in starts}
    for flag, g in groups:
        try:
            spec = DataSpec(path=g["path"], text_column=g.get("text_column", "text"),
                            label_column=g.get("label_column", "label"),
                            label_map=parse_label_map(g.get("label_map")),
                            weight=float(g.get("weight", 1.0)))
        except ValueError as e:
            raise click.UsageError(str(e)) from None
        if not Path(spec.path).is_file():
            raise click.UsageError(f"no such file: {spec.path}")
        out[flag].append(spec)
    return out


def resolve_model(model_ref: str | None, registry: str | None, site: str | None) -> Classifier:
    """A model directory, a registry version, or (None) the active model."""
    if model_ref is None:
        return load_active(registry, site_id=site)
    p = Path(model_ref)
    if (p / "model.json").is_file():
        return Classifier.load(p)
    reg = Registry(registry)
    try:
        return Classifier.load(reg.path_of(model_ref), version=model_ref)
    except (KeyError, ValueError) as e:
        raise click.UsageError(f"{model_ref}: not a model directory or registry version "
                               f"({e})") from None


def _err(msg: str) -> None:
    click.echo(msg, err=True)


@click.group("model")
def model() -> None:
    """Train, evaluate and manage content-classifier models."""


_PARAM_HELP = {"C": "regularisation strength (larger = less regularised); default: chosen "
                    "by cross-validation from --C-grid",
               "loss": "svm (LinearSVC) or logistic", "folds": "cross-validation folds",
               "nb": "also fit a naive-Bayes-weighted LinearSVC (NB-SVM) and combine the two "
                     "in the calibration (default: off)"}


def _param_options(f):
    from models.classifier.train import TrainParams
    for fl in reversed(fields(TrainParams)):
        if fl.name == "seed":
            continue
        name = "--" + fl.name.replace("_", "-")
        typ = type(fl.default)
        if fl.name == "C":
            typ = float
        if fl.name == "nb":
            typ = bool
        if fl.name == "C_grid":
            f = click.option("--C-grid", "C_grid", default=None,
                             help="comma-separated C values tried by cross-validation")(f)
            continue
        if typ is bool:
            f = click.option(f"{name}/--no-{fl.name.replace('_', '-')}", fl.name,
                             default=None, help=_PARAM_HELP.get(fl.name))(f)
        else:
            f = click.option(name, fl.name, type=typ, default=None,
                             help=_PARAM_HELP.get(fl.name))(f)
    return f


@model.command("train", context_settings={"ignore_unknown_options": True,
                                          "allow_extra_args": True})
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="directory to write the model to")
@click.option("--register", "do_register", is_flag=True, help="also add it to the registry")
@click.option("--promote", "do_promote", is_flag=True, help="register and make it active")
@click.option("--site", default=None, help="promote for this site only")
@click.option("--registry", default=None, help="registry root (default: VIMOD_MODEL_REGISTRY)")
@click.option("--no-dedupe", is_flag=True, help="keep texts that repeat an earlier file")
@click.option("--keep-eval-overlap", is_flag=True,
              help="do not hold --eval-data texts out of the training data")
@_param_options
@click.pass_context
def train_cmd(ctx: click.Context, out: str, do_register: bool, do_promote: bool,
              site: str | None, registry: str | None, no_dedupe: bool, keep_eval_overlap: bool,
              **overrides) -> None:
    """Train a model from --data FILE [--text-column C --label-column C --label-map M
    --weight W] groups (repeatable; see the module help) and write it to --out.

    --eval-data FILE groups are evaluated after training and recorded in metrics.json;
    training rows whose text also occurs in an --eval-data file are left out (unless
    --keep-eval-overlap).
    """
    from models.classifier.train import TrainParams, train

    groups = parse_data_args(list(ctx.args), ("--data", "--eval-data"))
    if not groups["--data"]:
        raise click.UsageError("give at least one --data FILE")
    if overrides.get("C_grid"):
        try:
            overrides["C_grid"] = tuple(float(x) for x in overrides["C_grid"].split(","))
        except ValueError:
            raise click.UsageError("--C-grid takes comma-separated numbers") from None
    params = TrainParams(**{k: v for k, v in overrides.items() if v is not None})
    t0 = time.time()
    try:   # evaluation files first: they are checked, and held out of the training data
        evals = [(spec, load_many([spec], dedupe=False)) for spec in groups["--eval-data"]]
        held_out = ({text_key(t) for _, ev in evals for t in ev.texts}
                    if evals and not keep_eval_overlap else None)
        ds = load_many(groups["--data"], dedupe=not no_dedupe, exclude=held_out)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    # The project's development set (eval/news_dev.csv) is measured on, never trained on.
    dev_dropped = drop_development_set(ds)
    if dev_dropped:
        _err(f"{dev_dropped} rows left out: their text is in the development set "
             f"{DEVELOPMENT_SET.name} (never trained on)")
    for s in ds.summary:
        held = (f", {s['excluded_held_out']} also in --eval-data"
                if s.get("excluded_held_out") else "")
        _err(f"[{time.time() - t0:6.1f}s] {s['file']}: {s['used']} rows {s['used_labels']}"
             f" (skipped {s['skipped_unmapped_label']} unmapped, {s['skipped_empty_text']} "
             f"empty, {s['duplicates_dropped']} duplicates{held})")
    clf, metrics = train(ds, params, progress=lambda m: _err(f"[{time.time() - t0:6.1f}s] {m}"))
    for spec, ev in evals:
        rep = evaluate_labels(ev.labels, clf.predict(ev.texts), clf.labels)
        metrics[f"eval:{Path(spec.path).name}"] = rep
        _err(f"[{time.time() - t0:6.1f}s] {Path(spec.path).name}: macro-F1 {rep['macro_f1']:.4f}")
    data_summary = {"files": ds.summary, "total": len(ds), "labels": ds.label_counts(),
                    "dedupe": not no_dedupe,
                    "eval_files_held_out": bool(evals) and not keep_eval_overlap,
                    "development_set_dropped": dev_dropped}
    clf.meta["command"] = "vimod model train " + " ".join(sys.argv[sys.argv.index("train") + 1:]
                                                          if "train" in sys.argv else [])
    clf.save(out, metrics=metrics, data_summary=data_summary)
    _err(f"[{time.time() - t0:6.1f}s] wrote {out}")
    if do_register or do_promote:
        reg = Registry(registry)
        version = reg.register(out)
        _err(f"registered as {version}")
        if do_promote:
            reg.promote(version, site_id=site)
            _err(f"promoted {version} ({'site ' + site if site else 'global'})")
        click.echo(version)


@model.command("evaluate", context_settings={"ignore_unknown_options": True,
                                             "allow_extra_args": True})
@click.option("--model", "model_ref", default=None,
              help="model directory or registry version (default: the active model)")
@click.option("--registry", default=None, help="registry root")
@click.option("--site", default=None)
@click.option("--pr-curve", "pr_curve", type=click.Path(dir_okay=False), default=None,
              help="write precision-recall curves (PNG)")
@click.option("--confusion-image", type=click.Path(dir_okay=False), default=None,
              help="write the confusion matrix (PNG)")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None,
              help="write the report as JSON")
@click.pass_context
def evaluate_cmd(ctx: click.Context, model_ref: str | None, registry: str | None,
                 site: str | None, pr_curve: str | None, confusion_image: str | None,
                 json_out: str | None) -> None:
    """Per-class precision/recall/F1, macro-F1 and the confusion matrix on --data groups."""
    specs = parse_data_args(list(ctx.args))["--data"]
    if not specs:
        raise click.UsageError("give at least one --data FILE")
    clf = resolve_model(model_ref, registry, site)
    try:
        ds = load_many(specs, dedupe=False)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    P = clf.proba(ds.texts)
    rep = evaluate_labels(ds.labels, clf.decide(P), clf.labels)
    rep["model"] = clf.version
    rep["data"] = ds.summary
    click.echo(f"model {clf.version}  ({len(ds)} texts)")
    click.echo(format_report(rep))
    if json_out:
        Path(json_out).write_text(json.dumps(rep, ensure_ascii=False, indent=2) + "\n", "utf-8")
    if pr_curve or confusion_image:
        from models.classifier.plots import plot_confusion, plot_pr_curves
        if pr_curve:
            plot_pr_curves(ds.labels, P, clf.labels, pr_curve)
            _err(f"wrote {pr_curve}")
        if confusion_image:
            plot_confusion(rep, confusion_image)
            _err(f"wrote {confusion_image}")


@model.command("register")
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--registry", default=None)
@click.option("--promote", "do_promote", is_flag=True)
@click.option("--site", default=None)
def register_cmd(model_dir: str, registry: str | None, do_promote: bool,
                 site: str | None) -> None:
    """Copy a trained model directory into the registry (prints its version)."""
    reg = Registry(registry)
    try:
        version = reg.register(model_dir)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    if do_promote:
        reg.promote(version, site_id=site)
    click.echo(version)


@model.command("promote")
@click.argument("version")
@click.option("--site", default=None, help="only for this site")
@click.option("--registry", default=None)
@click.option("--allow-missing-labels", is_flag=True,
              help="promote even if VERSION lacks a label the active model has")
def promote_cmd(version: str, site: str | None, registry: str | None,
                allow_missing_labels: bool) -> None:
    """Make VERSION (or a model directory, registered first) the active model.

    Refused (exit 1) when VERSION does not know a label the model active there knows —
    its scores, and any site rule on them, would silently stop — unless
    --allow-missing-labels. (The admin console's promote page also checks the sites'
    policies and the evaluation.)"""
    reg = Registry(registry)
    if (Path(version) / "model.json").is_file():
        version = reg.register(version)
    try:
        current = reg.active_version(site)
        lost = [y for y in (reg.info(current).get("labels") or [])
                if y not in (reg.info(version).get("labels") or [])]
    except (KeyError, ValueError) as e:
        raise click.UsageError(str(e)) from None
    except OSError:
        lost = []
    if lost and not allow_missing_labels and current != version:
        raise click.ClickException(
            f"{version} does not know {', '.join(lost)}, which the active model {current} "
            "gives: those scores and any site rule on them would stop; nothing changed "
            "(--allow-missing-labels to promote anyway)")
    try:
        old = reg.promote(version, site_id=site)
    except (KeyError, ValueError) as e:
        raise click.UsageError(str(e)) from None
    click.echo(f"{'site ' + site if site else 'global'}: {old or DEFAULT_VERSION} -> {version}")


@model.command("rollback")
@click.option("--site", default=None)
@click.option("--registry", default=None)
def rollback_cmd(site: str | None, registry: str | None) -> None:
    """Re-activate the model that was active before the last promotion."""
    reg = Registry(registry)
    try:
        reg.rollback(site_id=site)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    click.echo(f"{'site ' + site if site else 'global'}: {reg.active_version(site)}")


@model.command("list")
@click.option("--registry", default=None)
@click.option("--json", "as_json", is_flag=True)
def list_cmd(registry: str | None, as_json: bool) -> None:
    """Registered versions, their headline metrics and where each is active."""
    rows = Registry(registry).list()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        m = ", ".join(f"{k} {v:.3f}" for k, v in r["metrics"].items())
        act = ",".join(r["active"]) or "-"
        click.echo(f"{r['version']:<28} {str(r['created']):<21} {act:<16} {m}")


@click.command("classify")
@click.option("--model", "model_ref", default=None,
              help="model directory or registry version (default: the active model)")
@click.option("--registry", default=None)
@click.option("--site", default=None, help="use this site's active model")
@click.option("--explain", "explain_top", type=int, default=0,
              help="add the top N contributing words/phrases")
@click.option("--batch", "batch_size", type=int, default=1000, show_default=True)
def classify(model_ref: str | None, registry: str | None, site: str | None,
             explain_top: int, batch_size: int) -> None:
    """Read JSON lines {"text": ...} on stdin; write {"label", "scores"} lines in order.

    A line that is not a JSON object with a string "text" gets {"error": ...}.
    """
    clf = resolve_model(model_ref, registry, site)
    out = sys.stdout.buffer
    pending: list[tuple[str | None, str | None]] = []   # (text, error)

    def flush() -> None:
        texts = [t for t, e in pending if e is None]
        results = iter(clf.classify(texts)) if texts else iter(())
        for t, e in pending:
            if e is not None:
                obj: dict = {"error": e}
            else:
                obj = next(results)
                if explain_top:
                    obj["explain"] = clf.explain(t, top=explain_top)
            out.write((json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8"))
        out.flush()
        pending.clear()

    for raw in sys.stdin.buffer:
        line = raw.decode("utf-8", errors="replace")
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            pending.append((None, f"invalid JSON: {e.msg}"))
        else:
            if isinstance(obj, dict) and isinstance(obj.get("text"), str):
                pending.append((obj["text"], None))
            else:
                pending.append((None, 'expected an object with a string "text"'))
        if len(pending) >= batch_size:
            flush()
    flush()


@click.group()
def _main() -> None:
    """Stand-alone entry point (``python -m models.classifier.cli``)."""


_main.add_command(model)
_main.add_command(classify)

if __name__ == "__main__":  # pragma: no cover
    _main()
