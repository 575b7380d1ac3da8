// Admin console, training data: a checkbox that selects every example on the page.
(function () {
  "use strict";
  document.querySelectorAll("[data-select-all]").forEach((all) => {
    const boxes = () => document.querySelectorAll(`input[type=checkbox][name="${all.dataset.selectAll}"]`);
    all.addEventListener("change", () => boxes().forEach((box) => { box.checked = all.checked; }));
    document.addEventListener("change", (ev) => {
      if (ev.target === all || ev.target.name !== all.dataset.selectAll) return;
      const list = [...boxes()];
      all.checked = list.length > 0 && list.every((box) => box.checked);
    });
  });
})();
