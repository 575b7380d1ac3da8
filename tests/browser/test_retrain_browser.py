"""An admin retrains from the console in a real browser: the button starts a run on a real
training worker (a Celery process), the progress bar and stage move without a reload
(service/static/retrain.js), and the run ends succeeded with a link to its version."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.browser.pages import sign_in
from tests.celery_processes import CeleryProcesses
from tests.test_retraining_end_to_end import write_base
from tests.test_review import ui  # noqa: F401 - the ui fixture


@pytest.fixture
def training_worker(ui, settings, tmp_path: Path, monkeypatch):  # noqa: ANN001, ANN201, F811
    """A training worker on a generated base file (a run of several seconds)."""
    app, _ = ui
    app.config["RETRAIN_POLL_MS"] = 250
    base = tmp_path / "base"
    base.mkdir()
    write_base(base, 8000)
    monkeypatch.setenv("VIMOD_BASE_DATA", str(base))
    monkeypatch.setenv("VIMOD_MODEL_REGISTRY", str(tmp_path / "registry"))
    processes = CeleryProcesses(settings)
    yield processes.worker("training", "-c", "1", "--prefetch-multiplier", "1")
    processes.stop()


def _box(page) -> dict | None:  # noqa: ANN001
    try:
        return page.evaluate("""() => {
            const box = document.querySelector('[data-run-poll]');
            return box && {live: box.dataset.live, stage: box.dataset.stage,
                           status: box.dataset.status,
                           progress: box.querySelector('progress').value,
                           label: box.querySelector('[data-stage-label]').textContent};
        }""")
    except PlaywrightError:    # the page is reloading (the run ended)
        return None


def test_retrain_button_shows_live_progress(page, ui, training_worker) -> None:  # noqa: ANN001, F811
    sign_in(page, "quantri")
    page.goto("/admin/retrain")
    assert page.locator("[data-run-poll]").count() == 0          # no run yet
    # Only vihsd_train.csv is there: the page says so, and the run needs the explicit choice.
    assert page.locator("[data-base-missing]").count() == 1
    page.check("[data-decisions-only]")
    with page.expect_navigation():
        page.click("button[data-retrain]")
    first = _box(page)
    assert first["live"] == "yes" and first["status"] == "queued"
    assert page.locator("button[data-retrain]").is_disabled()    # one run at a time
    url = page.url
    seen: list[tuple[str, float]] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        box = _box(page)
        if box and box["live"] == "yes":
            assert page.url == url                                # updated in place
            if not seen or seen[-1] != (box["stage"], box["progress"]):
                seen.append((box["stage"], box["progress"]))
        elif box and box["live"] == "no":
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the run did not end; seen {seen}")
    stages = {s for s, _ in seen}
    assert len(stages - {"queued"}) >= 2, seen                  # moved through stages
    progress = [p for _, p in seen]
    assert progress == sorted(progress) and progress[-1] > progress[0], seen
    page.wait_for_load_state()
    box = _box(page)
    assert box["status"] == "succeeded" and box["progress"] == 1
    link = page.locator("[data-version-link]")
    version = link.inner_text()
    assert link.get_attribute("href") == f"/admin/models/{version}"
    assert page.locator(f"table.runs a[href='/admin/models/{version}']").count() == 1
    assert page.locator("button[data-retrain]").is_enabled()
    assert page.problems == []                                   # no CSP or script errors
