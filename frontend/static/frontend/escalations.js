// Supervisors' escalation page: the queue, a claimed case (transcript first, audio on request),
// outcomes, legal holds, and second opinions to decide.

import { $, call as request, cell } from "./lib/api.js";
import { reportPlayStart } from "./lib/playstarts.js";

const call = async (...args) => (await request(...args)).data;
const say = (text) => { $("status").textContent = text; };
let caseId = null;
let opinionId = null;
let audioContext = null;

const until = (iso) => {
  const minutes = Math.round((Date.parse(iso) - Date.now()) / 60000);
  return minutes <= 0 ? "overdue" : minutes >= 120 ? `in ${Math.round(minutes / 60)} h` : `in ${minutes} min`;
};

async function loadQueue() {
  try {
    const items = await call("GET", "escalations");
    const body = $("queue");
    body.replaceChildren();
    for (const item of items) {
      const row = document.createElement("tr");
      if (item.overdue) row.className = "overdue";
      cell(row, item.category_label + (item.on_hold ? " (legal hold)" : ""));
      cell(row, item.note || "—");
      cell(row, until(item.due_at));
      cell(row, item.claimed_by || "nobody yet");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = item.claimed_by ? "Open" : "Claim";
      button.addEventListener("click", () => openCase(item.id));
      cell(row, "").append(button);
      body.append(row);
    }
    if (!items.length) body.innerHTML = '<tr><td colspan="5">Nothing is waiting.</td></tr>';
  } catch (error) { say(error.message); }
}

async function openCase(id) {
  try {
    await call("POST", `escalations/${id}/claim`);
    const detail = await call("GET", `escalations/${id}`);
    caseId = id;
    $("case").hidden = false;
    $("case-meta").textContent = `${detail.category_label}, ${detail.duration_seconds.toFixed(1)} s, flagged ${new Date(detail.created_at).toLocaleString()}, due ${until(detail.due_at)}.`;
    $("case-draft").textContent = detail.draft || "(no recognized text)";
    $("case-text").textContent = detail.annotator_text || "(nothing typed)";
    $("case-note").textContent = detail.note ? `Note: ${detail.note}` : "";
    $("case-holds").textContent = detail.holds.map((h) => `Legal hold until ${new Date(h.expires_at).toLocaleDateString()}: ${h.reason}`).join(" ");
    $("case-title").focus();
    loadQueue();
  } catch (error) { say(error.message); }
}

async function play(path) {
  try {
    const listening = await call("POST", path);
    const audio = await call("GET", `assignments/${listening.assignment}/audio`, undefined,
      { "X-Audio-Token": listening.audio_token });
    audioContext = audioContext || new AudioContext();
    const source = audioContext.createBufferSource();
    source.buffer = await audioContext.decodeAudioData(audio);
    source.connect(audioContext.destination);
    source.start();
    reportPlayStart(listening.assignment, listening.audio_token);
  } catch (error) { say(error.message); }
}

async function resolve(event) {
  event.preventDefault();
  const outcome = document.querySelector("input[name=outcome]:checked");
  try {
    await call("POST", `escalations/${caseId}/resolve`, {
      outcome: outcome ? outcome.value : "", reason: $("reason").value, referred_to: $("referred-to").value,
    });
    say("Outcome recorded.");
    $("case").hidden = true;
    $("resolve").reset();
    caseId = null;
    loadQueue();
  } catch (error) { say(error.message); }
}

async function hold(event) {
  event.preventDefault();
  try {
    const placed = await call("POST", `escalations/${caseId}/hold`,
      { days: parseInt($("hold-days").value, 10), reason: $("hold-reason").value });
    say(`Legal hold placed until ${new Date(placed.expires_at).toLocaleDateString()}.`);
    openCase(caseId);
  } catch (error) { say(error.message); }
}

async function loadOpinions() {
  try {
    const items = await call("GET", "second-opinions");
    const list = $("opinions");
    list.replaceChildren();
    for (const item of items) {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = `${item.start_seconds.toFixed(1)}–${item.end_seconds.toFixed(1)} s, ${Math.round(item.difference * 100)}% apart`;
      button.addEventListener("click", () => openOpinion(item.id));
      li.append(button);
      list.append(li);
    }
    if (!items.length) list.innerHTML = "<li>None.</li>";
  } catch (error) { say(error.message); }
}

async function openOpinion(id) {
  try {
    const detail = await call("GET", `second-opinions/${id}`);
    opinionId = id;
    $("adjudicate").hidden = false;
    $("opinion-readings").textContent = `First: “${detail.first_text}”. Second: “${detail.answer_text}”.`;
    $("opinion-text").focus();
  } catch (error) { say(error.message); }
}

async function adjudicate(event) {
  event.preventDefault();
  try {
    await call("POST", `second-opinions/${opinionId}/adjudicate`, { text: $("opinion-text").value });
    say("Decision recorded.");
    $("adjudicate").hidden = true;
    $("adjudicate").reset();
    loadOpinions();
  } catch (error) { say(error.message); }
}

$("case-title").tabIndex = -1;
$("listen").addEventListener("click", () => play(`escalations/${caseId}/listen`));
$("opinion-listen").addEventListener("click", () => play(`second-opinions/${opinionId}/listen`));
$("resolve").addEventListener("submit", resolve);
$("hold").addEventListener("submit", hold);
$("adjudicate").addEventListener("submit", adjudicate);
loadQueue();
loadOpinions();
setInterval(loadQueue, 30000);
