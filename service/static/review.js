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
      case "?": alert("j/k: chọn · x: đánh dấu · Enter: mở · a: duyệt · r: từ chối · e: sửa · d: thêm dấu · u: hoàn tác"); break;
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
  const edit = document.querySelector("[data-edit]");
  if (edit) edit.addEventListener("click", () => { const e = openEditor(); if (e) e.focus(); });
  const apply = document.querySelector("[data-apply-suggestion]");
  if (apply) apply.addEventListener("click", applySuggestion);
})();
