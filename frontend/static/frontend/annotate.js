// Annotator page: shift, claim, play through Web Audio (no audio element, no URL), submit, flag,
// second opinions, content opt-outs.

import { $, call } from "./api.js";

let audioContext = null;
let buffer = null;
let source = null;
let current = null;
let retryTimer = null;

function say(text) { $("clip-status").textContent = text; }

function showDone(count) {
  $("shift-status").textContent = `Shift running: ${count} clip${count === 1 ? "" : "s"} done.`;
}

const hoursAndMinutes = (seconds) => {
  const minutes = Math.floor(seconds / 60);
  return minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;
};

let progress = null;
let progressFetched = 0;

function drawProgress() {
  if (!progress) { $("shift-progress").textContent = ""; return; }
  const elapsed = (Date.now() - progressFetched) / 1000;
  const parts = [
    `${hoursAndMinutes(progress.worked_seconds + elapsed)} of ${hoursAndMinutes(progress.max_shift_seconds)} worked today`,
    `${progress.clips_claimed} of ${progress.max_clips} clips this shift`,
  ];
  if (progress.break_due_at) {
    const due = (Date.parse(progress.break_due_at) - Date.now()) / 1000;
    parts.push(due > 0 ? `break due in ${hoursAndMinutes(due + 59)}` : "break due now");
  }
  $("shift-progress").textContent = parts.join(" · ");
}

async function refreshProgress() {
  try {
    progress = (await call("GET", "shifts/current")).data;
    progressFetched = Date.now();
  } catch (error) {
    progress = null;
  }
  drawProgress();
}
setInterval(drawProgress, 30000);

// A refusal that says when to try again: count down on the page, then ask once more.
function waitAndRetry(error) {
  const until = Date.now() + error.retryAfter * 1000;
  const tick = () => {
    const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
    if (left === 0) { loadNext(); return; }
    const wait = left > 90 ? `${Math.ceil(left / 60)} min` : `${left} s`;
    const why = { break_required: "Break time", flag_pause: "Pause after the flag" }[error.code];
    say(why ? `${why}: next clip in ${wait}.` : `Next clip in ${wait}.`);
    retryTimer = setTimeout(tick, 1000);
  };
  say(error.message);
  retryTimer = setTimeout(tick, 1000);
}

function setWorking(enabled) {
  for (const id of ["play", "transcript", "submit", "skip", "flag", "ask"]) $(id).disabled = !enabled;
  if (!enabled) { closePanel("flag"); closePanel("ask"); }
}

function openPanel(name) {
  if (!current || $(name).disabled) return;
  closePanel(name === "flag" ? "ask" : "flag");
  $(`${name}-panel`).hidden = false;
  $(name).setAttribute("aria-expanded", "true");
  const first = $(`${name}-panel`).querySelector(name === "flag" ? "input[name=category]:checked" : "#ask-start");
  first.focus();
}

function closePanel(name) {
  $(`${name}-panel`).hidden = true;
  $(name).setAttribute("aria-expanded", "false");
}

function stop() {
  if (source) { source.onended = null; source.stop(); source = null; }
  $("play").textContent = "Play";
}

function togglePlay() {
  if (!buffer) return;
  if (source) { stop(); return; }
  audioContext = audioContext || new AudioContext();
  source = audioContext.createBufferSource();
  source.buffer = buffer;
  source.connect(audioContext.destination);
  source.onended = () => { source = null; $("play").textContent = "Play"; };
  source.start();
  $("play").textContent = "Stop";
}

async function loadNext() {
  clearTimeout(retryTimer);
  stop();
  buffer = null;
  current = null;
  setWorking(false);
  $("transcript").value = "";
  say("Loading the next clip…");
  try {
    const next = await call("POST", "assignments/next");
    if (next.status === 204) {
      say("No clips are waiting. Checking again in 15 seconds.");
      retryTimer = setTimeout(loadNext, 15000);
      return;
    }
    current = next.data;
    showDone(current.clips_done);
    const opinion = current.purpose === "second_opinion" ? current.range : null;
    $("opinion-banner").hidden = !opinion;
    $("opinion-banner").textContent = opinion
      ? `Second opinion: write only what is said from ${opinion.start_seconds.toFixed(1)} s to ${opinion.end_seconds.toFixed(1)} s.`
      : "";
    refreshProgress();
    const audio = await call("GET", `assignments/${current.id}/audio`, undefined, { "X-Audio-Token": current.audio_token });
    audioContext = audioContext || new AudioContext();
    buffer = await audioContext.decodeAudioData(audio.data);
    $("clip-length").textContent = `${current.duration_seconds.toFixed(1)} s`;
    $("transcript").value = current.draft || "";
    setWorking(true);
    say("Clip ready. Play it and correct the draft to what you hear.");
    $("transcript").focus();
  } catch (error) {
    if (error.code === "withdrawn") {
      say("This clip was withdrawn by its owner. Loading the next one…");
      retryTimer = setTimeout(loadNext, 1500);
    } else if (error.status === 429 && error.retryAfter) {
      waitAndRetry(error);
    } else {
      say(error.message);  // the shift's time or clips are used up: the message says what to do
    }
    refreshProgress();
  }
}

async function submit() {
  if (!current) return;
  const text = $("transcript").value;
  if (!text.trim()) { say("Type what you heard before submitting."); return; }
  setWorking(false);
  try {
    const result = await call("POST", `assignments/${current.id}/submit`, { text });
    showDone(result.data.clips_done);
    await loadNext();
  } catch (error) {
    say(error.message);
    if (["withdrawn", "lease_expired", "assignment_closed", "escalated"].includes(error.code)) {
      retryTimer = setTimeout(loadNext, 1500);
    } else {
      setWorking(true);
    }
  }
}

async function skip() {
  if (!current) return;
  setWorking(false);
  try { await call("POST", `assignments/${current.id}/skip`); } catch (error) { say(error.message); }
  await loadNext();
}

async function sendFlag(event) {
  event.preventDefault();
  if (!current) return;
  const category = $("flag-panel").querySelector("input[name=category]:checked").value;
  setWorking(false);
  try {
    const result = await call("POST", `assignments/${current.id}/escalate`,
      { category, note: $("flag-note").value, text: $("transcript").value });
    $("flag-note").value = "";
    stop();
    buffer = null;
    current = null;
    say(result.data.message);
    // The pause after a flag is the server's: the next request is answered with when to come back.
    retryTimer = setTimeout(loadNext, 4000);
  } catch (error) {
    say(error.message);
    setWorking(true);
  }
}

async function askOpinion(event) {
  event.preventDefault();
  if (!current) return;
  try {
    await call("POST", `assignments/${current.id}/second-opinion`, {
      start_seconds: parseFloat($("ask-start").value), end_seconds: parseFloat($("ask-end").value),
      text: $("ask-text").value,
    });
    closePanel("ask");
    $("ask-text").value = "";
    say("Asked. Go on with the clip; the answer appears under “Your second opinions”.");
    refreshOpinions();
    $("transcript").focus();
  } catch (error) {
    say(error.message);
  }
}

async function refreshOpinions() {
  try {
    const mine = (await call("GET", "second-opinions/mine")).data;
    const list = $("opinions");
    list.replaceChildren();
    for (const item of mine) {
      const li = document.createElement("li");
      const span = `${item.start_seconds.toFixed(1)}–${item.end_seconds.toFixed(1)} s, you heard “${item.your_text}”`;
      li.textContent = item.settled_text !== null ? `${span}: settled as “${item.settled_text}”` : `${span}: ${item.state}`;
      list.append(li);
    }
    if (!mine.length) list.innerHTML = "<li>None yet.</li>";
  } catch (error) { /* the list is a convenience; the page works without it */ }
}

async function loadOptOuts() {
  try {
    const chosen = (await call("GET", "annotator/settings")).data.opted_out_categories;
    for (const box of document.querySelectorAll("input[name=opt-out]")) box.checked = chosen.includes(box.value);
  } catch (error) { $("opt-outs-status").textContent = error.message; }
}

async function saveOptOuts(event) {
  event.preventDefault();
  const chosen = [...document.querySelectorAll("input[name=opt-out]:checked")].map((box) => box.value);
  try {
    await call("PUT", "annotator/settings", { opted_out_categories: chosen });
    $("opt-outs-status").textContent = "Saved.";
  } catch (error) { $("opt-outs-status").textContent = error.message; }
}

async function startShift() {
  try {
    const shift = await call("POST", "shifts");
    showDone(shift.data.clips_done);
    progress = shift.data;
    progressFetched = Date.now();
    drawProgress();
    $("start-shift").hidden = true;
    $("end-shift").hidden = false;
    $("work").hidden = false;
    await loadNext();
  } catch (error) {
    $("shift-status").textContent = error.message;
  }
}

async function endShift() {
  clearTimeout(retryTimer);
  stop();
  try {
    const shift = await call("POST", "shifts/current/end");
    $("shift-status").textContent = `Shift ended: ${shift.data.clips_done} clips done. Thank you.`;
    progress = null;
    drawProgress();
  } catch (error) {
    $("shift-status").textContent = error.message;
  }
  current = null;
  buffer = null;
  $("work").hidden = true;
  $("end-shift").hidden = true;
  $("start-shift").hidden = false;
}

$("start-shift").addEventListener("click", startShift);
$("end-shift").addEventListener("click", endShift);
$("play").addEventListener("click", togglePlay);
$("submit").addEventListener("click", submit);
$("skip").addEventListener("click", skip);
$("flag").addEventListener("click", () => openPanel("flag"));
$("ask").addEventListener("click", () => openPanel("ask"));
$("flag-cancel").addEventListener("click", () => closePanel("flag"));
$("ask-cancel").addEventListener("click", () => closePanel("ask"));
$("flag-panel").addEventListener("submit", sendFlag);
$("ask-panel").addEventListener("submit", askOpinion);
$("opt-outs").addEventListener("submit", saveOptOuts);
document.addEventListener("keydown", (event) => {
  const flagging = !$("flag-panel").hidden;
  if (event.key === "Escape") { closePanel("flag"); closePanel("ask"); }
  else if (flagging && /^[1-5]$/.test(event.key) && event.target.id !== "flag-note") {
    event.preventDefault();
    const boxes = $("flag-panel").querySelectorAll("input[name=category]");
    boxes[parseInt(event.key, 10) - 1].checked = true;
    boxes[parseInt(event.key, 10) - 1].focus();
  }
  else if (event.ctrlKey && event.key === "Enter" && !flagging) { event.preventDefault(); submit(); }
  else if (event.altKey && event.code === "KeyP") { event.preventDefault(); togglePlay(); }
  else if (event.altKey && event.code === "KeyK") { event.preventDefault(); skip(); }
  else if (event.altKey && event.code === "KeyF") { event.preventDefault(); openPanel("flag"); }
  else if (event.altKey && event.code === "KeyO") { event.preventDefault(); openPanel("ask"); }
});
loadOptOuts();
refreshOpinions();
