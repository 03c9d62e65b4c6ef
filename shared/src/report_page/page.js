// The report page's filters (status, OU, Region) and the detail of the cell clicked.
(function () {
  "use strict";
  const cells = Array.from(document.querySelectorAll("td.cell"));
  const detail = document.getElementById("detail");
  const statusBoxes = Array.from(document.querySelectorAll("input[name=status]"));
  const ouSelect = document.getElementById("filter-ou");
  const regionSelect = document.getElementById("filter-region");

  function apply() {
    const shown = new Set(statusBoxes.filter((box) => box.checked).map((box) => box.value));
    const ou = ouSelect ? ouSelect.value : "";
    const region = regionSelect ? regionSelect.value : "";
    for (const cell of cells) {
      cell.classList.toggle("dim", !shown.has(cell.dataset.status));
    }
    document.querySelectorAll("[data-region]").forEach((element) => {
      if (element.tagName === "TD" || element.tagName === "TH") {
        element.classList.toggle("hidden", region !== "" && element.dataset.region !== region);
      }
    });
    document.querySelectorAll("tbody[data-ou]").forEach((group) => {
      group.classList.toggle("hidden", ou !== "" && group.dataset.ou !== ou);
    });
    document.querySelectorAll("tbody tr[data-account]").forEach((row) => {
      const visible = Array.from(row.querySelectorAll("td.cell")).some(
        (cell) => !cell.classList.contains("dim") && !cell.classList.contains("hidden"));
      row.classList.toggle("hidden", !visible);
    });
  }

  function show(cell) {
    const row = cell.closest("tr");
    const group = cell.closest("tbody");
    const lines = [
      "Account  " + row.dataset.account,
      "Region   " + cell.dataset.region,
      "Wave     " + (group.dataset.wave || "-"),
      "OU       " + (group.dataset.ou || "-"),
      "Status   " + cell.dataset.status,
    ];
    if (cell.dataset.execution) lines.push("Child    " + cell.dataset.execution);
    if (cell.title) lines.push("", cell.title);
    detail.replaceChildren();
    const pre = document.createElement("pre");
    pre.textContent = lines.join("\n");
    detail.appendChild(pre);
  }

  statusBoxes.forEach((box) => box.addEventListener("change", apply));
  if (ouSelect) ouSelect.addEventListener("change", apply);
  if (regionSelect) regionSelect.addEventListener("change", apply);
  for (const cell of cells) {
    cell.tabIndex = 0;
    cell.addEventListener("click", () => show(cell));
    cell.addEventListener("keydown", (event) => { if (event.key === "Enter") show(cell); });
  }
})();
