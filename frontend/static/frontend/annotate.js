// Annotator page: shift, claim, play through Web Audio (no audio element, no URL), submit.

const $ = (id) => document.getElementById(id);
const csrf = () => (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";

let audioContext = null;
let buffer = null;
let source = null;
let current = null;
let retryTimer = null;

async function call(method, path, body) {
  const response = await fetch(`/api/v1/${path}`, {
    method,
    credentials: "same-origin",
    headers: { "X-CSRFToken": csrf(), "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return { status: 204, data: null };
  const isJson = (response.headers.get("Content-Type") || "").includes("json");
  const data = isJson ? await response.json() : await response.arrayBuffer();
  if (!response.ok) {
    const error = new Error(isJson && data.error ? data.error.message : `Request failed (${response.status})`);
    error.status = response.status;
    error.code = isJson && data.error ? data.error.code : "";
    throw error;
  }
  return { status: response.status, data };
}

function say(text) { $("clip-status").textContent = text; }

function showDone(count) {
  $("shift-status").textContent = `Shift running: ${count} clip${count === 1 ? "" : "s"} done.`;
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
    const audio = await call("GET", `assignments/${current.id}/audio`);
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
    } else {
      say(error.message);
    }
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
