// Annotator page: shift, claim, the editor (waveform, playback on keys, labels, saved drafts),
// submit, flag, second opinions, content opt-outs. Audio plays through Web Audio: no audio element, no URL.

import { $, call } from "./api.js";
import { DraftSaver, FLAG_NAMES, shiftSpans } from "./labels.js";
import { Player, Waveform } from "./waveform.js";

const FLAG_KEYS = { no_speech: "KeyN", unintelligible: "KeyU", not_directed: "KeyT" };
const FLAG_KEY_NAMES = { no_speech: "N", unintelligible: "U", not_directed: "T" };

let current = null;
let ahead = null; // the next clip, claimed ahead with its sound decoded: {assignment, buffer, envelope}
let retryTimer = null;
let aheadTimer = null;
let entities = []; // [{start, end, type}] over the text in the box
let lastText = "";
const saver = new DraftSaver($("save-status"));
const player = new Player(drawSound);
const waveform = new Waveform($("waveform"), (picked) => {
  if (picked === null) { drawSound(); return; }  // still dragging
  if (picked.end === null) player.play(picked.start);
  else player.play(picked.start, picked.end);
});

function drawSound() {
  waveform.draw(player.position);
  const parts = [];
  if (player.duration) parts.push(`${player.position.toFixed(1)} of ${player.duration.toFixed(1)} s`);
  parts.push(`speed ${player.rate.toFixed(2)}×`);
  if (waveform.selection) parts.push(`selection ${waveform.selection.start.toFixed(1)}–${waveform.selection.end.toFixed(1)} s`);
  $("position").textContent = parts.join(" · ");
  $("play").textContent = player.playing ? "Pause" : "Play";
  if (player.playing) requestAnimationFrame(drawSound);
}
window.addEventListener("resize", drawSound);

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
  for (const id of ["play", "rewind", "slower", "faster", "replay", "transcript", "intent", "submit", "skip", "flag",
    "ask"]) $(id).disabled = !enabled;
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

function replaySelection() {
  const range = waveform.selection;
  if (range) player.play(range.start, range.end);
  else player.play(0);
}

function markSelection(edge) {
  if (!player.duration) return;
  const here = player.position;
  const range = waveform.selection || { start: 0, end: player.duration };
  if (edge === "start") waveform.selection = { start: here, end: Math.max(here + 0.05, range.end) };
  else waveform.selection = { start: Math.min(range.start, Math.max(0, here - 0.05)), end: here };
  drawSound();
}

// ---- labels: entity tags, intent, flags

function labels() {
  const flags = [...document.querySelectorAll("input[name=clip-flag]:checked")].map((box) => box.value);
  return { text: $("transcript").value, intent: $("intent").value, entities, flags };
}

function changed() { saver.schedule(labels); }

function showEntities() {
  const text = $("transcript").value;
  const list = $("entity-list");
  list.replaceChildren();
  for (const span of entities) {
    const item = document.createElement("span");
    item.className = "entity";
    item.textContent = `${text.slice(span.start, span.end)} (${span.type}) `;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "×";
    remove.setAttribute("aria-label", `Remove the tag on ${text.slice(span.start, span.end)}`);
    remove.addEventListener("click", () => { entities = entities.filter((e) => e !== span); showEntities(); changed(); });
    item.append(remove);
    list.append(item);
  }
  if (!entities.length) list.textContent = "nothing yet";
}

function setSchema(project, saved) {
  const types = project.entity_types;
  $("entity-area").hidden = !types.length;
  $("entity-types").replaceChildren(...types.slice(0, 9).map((type) => {
    const li = document.createElement("li");
    li.textContent = type;
    return li;
  }));
  $("intent-area").hidden = !project.intents.length;
  $("intent").replaceChildren(new Option("(none)", ""), ...project.intents.map((intent) => new Option(intent, intent)));
  $("intent").value = saved ? saved.intent : "";
  $("flags").hidden = !project.flags.length;
  $("flag-boxes").replaceChildren(...project.flags.map((flag) => {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = "clip-flag";
    box.value = flag;
    box.checked = Boolean(saved && saved.flags.includes(flag));
    box.addEventListener("change", changed);
    const key = document.createElement("kbd");
    key.textContent = `Alt+${FLAG_KEY_NAMES[flag]}`;
    label.append(box, ` ${FLAG_NAMES[flag] || flag} `, key, " ");
    return label;
  }));
  entities = saved ? saved.entities.map((e) => ({ ...e })) : [];
  showEntities();
}

function toggleFlag(code) {
  const flag = Object.keys(FLAG_KEYS).find((name) => FLAG_KEYS[name] === code);
  const box = document.querySelector(`input[name=clip-flag][value=${flag}]`);
  if (!box || box.disabled) return false;
  box.checked = !box.checked;
  say(`${FLAG_NAMES[flag]}: ${box.checked ? "on" : "off"}.`);
  changed();
  return true;
}

function openEntityPanel() {
  const box = $("transcript");
  if (!current || box.disabled || $("entity-area").hidden) return;
  let { selectionStart: start, selectionEnd: end } = box;
  if (start === end) {  // nothing selected: remove the tag the cursor is in
    const before = entities.length;
    entities = entities.filter((span) => !(span.start <= start && start <= span.end));
    if (entities.length !== before) { say("Tag removed."); showEntities(); changed(); }
    return;
  }
  while (start < end && /\s/.test(box.value[start])) start++;
  while (end > start && /\s/.test(box.value[end - 1])) end--;
  if (start === end) return;
  $("entity-words").textContent = box.value.slice(start, end);
  $("entity-panel").dataset.start = start;
  $("entity-panel").dataset.end = end;
  $("entity-panel").hidden = false;
}

function chooseEntity(index) {
  const panel = $("entity-panel");
  const type = $("entity-types").children[index]?.textContent;
  if (!type) return;
  const start = parseInt(panel.dataset.start, 10);
  const end = parseInt(panel.dataset.end, 10);
  entities = entities.filter((span) => span.end <= start || span.start >= end);
  entities.push({ start, end, type });
  entities.sort((a, b) => a.start - b.start);
  panel.hidden = true;
  showEntities();
  changed();
  const box = $("transcript");
  box.focus();
  box.setSelectionRange(end, end);
  say(`Tagged as ${type}.`);
}

function clearClip() {
  clearTimeout(aheadTimer);
  saver.cancel();
  player.clear();
  waveform.clear();
  current = null;
  setWorking(false);
  $("transcript").value = "";
  lastText = "";
  entities = [];
  showEntities();
  $("entity-panel").hidden = true;
}

// Claim the next clip, or show the one the submit already claimed; its audio and waveform are
// fetched side by side.
async function loadNext(claimed = null) {
  clearTimeout(retryTimer);
  clearClip();
  say("Loading the next clip…");
  try {
    let assignment = claimed;
    if (!assignment) {
      const next = await call("POST", "assignments/next");
      if (next.status === 204) {
        say("No clips are waiting. Checking again in 15 seconds.");
        retryTimer = setTimeout(loadNext, 15000);
        return;
      }
      assignment = next.data;
    }
    current = assignment;
    showDone(current.clips_done);
    const opinion = current.purpose === "second_opinion" ? current.range : null;
    $("opinion-banner").hidden = !opinion;
    $("opinion-banner").textContent = opinion
      ? `Second opinion: write only what is said from ${opinion.start_seconds.toFixed(1)} s to ${opinion.end_seconds.toFixed(1)} s. Alt+L plays it.`
      : "";
    refreshProgress();
    let sound = ahead && ahead.assignment.id === current.id ? ahead : null;
    ahead = null;
    delete $("work").dataset.ahead;
    if (!sound) sound = await fetchSound(current);
    player.use(sound.buffer);
    waveform.show(sound.envelope.peaks, sound.envelope.duration_seconds);
    if (opinion) waveform.selection = { start: opinion.start_seconds, end: opinion.end_seconds };
    const saved = current.saved;
    $("transcript").value = saved ? saved.text : current.draft || "";
    lastText = $("transcript").value;
    setSchema(current.project, saved);
    saver.start(current.id);
    setWorking(true);
    drawSound();
    say(saved ? "Clip ready with your saved work." : "Clip ready. Play it (Alt+P) and correct the draft to what you hear.");
    $("transcript").focus();
    claimAhead(current.id);
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

// The audio (decoded) and the waveform of an assignment, fetched side by side.
async function fetchSound(assignment) {
  const token = { "X-Audio-Token": assignment.audio_token };
  const [audio, envelope] = await Promise.all([
    call("GET", `assignments/${assignment.id}/audio`, undefined, token),
    call("GET", `assignments/${assignment.id}/peaks?bins=${waveform.bins}`, undefined, token),
  ]);
  return { assignment, buffer: await player.decode(audio.data), envelope: envelope.data };
}

// While the annotator works on a clip, claim the next one and get its sound ready, so that moving
// on shows it at once. It stays theirs only if they go on; a refusal (pace, break) is tried again
// when the server says, anything else just means the next clip loads the ordinary way.
async function claimAhead(forId) {
  clearTimeout(aheadTimer);
  try {
    const next = await call("POST", "assignments/prefetch");
    if (next.status === 204 || !current || current.id !== forId) return;
    const sound = await fetchSound(next.data);
    if (current && current.id === forId) {
      ahead = sound;
      $("work").dataset.ahead = sound.assignment.id;  // for anyone watching the page: the next clip is ready
    }
  } catch (error) {
    if (error.status === 429 && error.retryAfter && current && current.id === forId) {
      aheadTimer = setTimeout(() => claimAhead(forId), error.retryAfter * 1000);
    }
  }
}

async function submit() {
  if (!current) return;
  const work = labels();
  const noSpeech = work.flags.includes("no_speech");
  if (!work.text.trim() && !noSpeech) { say("Type what you heard before submitting, or flag it as no speech."); return; }
  const id = current.id;
  saver.cancel();
  setWorking(false);
  player.stop();
  try {
    const result = await call("POST", `assignments/${id}/submit`, { ...work, next: true });
    showDone(result.data.clips_done);
    await loadNext(result.data.next);
  } catch (error) {
    say(error.message);
    if (["withdrawn", "lease_expired", "assignment_closed", "escalated"].includes(error.code)) {
      retryTimer = setTimeout(loadNext, 1500);
    } else {
      saver.start(id);
      setWorking(true);
      $("transcript").focus();
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
    clearClip();
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
  clearClip();
  try {
    const shift = await call("POST", "shifts/current/end");
    $("shift-status").textContent = `Shift ended: ${shift.data.clips_done} clips done. Thank you.`;
    progress = null;
    drawProgress();
  } catch (error) {
    $("shift-status").textContent = error.message;
  }
  $("work").hidden = true;
  $("end-shift").hidden = true;
  $("start-shift").hidden = false;
}

$("start-shift").addEventListener("click", startShift);
$("end-shift").addEventListener("click", endShift);
$("play").addEventListener("click", () => player.toggle());
$("rewind").addEventListener("click", () => player.seek(player.position - 2));
$("slower").addEventListener("click", () => player.setRate(player.rate - 0.25));
$("faster").addEventListener("click", () => player.setRate(player.rate + 0.25));
$("replay").addEventListener("click", replaySelection);
$("submit").addEventListener("click", submit);
$("skip").addEventListener("click", skip);
$("flag").addEventListener("click", () => openPanel("flag"));
$("ask").addEventListener("click", () => openPanel("ask"));
$("flag-cancel").addEventListener("click", () => closePanel("flag"));
$("ask-cancel").addEventListener("click", () => closePanel("ask"));
$("flag-panel").addEventListener("submit", sendFlag);
$("ask-panel").addEventListener("submit", askOpinion);
$("opt-outs").addEventListener("submit", saveOptOuts);
$("intent").addEventListener("change", changed);
$("intent").addEventListener("keydown", (event) => {
  if (event.key === "Enter") { event.preventDefault(); $("transcript").focus(); }
});
$("transcript").addEventListener("input", () => {
  const text = $("transcript").value;
  const before = entities.length;
  entities = shiftSpans(entities, lastText, text);
  lastText = text;
  if (entities.length !== before || entities.length) showEntities();
  changed();
});

// Alt+key: the key's code, so that the layout's Alt characters do not matter.
const ALT_KEYS = {
  KeyP: () => player.toggle(),
  KeyR: () => player.seek(player.position - 2),
  Comma: () => player.setRate(player.rate - 0.25),
  Period: () => player.setRate(player.rate + 0.25),
  BracketLeft: () => markSelection("start"),
  BracketRight: () => markSelection("end"),
  KeyL: replaySelection,
  KeyE: openEntityPanel,
  KeyI: () => { if (!$("intent-area").hidden && current) $("intent").focus(); },
  KeyK: skip,
  KeyF: () => openPanel("flag"),
  KeyO: () => openPanel("ask"),
};

document.addEventListener("keydown", (event) => {
  const flagging = !$("flag-panel").hidden;
  const tagging = !$("entity-panel").hidden;
  if (event.key === "Escape") {
    closePanel("flag");
    closePanel("ask");
    $("entity-panel").hidden = true;
    if (current) $("transcript").focus();
  } else if (tagging && /^[1-9]$/.test(event.key)) {
    event.preventDefault();
    chooseEntity(parseInt(event.key, 10) - 1);
  } else if (flagging && /^[1-5]$/.test(event.key) && event.target.id !== "flag-note") {
    event.preventDefault();
    const boxes = $("flag-panel").querySelectorAll("input[name=category]");
    boxes[parseInt(event.key, 10) - 1].checked = true;
    boxes[parseInt(event.key, 10) - 1].focus();
  } else if (event.ctrlKey && event.key === "Enter" && !flagging) {
    event.preventDefault();
    submit();
  } else if (event.altKey && !event.ctrlKey && current && ALT_KEYS[event.code]) {
    event.preventDefault();
    ALT_KEYS[event.code]();
  } else if (event.altKey && !event.ctrlKey && current && Object.values(FLAG_KEYS).includes(event.code)) {
    if (toggleFlag(event.code)) event.preventDefault();
  }
});
loadOptOuts();
refreshOpinions();
