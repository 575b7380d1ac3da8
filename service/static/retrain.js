// Retraining page: while a run is queued or running, poll its JSON every poll-ms and move
// the progress bar, stage and message; when it ends (or goes stale) reload, so the
// history, the version link and the button come from the server.
(function () {
  "use strict";
  const box = document.querySelector("[data-run-poll]");
  if (!box || box.dataset.live !== "yes") return;
  const url = box.dataset.runPoll;
  const every = Math.max(250, parseInt(box.dataset.pollMs, 10) || 1500);
  const bar = box.querySelector("[data-progress]");
  const set = (sel, text) => { const el = box.querySelector(sel); if (el) el.textContent = text; };
  async function tick() {
    let run;
    try {
      const res = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!res.ok) throw new Error(String(res.status));
      run = await res.json();
    } catch (err) {
      window.setTimeout(tick, every * 2);  // a hiccup (server restarting): try again later
      return;
    }
    bar.value = run.progress;
    bar.textContent = run.percent + " %";
    set("[data-percent]", run.percent + " %");
    set("[data-stage-label]", run.stage_label);
    set("[data-status-label]", run.status_label);
    set("[data-message]", run.message || "");
    box.dataset.status = run.stale ? "stale" : run.status;
    box.dataset.stage = run.stage || "";
    if (!run.live) { window.location.reload(); return; }
    window.setTimeout(tick, every);
  }
  window.setTimeout(tick, every);
})();
