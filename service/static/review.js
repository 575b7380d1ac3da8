// The moderator's workspace, from the keyboard: j/k move in the queue and open the card
// beside it, a approves, r + a number rejects with that reason, e edits, d applies the
// diacritics, s escalates to a senior editor (with a note), x marks for bulk, u undoes the
// last decision (wherever you are), / searches, Ctrl-K opens the quick actions, ? the list
// of keys. Loaded on every staff page: each part does nothing where its elements are
// absent. htmx (vendored) does the requests.
(function () {
  "use strict";
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const typing = (el) => el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" ||
    el.tagName === "SELECT" || el.isContentEditable);
  const list = $("[data-keyboard-list]");
  const pane = $("#pane");
  const paneShown = () => pane && getComputedStyle(pane).display !== "none";
  const rows = () => (list ? $$("li[data-id]", list) : []);
  let index = Math.max(0, rows().findIndex((li) => li.classList.contains("current")));
  let reasonMode = false;
  let moved = false;  // the first j opens the row already marked, if no card is open yet

  // --- the list and the pane --------------------------------------------------------------
  function mark(i) {
    const items = rows();
    if (!items.length) return null;
    index = Math.max(0, Math.min(items.length - 1, i));
    items.forEach((li, n) => li.classList.toggle("selected", n === index));
    items[index].scrollIntoView({ block: "nearest" });
    return items[index];
  }
  let loadTimer = null;
  function open(li) {
    if (!li) return;
    if (!paneShown()) { window.location = li.dataset.href; return; }
    const leaving = heldCard();
    if (leaving && leaving.dataset.comment !== li.dataset.id) releaseCard(leaving, false);
    rows().forEach((r) => r.classList.toggle("current", r === li));
    clearTimeout(loadTimer);
    // A burst of j presses loads only the card the moderator stops on.
    loadTimer = setTimeout(() => {
      htmx.ajax("GET", li.dataset.paneUrl, { target: "#pane", swap: "innerHTML" });
      history.replaceState(null, "", li.dataset.href);
    }, 90);
  }
  function nextRowId() {
    // The comment the moderator would reach next in their list: where a decision goes on.
    const items = rows();
    const card = $("[data-comment]", pane || document);
    const at = card ? items.findIndex((li) => li.dataset.id === card.dataset.comment) : index;
    const after = items.slice(at + 1).concat(items.slice(0, Math.max(0, at)));
    const next = after.find((li) => !li.classList.contains("busy"));
    return next ? next.dataset.id : "";
  }
  function prepareCard() {
    $$("[data-next]").forEach((input) => { input.value = nextRowId(); });
    const card = $("[data-comment]", pane || document);
    if (card && list) {
      const items = rows();
      const at = items.findIndex((li) => li.dataset.id === card.dataset.comment);
      items.forEach((li) => li.classList.toggle("current", li.dataset.id === card.dataset.comment));
      if (at >= 0) mark(at);
    }
  }
  if (list) {
    list.addEventListener("click", (ev) => {
      const link = ev.target.closest("a.row-link");
      if (!link || !paneShown() || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
      ev.preventDefault();
      const li = link.closest("li[data-id]");
      mark(rows().indexOf(li));
      open(li);
    });
    list.addEventListener("change", updateSelection);
  }
  document.body.addEventListener("htmx:afterSettle", (ev) => {
    if (ev.detail && ev.detail.target === pane) { prepareCard(); wireCard(); }
    updateSelection();
    toastTimers();
  });

  // --- decisions ------------------------------------------------------------------------------
  function checked() { return list ? $$("input[name=ids]:checked", list) : []; }
  function updateSelection() {
    const n = checked().length;
    $$("[data-selected-count]").forEach((el) => { el.textContent = String(n); });
    const bulk = $("[data-bulk]");
    if (bulk) bulk.classList.toggle("active", n > 0);
  }
  function approve() {
    if (checked().length) { $("[data-bulk] button[value=approve]").click(); return; }
    const button = $("form[data-approve] button.approve");
    if (button) { $$("[data-next]").forEach((i) => { i.value = nextRowId(); }); button.click(); }
  }
  function enterReasonMode() {
    const reasons = $("[data-reasons]");
    if (!reasons && !checked().length) return;
    reasonMode = true;
    if (reasons) reasons.classList.add("choosing");
    document.documentElement.classList.add("choosing-reason");
  }
  function leaveReasonMode() {
    reasonMode = false;
    $$("[data-reasons]").forEach((r) => r.classList.remove("choosing"));
    document.documentElement.classList.remove("choosing-reason");
  }
  function rejectWith(number) {
    leaveReasonMode();
    if (checked().length) {
      const select = $("[data-bulk-reason]");
      const option = select && select.options[parseInt(number, 10)];
      if (!option) return;
      select.value = option.value;
      $("[data-bulk] button[value=reject]").click();
      return;
    }
    const button = $(`[data-reasons] button[data-reason-key="${number}"]`);
    if (button) { $$("[data-next]").forEach((i) => { i.value = nextRowId(); }); button.click(); }
  }
  function openEditor() {
    const editor = $("[data-editor]");
    if (!editor) return null;
    editor.hidden = false;
    editor.disabled = false;  // only now does approving send the edited text
    const label = $("[data-editor-label]");
    if (label) label.hidden = false;
    return editor;
  }
  function applySuggestion() {
    const suggestion = $("[data-suggestion]");
    const editor = openEditor();
    if (editor && suggestion) editor.value = suggestion.textContent;
  }
  function escalate() {
    // Open the card's escalation form at its note (required); Enter sends both.
    const details = $("[data-escalate]");
    if (!details) return false;
    details.open = true;
    $$("[data-next]").forEach((i) => { i.value = nextRowId(); });
    const note = $("input[name=note]", details);
    if (note) note.focus();
    return true;
  }
  function wireCard() {
    const edit = $("[data-edit]");
    if (edit) edit.addEventListener("click", () => { const e = openEditor(); if (e) e.focus(); });
    const apply = $("[data-apply-suggestion]");
    if (apply) apply.addEventListener("click", applySuggestion);
    const note = $("form[data-reject] input[name=note]");
    if (note) {
      // A note typed, Enter: then the reason's number sends both.
      note.addEventListener("keydown", (ev) => {
        if (ev.key !== "Enter") return;
        ev.preventDefault();
        ev.stopPropagation();
        note.blur();
        enterReasonMode();
      });
    }
  }
  wireCard();
  prepareCard();
  if (list && !$("li.selected", list)) mark(index);

  // --- the undo toast --------------------------------------------------------------------------
  let toastTimer = null;
  let expireTimer = null;
  function toastTimers() {
    const toast = $("#toast");
    if (!toast || toast.hidden) return;
    toast.classList.remove("compact");
    clearTimeout(toastTimer);
    clearTimeout(expireTimer);
    // Prominent for a few seconds, then a small reminder until the undo window closes.
    toastTimer = setTimeout(() => toast.classList.add("compact"), 6000);
    const left = parseInt(toast.dataset.secondsLeft, 10);
    if (left > 0) expireTimer = setTimeout(() => { toast.hidden = true; }, left * 1000);
  }
  toastTimers();
  function undo() {
    const form = $("#toast:not([hidden]) form[data-undo]");
    if (form) form.requestSubmit();
  }

  // --- quick actions (Ctrl-K) ------------------------------------------------------------------
  const palette = $("[data-palette]");
  const fold = (s) => s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d")
    .replace(/Đ/g, "D").toLowerCase();
  function paletteItems() { return palette ? $$("[data-palette-list] li", palette) : []; }
  function paletteFilter() {
    const words = fold($("[data-palette-input]", palette).value).split(/\s+/).filter(Boolean);
    let first = null;
    paletteItems().forEach((li) => {
      const hit = words.every((w) => fold(li.textContent).includes(w));
      li.hidden = !hit;
      li.classList.remove("active");
      if (hit && !first) first = li;
    });
    if (first) first.classList.add("active");
  }
  function paletteMove(step) {
    const shown = paletteItems().filter((li) => !li.hidden);
    if (!shown.length) return;
    const at = shown.findIndex((li) => li.classList.contains("active"));
    shown.forEach((li) => li.classList.remove("active"));
    const next = shown[(at + step + shown.length) % shown.length];
    next.classList.add("active");
    next.scrollIntoView({ block: "nearest" });
  }
  function run(li) {
    if (!li) return;
    palette.close();
    if (li.dataset.href) {
      if (li.hasAttribute("data-external")) window.open(li.dataset.href, "_blank", "noopener");
      else window.location = li.dataset.href;
    } else if (li.dataset.action === "help") {
      toggleHelp();
    } else if (li.dataset.action === "escalate") {
      escalate();
    } else if (li.dataset.click) {
      const target = $(li.dataset.click);
      if (target) { target.focus(); target.click(); }
    }
  }
  if (palette) {
    const input = $("[data-palette-input]", palette);
    input.addEventListener("input", paletteFilter);
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "ArrowDown") { ev.preventDefault(); paletteMove(1); }
      else if (ev.key === "ArrowUp") { ev.preventDefault(); paletteMove(-1); }
      else if (ev.key === "Enter") { ev.preventDefault(); run($("li.active:not([hidden])", palette)); }
    });
    palette.addEventListener("click", (ev) => run(ev.target.closest("li")));
  }
  function openPalette() {
    if (!palette) return;
    const input = $("[data-palette-input]", palette);
    input.value = "";
    paletteFilter();
    palette.showModal();
    input.focus();
  }
  function toggleHelp() {
    const help = $("[data-help]");
    if (help) { if (help.open) help.close(); else help.showModal(); }
  }

  // --- the keys ---------------------------------------------------------------------------------
  document.addEventListener("keydown", (ev) => {
    if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === "k") {
      ev.preventDefault();
      openPalette();
      return;
    }
    if (ev.key === "Escape") {
      if (reasonMode) { leaveReasonMode(); return; }
      if (typing(document.activeElement)) { document.activeElement.blur(); return; }
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(document.activeElement)) return;
    if ($("dialog[open]") && ev.key !== "?") return;  // an overlay is up: keys are not decisions
    if (reasonMode) {
      if (/^[1-9]$/.test(ev.key)) { ev.preventDefault(); rejectWith(ev.key); return; }
      leaveReasonMode();
    }
    switch (ev.key) {
      case "j": open(mark(moved || $("[data-comment]", pane || document) ? index + 1 : index)); moved = true; break;
      case "k": open(mark(index - 1)); moved = true; break;
      case "Enter": { const li = rows()[index]; if (li) { if (paneShown()) open(li); else window.location = li.dataset.href; } break; }
      case "o": { const card = $("[data-comment]"); if (card) window.location = card.dataset.pageUrl; break; }
      case "x": {
        const li = rows()[index];
        const box = li && $("input[type=checkbox]", li);
        if (box && !box.disabled) { box.checked = !box.checked; updateSelection(); }
        moved = true;
        break;
      }
      case "a": approve(); break;
      case "r": enterReasonMode(); break;
      case "e": { const editor = openEditor(); if (editor) { ev.preventDefault(); editor.focus(); } break; }
      case "d": applySuggestion(); break;
      case "u": undo(); break;
      case "s": if (escalate()) ev.preventDefault(); break;
      case "/": { const search = $("[data-search]"); if (search) { ev.preventDefault(); search.focus(); search.select(); } break; }
      case "?": toggleHelp(); break;
      default: return;
    }
  });

  // --- claims -----------------------------------------------------------------------------------
  // The open card holds its comment while it is shown (service/review_claims.py): a heartbeat
  // renews the claim while the tab is visible; moving to another card or leaving the page
  // lets it go (a beacon on pagehide: it is sent even as the page goes away). If someone
  // took the comment over, the card is drawn again with the message saying who.
  const HEARTBEAT_MS = 30000;
  // A tab left open over lunch does not hold its comment: no key, click, scroll or pointer
  // move for this long and the heartbeat stops (peers may take over a minute later, and the
  // claim lapses after two).
  const AWAY_MS = 5 * 60 * 1000;
  let lastActive = Date.now();
  ["keydown", "pointerdown", "pointermove", "wheel", "scroll", "focus"].forEach((type) => {
    window.addEventListener(type, () => { lastActive = Date.now(); },
      { capture: true, passive: true });
  });
  function heldCard() { return $("[data-comment][data-claim-token]"); }
  function claimData(card) {
    const data = new FormData();
    const csrf = $("input[name=csrf_token]");
    if (csrf) data.append("csrf_token", csrf.value);
    data.append("token", card.dataset.claimToken);
    return data;
  }
  function releaseCard(card, beacon) {
    if (!card || card.dataset.released) return;
    card.dataset.released = "yes";
    const data = claimData(card);
    if (beacon && navigator.sendBeacon) { navigator.sendBeacon(card.dataset.releaseUrl, data); return; }
    fetch(card.dataset.releaseUrl, { method: "POST", body: data, credentials: "same-origin",
      keepalive: true }).catch(() => {});
  }
  function reloadCard(card) {
    if (paneShown() && card.closest("#pane")) {
      htmx.ajax("GET", card.dataset.paneUrl, { target: "#pane", swap: "innerHTML" });
    } else {
      window.location.reload();
    }
  }
  function heartbeat() {
    const card = heldCard();
    if (!card || document.hidden || Date.now() - lastActive > AWAY_MS) return;
    card.dataset.released = "";
    fetch(card.dataset.heartbeatUrl, { method: "POST", body: claimData(card),
      credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : null))
      .then((data) => { if (data && data.held === false && card.isConnected) reloadCard(card); })
      .catch(() => {});  // offline for a moment: the claim lasts two minutes
  }
  setInterval(heartbeat, HEARTBEAT_MS);
  // Who holds what the page shows: rows greyed out or freed, and a card someone else holds
  // drawn again once they let go or go idle (then it may be taken over).
  function pollHolders() {
    const other = $("[data-comment][data-held-by]");
    const url = (list && list.dataset.holders) || (other && other.dataset.holdersUrl);
    const ids = rows().map((li) => li.dataset.id);
    if (other) ids.push(other.dataset.comment);
    if (!url || !ids.length || document.hidden) return;
    fetch(`${url}?ids=${ids.slice(-100).join(",")}`, { credentials: "same-origin",
      headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : null))
      .then((data) => { if (data) showHolders(data.held, other); })
      .catch(() => {});
  }
  function showHolders(held, other) {
    rows().forEach((li) => {
      const h = held[li.dataset.id];
      li.classList.toggle("busy", Boolean(h));
      const box = $("input[type=checkbox]", li);
      if (box) { box.disabled = Boolean(h); if (h) box.checked = false; }
      const badge = $("[data-holder]", li);
      if (badge && (!h || badge.outerHTML !== h.html)) badge.remove();
      const meta = $(".meta", li);
      if (h && meta && !$("[data-holder]", li)) meta.insertAdjacentHTML("beforeend", h.html);
    });
    updateSelection();
    if (other && other.isConnected) {
      const h = held[other.dataset.comment];
      if (!h || h.name !== other.dataset.heldBy ||
          (h.idle ? "yes" : "no") !== other.dataset.holderIdle) reloadCard(other);
    }
  }
  setInterval(pollHolders,
    Math.max(1000, parseInt(list ? list.dataset.pollMs : "", 10) || HEARTBEAT_MS / 2));
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) { lastActive = Date.now(); heartbeat(); }
  });
  window.addEventListener("pagehide", () => releaseCard(heldCard(), true));
  window.addEventListener("pageshow", (ev) => { if (ev.persisted) heartbeat(); });

  // --- live arrivals ------------------------------------------------------------------------------
  // Poll for tab counts and comments that became pending, and slot new rows in at the top of
  // the first page without a reload (the server renders and escapes them).
  const MAX_INSERTED = 50;
  let inserted = 0;
  function poll() {
    if (!list || !list.dataset.arrivals) return;
    const url = new URL(list.dataset.arrivals, window.location.href);
    url.searchParams.set("since", list.dataset.cursor);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : null))
      .then((data) => { if (data) showArrivals(data); })
      .catch(() => {});  // offline for a moment: the next poll catches up
  }
  function showArrivals(data) {
    list.dataset.cursor = data.cursor;
    Object.entries(data.counts).forEach(([tab, n]) => {
      const el = $(`[data-count="${tab}"]`);
      if (el) el.textContent = n;
    });
    if (list.dataset.insert !== "yes") return;
    const fresh = data.items.filter((item) => !$(`li[data-id="${item.id}"]`, list));
    if (!fresh.length) return;
    const note = $("[data-arrivals-note]");
    if (data.more || inserted + fresh.length > MAX_INSERTED) {
      // A flood: say so rather than pushing the moderator's place down the page.
      if (note) { note.textContent = note.dataset.flood; note.hidden = false; }
      return;
    }
    const empty = $("li.empty", list);
    if (empty) empty.remove();
    const selected = $("li.selected", list);
    const template = document.createElement("template");
    template.innerHTML = fresh.map((item) => item.html).join("");
    list.prepend(template.content);
    inserted += fresh.length;
    if (selected) mark(rows().indexOf(selected));
    if (note) {
      // The page renders the notes in the moderator's language (queue.html); {n}: the count.
      const text = inserted === 1 ? note.dataset.one : note.dataset.many;
      note.textContent = text.replace("{n}", String(inserted));
      note.hidden = false;
    }
  }
  if (list && list.dataset.arrivals) {
    const every = Math.max(1000, parseInt(list.dataset.pollMs, 10) || 15000);
    setInterval(() => { if (!document.hidden) poll(); }, every);
  }
  updateSelection();
})();
