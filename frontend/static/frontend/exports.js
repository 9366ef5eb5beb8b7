// Exports page: request an export of a project and follow the worker's progress until it can be downloaded.

import { $, call, cell } from "./lib/api.js";

const say = (text) => { $("status").textContent = text; };
let timer = null;

function progressOf(job) {
  const bar = document.createElement("progress");
  bar.max = Math.max(job.total, 1);
  bar.value = job.state === "done" ? bar.max : job.done;
  bar.setAttribute("aria-label", "progress");
  const wrap = document.createElement("span");
  wrap.append(bar, ` ${job.done} of ${job.total}`);
  return wrap;
}

async function refresh() {
  clearTimeout(timer);
  if (!$("project")) return;
  try {
    const jobs = (await call("GET", `projects/${$("project").value}/exports`)).data;
    const body = $("exports");
    body.replaceChildren();
    for (const job of jobs) {
      const row = document.createElement("tr");
      cell(row, new Date(job.created_at).toLocaleString());
      cell(row, job.state + (job.error ? `: ${job.error}` : ""));
      cell(row, progressOf(job));
      cell(row, String(job.exported));
      cell(row, Object.entries(job.left_out).filter(([, n]) => n).map(([why, n]) => `${n} ${why.replaceAll("_", " ")}`).join(", ") || "none");
      if (job.state === "done") {
        const link = document.createElement("a");
        link.href = `/api/v1/exports/${job.id}/download`;
        link.textContent = `Download (${(job.size_bytes / 1048576).toFixed(1)} MB)`;
        cell(row, link);
      } else cell(row, "—");
      body.append(row);
    }
    if (!jobs.length) body.innerHTML = '<tr><td colspan="6">None yet.</td></tr>';
    if (jobs.some((job) => job.state === "queued" || job.state === "running")) timer = setTimeout(refresh, 2000);
  } catch (error) { say(error.message); }
}

async function request(event) {
  event.preventDefault();
  const formats = [...document.querySelectorAll("input[name=format]:checked")].map((box) => box.value);
  if (!formats.length) { say("Choose at least one format."); return; }
  try {
    await call("POST", `projects/${$("project").value}/exports`, { formats });
    say("Export requested; a worker is writing it.");
    refresh();
  } catch (error) { say(error.message); }
}

if ($("export-form")) {
  $("export-form").addEventListener("submit", request);
  $("project").addEventListener("change", refresh);
}
refresh();
