// Admin console: forms marked data-confirm ask before they submit (replacing a key,
// disabling a user, resetting a password cannot be undone from the page).
(function () {
  "use strict";
  document.addEventListener("submit", (ev) => {
    const form = ev.target;
    const question = form instanceof HTMLFormElement && form.dataset.confirm;
    if (question && !window.confirm(question)) ev.preventDefault();
  });
  // A secret shown once: select it all on click, ready to copy.
  document.querySelectorAll("[data-secret]").forEach((el) => {
    el.addEventListener("click", () => window.getSelection().selectAllChildren(el));
  });
})();
