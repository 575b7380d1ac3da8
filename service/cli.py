"""The `vimod` command line (click)."""

from __future__ import annotations

import json
import sys
from datetime import datetime

import click

from service.config import Settings


def _sessions(settings: Settings):  # noqa: ANN202
    from service.storage import make_engine, make_session_factory

    return make_session_factory(make_engine(settings.database_url))


@click.group()
def main() -> None:
    """vimod: comment moderation for Vietnamese news sites."""


@main.command()
def dev() -> None:
    """Run everything on one machine: migrations, web, workers (and Redis if
    REDIS_URL is unset). Ctrl-C stops it all."""
    from service.devserver import run_dev

    sys.exit(run_dev())


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply the migrations (DATABASE_URL, default SQLite in the instance folder)."""
    from service.storage.migrate import upgrade

    upgrade(Settings.from_env().database_url, revision)
    click.echo(f"database at {revision}", err=True)


@main.group()
def site() -> None:
    """News sites."""


@site.command("create")
@click.argument("name")
@click.option("--domain", help="The site's domain, e.g. baohanoi.vn.")
@click.option(
    "--origin", "origins", multiple=True,
    help="An origin allowed to post from the browser (repeatable); default https://DOMAIN.",
)
@click.option("--json", "as_json", is_flag=True, help="Print {id, api_key, public_key} as JSON.")
def site_create(name: str, domain: str | None, origins: tuple[str, ...], as_json: bool) -> None:
    """Create a site and print its secret API key (shown this once only)."""
    from service.accounts import create_site

    settings = Settings.from_env()
    with _sessions(settings)() as session:
        new = create_site(session, name, domain=domain, allowed_origins=list(origins) or None)
        session.commit()
        out = {"id": new.site.id, "api_key": new.api_key, "public_key": new.site.public_key}
    if as_json:
        click.echo(json.dumps(out))
    else:
        click.echo(f"site {out['id']} created: {name}")
        click.echo(f"secret API key (shown once, keep it safe): {out['api_key']}")
        click.echo(f"public key (for the browser form): {out['public_key']}")


@main.group()
def user() -> None:
    """Moderators, senior editors and admins."""


@user.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(["moderator", "senior", "admin"]), required=True,
              help="senior: a moderator who also decides escalated comments.")
@click.option("--site", "site_ids", type=int, multiple=True, help="Site scope (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print {id, username, password?} as JSON.")
def user_create(username: str, role: str, site_ids: tuple[int, ...], as_json: bool) -> None:
    """Create a user. The password is read from stdin when piped; otherwise one is
    generated and printed once."""
    from service.accounts import AccountError, create_user

    password = None
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n") or None
    settings = Settings.from_env()
    with _sessions(settings)() as session:
        try:
            new_user, generated = create_user(session, username, role, password, list(site_ids))
        except AccountError as exc:
            raise click.ClickException(str(exc)) from exc
        session.commit()
        out = {"id": new_user.id, "username": new_user.username, "role": new_user.role}
    if generated:
        out["password"] = generated
    if as_json:
        click.echo(json.dumps(out))
    else:
        click.echo(f"user {out['id']} created: {username} ({role})")
        if generated:
            click.echo(f"password (shown once): {generated}")


@main.group()
def decisions() -> None:
    """Moderators' decisions."""


@decisions.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default=None,
              help="Default: csv when --out ends in .csv, else jsonl.")
@click.option("--site", "site_id", type=int, default=None, help="Only this site's comments.")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Only decisions made on or after this day (UTC), YYYY-MM-DD.")
@click.option("--all", "include_all", is_flag=True,
              help="Also rows whose decision implies no label (empty label), for auditing.")
@click.option("--out", default="-", show_default=True, help="Output file, or - for stdout.")
def decisions_export(fmt: str | None, site_id: int | None, since: datetime | None,
                     include_all: bool, out: str) -> None:
    """Export the current human decisions as labelled examples for `vimod model train
    --data FILE --text-column text --label-column label`: approve → clean, reject as
    spam/offensive/hate → that label; other reasons carry no label."""
    import io

    from service.training_labels import decisions as current_decisions
    from service.training_labels import write_csv, write_jsonl

    if fmt is None:
        # the trainer picks its parser from the file name, so follow it
        fmt = "csv" if out.lower().endswith(".csv") else "jsonl"
    write = write_csv if fmt == "csv" else write_jsonl
    settings = Settings.from_env()
    sys.stdout.flush()
    # UTF-8 whatever the locale; newline="" so the csv module controls line ends
    try:
        fh = (io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
              if out == "-" else open(out, "w", encoding="utf-8", newline=""))  # noqa: SIM115
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror}") from None
    try:
        with _sessions(settings)() as session:
            rows = current_decisions(session, site_id=site_id, since=since,
                                     include_unlabelled=include_all)
            counts = write(rows, fh)
    finally:
        fh.flush()
        if out == "-":
            fh.detach()  # leave stdout open
        else:
            fh.close()
    order = ["clean", "spam", "offensive", "hate"]
    parts = [f"{label} {counts[label]}" for label in order if counts[label]]
    if counts[None]:
        parts.append(f"unlabelled {counts[None]}")
    total = sum(counts.values())
    click.echo(f"exported {total} decision{'s' if total != 1 else ''}"
               + (f": {', '.join(parts)}" if parts else ""), err=True)


@click.command("retrain")
@click.option("--wait", is_flag=True, help="Wait for the run to end; print its version, figures.")
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
@click.option("--inline", is_flag=True,
              help="Train in this process (no Redis or training worker needed); implies --wait.")
@click.option("--max-base-rows", type=click.IntRange(min=0), default=None,
              help="Use at most N base rows (a quick run).")
@click.option("--base-data", type=click.Path(exists=True, file_okay=False, resolve_path=True),
              default=None,
              help="Folder of the base data files (default: VIMOD_BASE_DATA, else "
                   "../shared/data/comments next to the repository).")
@click.option("--timeout", type=float, default=None,
              help="With --wait: give up waiting after this many seconds.")
@click.option("--decisions-only", is_flag=True,
              help="The base data files are missing: train on the decisions, imports and "
                   "shipped files only (the run and the version are labelled so). Without "
                   "this flag a run with missing base files is refused.")
@click.option("--allow-missing-labels", is_flag=True,
              help="Accept a model that does not know a label the active model has "
                   "(refused otherwise).")
def model_retrain(wait: bool, as_json: bool, inline: bool, max_base_rows: int | None,
                  base_data: str | None, timeout: float | None, decisions_only: bool,
                  allow_missing_labels: bool) -> None:
    """Retrain the classifier on the base data plus the moderators' decisions, as a run on
    the training queue (what the admin console's button does), and register the new
    version without promoting it (`vimod model promote VERSION`)."""
    import logging
    import uuid

    import redis
    from kombu.utils.url import maybe_sanitize_url

    from service import retraining
    from service.queueing import enqueue_retrain, make_producer
    from service.storage import AuditEntry, TrainingRun

    settings = Settings.from_env()
    sessions = _sessions(settings)
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        if not inline:
            raise click.ClickException(f"Redis at {maybe_sanitize_url(settings.redis_url)} "
                                       "cannot be reached, so "
                                       "the run cannot be queued; use --inline to train in "
                                       "this process") from None
        client = None   # inline without Redis: no heartbeat, the time limit marks it stale
    options = retraining.RetrainOptions(max_base_rows=max_base_rows, base_data=base_data,
                                        decisions_only=decisions_only,
                                        allow_missing_labels=allow_missing_labels)
    task_id = None if inline else uuid.uuid4().hex

    def audit(run: TrainingRun) -> AuditEntry:
        entry = AuditEntry(actor="cli", action="model.retrain", target_type="training_run",
                           target_id=str(run.id), details={
                               "task_id": task_id, "inline": inline,
                               **{k: True for k in ("decisions_only", "allow_missing_labels")
                                  if getattr(options, k)}})
        session.add(entry)
        return entry

    with sessions() as session:
        try:
            run = retraining.start_run(session, options=options,
                                       alive=retraining.redis_alive(client), task_id=task_id,
                                       on_created=audit)
        except retraining.NeedsChoice as exc:
            raise click.ClickException(f"not started: {exc}") from None
        except retraining.RunInProgress as exc:
            raise click.ClickException(f"run {exc.run.id} is {exc.run.status}; one run at "
                                       "a time (wait for it, or for it to become stale)") from None
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    run_id = run.id
    if inline:
        # The run's stages and the trainer's lines, as they come (on stderr).
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        logger = logging.getLogger("service.retraining")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        retraining.lower_priority()
        try:
            retraining.execute_run(sessions, run_id, redis_client=client)
        finally:
            logger.removeHandler(handler)
    else:
        try:
            enqueue_retrain(make_producer(settings.redis_url), run_id, task_id)
        except Exception as exc:  # noqa: BLE001 - any broker failure
            with sessions() as session:
                retraining.mark_failed(session, run_id, f"could not be queued: {exc}")
            raise click.ClickException(f"the training queue cannot be reached: {exc}") from None
        if not wait:
            if as_json:
                click.echo(json.dumps({"id": run_id, "status": "queued", "task_id": task_id}))
            else:
                click.echo(f"run {run_id} queued for a training worker (celery worker -Q "
                           "training); follow it at /admin/retrain or with --wait")
            return
        click.echo(f"run {run_id} queued; waiting for a training worker", err=True)

    def show(row: TrainingRun) -> None:
        click.echo(f"[{100 * (row.progress or 0):3.0f} %] {row.stage or row.status}", err=True)

    row = retraining.wait_for_run(sessions, run_id, retraining.redis_alive(client),
                                  timeout=timeout, on_change=None if inline else show)
    out = {"id": row.id, "status": row.status, "version": row.version, "message": row.message,
           "stale": row.status in retraining.ACTIVE,
           "headline": retraining.headline(row.metrics)}
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
    elif row.status == retraining.SUCCEEDED:
        h = out["headline"]
        click.echo(f"run {run_id} succeeded: version {row.version} (not promoted: "
                   f"vimod model promote {row.version})")
        if h.get("held_out"):
            base = h.get("baseline")
            click.echo(f"  held-out decisions macro-F1 {h['held_out']['macro_f1']:.3f} "
                       f"(n {h['held_out']['n']})"
                       + (f"; active model {base['version']} {base['macro_f1']:.3f}"
                          if base else ""))
        if h.get("cross_validation"):
            click.echo(f"  cross-validated macro-F1 {h['cross_validation']['macro_f1']:.3f}")
        for name, f1 in h.get("eval", {}).items():
            click.echo(f"  {name} macro-F1 {f1:.3f}")
        for note in (row.metrics or {}).get("notes", []):
            click.echo(f"  note: {note}")
    else:
        click.echo(f"run {run_id} {'did not finish' if out['stale'] else row.status}: "
                   f"{row.message or ''}", err=True)
    if row.status != retraining.SUCCEEDED:
        sys.exit(1)


def _attach_model_commands() -> None:
    # The language and ML layer (models/) brings its own commands; they import neither
    # Flask nor Celery, so `vimod classify` starts fast. Retraining needs the database and
    # the queue, so it is added to their `model` group from here.
    from models.classifier.cli import classify, model
    from models.cli import diacritics

    model.add_command(model_retrain)
    main.add_command(diacritics)
    main.add_command(model)
    main.add_command(classify)


_attach_model_commands()
