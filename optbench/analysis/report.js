// optbench report: sortable tables and clickable legends. No network, no libraries.
"use strict";

function sortTable(table, column, header) {
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const ascending = header.dataset.order !== "asc";
  const key = (row) => {
    const cell = row.cells[column];
    const raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
    const number = Number(raw === "inf" ? Infinity : raw === "-inf" ? -Infinity : raw);
    return raw !== "" && !Number.isNaN(number) ? number : raw.toLowerCase();
  };
  rows.sort((a, b) => {
    const x = key(a), y = key(b);
    if (typeof x === typeof y) return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
    return typeof x === "number" ? -1 : 1; // numbers before text, blanks last
  });
  rows.forEach((row) => body.appendChild(row));
  table.querySelectorAll("th").forEach((th) => delete th.dataset.order);
  header.dataset.order = ascending ? "asc" : "desc";
}

function setUpTables() {
  document.querySelectorAll("table.sortable").forEach((table) => {
    Array.from(table.tHead.rows[0].cells).forEach((header, column) => {
      header.title = "click to sort";
      header.addEventListener("click", () => sortTable(table, column, header));
    });
  });
}

// Legend entries carry ids "<series>-leg-line" and "<series>-leg-text"; the series'
// artists carry "<series>-line", "<series>-band", ... Click toggles a series, double
// click shows it alone (or everything again).
function seriesOf(id) {
  return id.replace(/-leg-(line|text)$/, "");
}

function artists(series) {
  return document.querySelectorAll(`[id^="${series}-"]:not([id*="-leg-"])`);
}

function setVisible(series, visible) {
  artists(series).forEach((node) => node.style.display = visible ? "" : "none");
  document.querySelectorAll(`[id^="${series}-leg-"]`).forEach((node) => node.style.opacity = visible ? 1 : 0.3);
}

function setUpLegends() {
  const entries = document.querySelectorAll('[id$="-leg-line"], [id$="-leg-text"]');
  entries.forEach((entry) => {
    const series = seriesOf(entry.id);
    const figure = entry.closest("figure");
    entry.style.cursor = "pointer";
    entry.addEventListener("click", () => {
      const hidden = artists(series)[0] && artists(series)[0].style.display === "none";
      setVisible(series, hidden);
    });
    entry.addEventListener("dblclick", () => {
      const all = new Set(Array.from(figure.querySelectorAll('[id$="-leg-text"]')).map((e) => seriesOf(e.id)));
      const alone = Array.from(all).every((s) => s === series || (artists(s)[0] && artists(s)[0].style.display === "none"));
      all.forEach((s) => setVisible(s, alone || s === series));
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setUpTables();
  setUpLegends();
  document.body.dataset.ready = "yes";
});
