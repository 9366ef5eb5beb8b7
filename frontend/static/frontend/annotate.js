// Annotator page: shift, claim, play through Web Audio (no audio element, no URL), submit.

const $ = (id) => document.getElementById(id);
const csrf = () => (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";

let audioContext = null;
let buffer = null;
let source = null;
let current = null;
let retryTimer = null;

async function call(method, path, body, extraHeaders = {}) {
  const response = await fetch(`/api/v1/${path}`, {
    method,
    credentials: "same-origin",
    cache: "no-store",
    headers: { "X-CSRFToken": csrf(), "Content-Type": "application/json", ...extraHeaders },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return { status: 204, data: null };
  const isJson = (response.headers.get("Content-Type") || "").includes("json");
  const data = isJson ? await response.json() : await response.arrayBuffer();
  if (!response.ok) {
    const error = new Error(isJson && data.error ? data.error.message : `Request failed (${response.status})`);
    error.status = response.status;
    error.code = isJson && data.error ? data.error.code : "";
    error.retryAfter = parseInt(response.headers.get("Retry-After") || "", 10) || 0;
    throw error;
  }
  return { status: response.status, data };
}

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
    say(error.code === "break_required" ? `Break time: next clip in ${wait}.` : `Next clip in ${wait}.`);
    retryTimer = setTimeout(tick, 1000);
  };
  say(error.message);
  retryTimer = setTimeout(tick, 1000);
}

function setWorking(enabled) {
  for (const id of ["play", "transcript", "submit", "skip"]) $(id).disabled = !enabled;
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
    if (error.code === "withdrawn" || error.code === "lease_expired" || error.code === "assignment_closed") {
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
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey && event.key === "Enter") { event.preventDefault(); submit(); }
  else if (event.altKey && event.code === "KeyP") { event.preventDefault(); togglePlay(); }
  else if (event.altKey && event.code === "KeyK") { event.preventDefault(); skip(); }
});
