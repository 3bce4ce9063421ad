// The dashboard's only script: live progress of a scan (server-sent events) and the finding
// filters. Everything from the server is set as text (textContent), never as markup.
"use strict";

function followScan(section) {
  const status = section.dataset.status;
  if (status !== "queued" && status !== "running") return;
  const bar = document.getElementById("progress");
  const phase = document.getElementById("phase");
  const lines = document.getElementById("lines");
  const source = new EventSource("/scans/" + section.dataset.scan + "/events");
  source.addEventListener("line", (event) => {
    const item = document.createElement("li");
    item.textContent = JSON.parse(event.data).text;
    lines.appendChild(item);
  });
  source.addEventListener("progress", (event) => {
    const state = JSON.parse(event.data);
    bar.value = state.progress;
    bar.textContent = state.progress + " %";
    phase.textContent = state.status + ": " + state.phase;
  });
  source.addEventListener("end", () => {
    source.close();
    window.location.reload();
  });
}

function filterFindings() {
  const severity = document.getElementById("filter-severity");
  const category = document.getElementById("filter-category");
  if (!severity || !category) return;
  const apply = () => {
    let shown = 0;
    for (const finding of document.querySelectorAll("article.finding")) {
      const visible =
        (!severity.value || finding.dataset.severity === severity.value) &&
        (!category.value || finding.dataset.category === category.value);
      finding.hidden = !visible;
      if (visible) shown += 1;
    }
    document.getElementById("shown").textContent = String(shown);
  };
  severity.addEventListener("change", apply);
  category.addEventListener("change", apply);
}

document.addEventListener("DOMContentLoaded", () => {
  const section = document.getElementById("scan");
  if (section) followScan(section);
  filterFindings();
});
