// Keyboard for the review queue: j/k move, Enter opens, a approve, r reject (choose a
// reason), e edit, d apply the diacritics suggestion, u undo, ? help.
(function () {
  "use strict";
  const typing = (el) => el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT");
  const list = document.querySelector("[data-keyboard-list]");
  let index = 0;
  function select(i) {
    const items = list ? Array.from(list.querySelectorAll("li[data-href]")) : [];
    if (!items.length) return;
    index = Math.max(0, Math.min(items.length - 1, i));
    items.forEach((li, n) => li.classList.toggle("selected", n === index));
    items[index].scrollIntoView({ block: "nearest" });
  }
  if (list) select(0);
  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(document.activeElement)) return;
    const open = document.querySelector("dialog[open]");
    if (open && ev.key !== "?") return;  // the overlay is up: keys are not decisions
    const editor = document.querySelector("[data-editor]");
    const approve = document.querySelector("form[data-approve]");
    const reject = document.querySelector("form[data-reject]");
    switch (ev.key) {
      case "j": select(index + 1); break;
      case "k": select(index - 1); break;
      case "x": {
        const item = list && list.querySelectorAll("li[data-href]")[index];
        const box = item && item.querySelector("input[type=checkbox]");
        if (box && !box.disabled) box.checked = !box.checked;
        break;
      }
      case "Enter": {
        const item = list && list.querySelectorAll("li[data-href]")[index];
        if (item) window.location = item.dataset.href;
        break;
      }
      case "a": if (approve) approve.submit(); break;
      case "r": if (reject) { ev.preventDefault(); reject.querySelector("select").focus(); } break;
      case "e": if (editor) { ev.preventDefault(); openEditor(); editor.focus(); } break;
      case "d": applySuggestion(); break;
      case "u": { const undo = document.querySelector("form[action$='/undo']"); if (undo) undo.submit(); break; }
      case "?": {
        const help = document.querySelector("[data-help]");
        if (help) { if (help.open) help.close(); else help.showModal(); }
        break;
      }
      default: return;
    }
  });
  function openEditor() {
    const editor = document.querySelector("[data-editor]");
    if (!editor) return null;
    editor.hidden = false;
    editor.disabled = false;  // only now does approving send the edited text
    const label = document.querySelector("[data-editor-label]");
    if (label) label.hidden = false;
    return editor;
  }
  function applySuggestion() {
    const suggestion = document.querySelector("[data-suggestion]");
    const editor = openEditor();
    if (editor && suggestion) editor.value = suggestion.textContent;
  }
  // Live arrivals: poll for tab counts and comments that became pending, and slot new rows
  // in at the top of the first page without a reload (the server renders and escapes them).
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
      const el = document.querySelector(`[data-count="${tab}"]`);
      if (el) el.textContent = n;
    });
    if (list.dataset.insert !== "yes") return;
    const fresh = data.items.filter((item) => !list.querySelector(`li[data-id="${item.id}"]`));
    if (!fresh.length) return;
    const note = document.querySelector("[data-arrivals-note]");
    if (data.more || inserted + fresh.length > MAX_INSERTED) {
      // A flood: say so rather than pushing the moderator's place down the page.
      if (note) { note.textContent = note.dataset.flood; note.hidden = false; }
      return;
    }
    const empty = list.querySelector("li.empty");
    if (empty) empty.remove();
    const selected = list.querySelector("li.selected");
    const template = document.createElement("template");
    template.innerHTML = fresh.map((item) => item.html).join("");
    list.prepend(template.content);
    inserted += fresh.length;
    const items = Array.from(list.querySelectorAll("li[data-href]"));
    select(selected ? items.indexOf(selected) : 0);
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
  const edit = document.querySelector("[data-edit]");
  if (edit) edit.addEventListener("click", () => { const e = openEditor(); if (e) e.focus(); });
  const apply = document.querySelector("[data-apply-suggestion]");
  if (apply) apply.addEventListener("click", applySuggestion);
})();
