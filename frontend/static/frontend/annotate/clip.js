// A clip's life on the page: claim it (or take the one claimed ahead), fetch its sound and envelope
// side by side, work on it while the server keeps confirming it may be heard, then submit, skip or
// flag it, or let it go when it may not; meanwhile claim the next one ahead.

import { $, call } from "../lib/api.js";
import { closePanel, labels, saver, setSchema, showEntities, startsQuietly } from "./editor.js";
import { refreshProgress, showDone } from "./shift.js";
import { drawSound, player, waveform } from "./sound.js";
import { say, state } from "./state.js";
import { confirmed, unwatch, watchClip } from "./watch.js";

// A clip is played only while the server confirms it may be heard (watch.js).
player.mayPlay = () => {
  if (confirmed()) return true;
  say("Checking that this clip may still be heard…");
  return false;
};

const CONTROLS = ["play", "rewind", "slower", "faster", "replay", "transcript", "intent", "submit", "skip", "flag",
  "ask"];

function setWorking(enabled) {
  for (const id of CONTROLS) $(id).disabled = !enabled;
  if (!enabled) { closePanel("flag"); closePanel("ask"); }
}

export function clearClip() {
  clearTimeout(state.aheadTimer);
  unwatch();
  saver.cancel();
  waveform.clear();
  player.clear();  // redraws: the waveform is wiped too
  state.current = null;
  setWorking(false);
  $("transcript").value = "";
  state.lastText = "";
  state.entities = [];
  showEntities();
  $("entity-panel").hidden = true;
}

// The clip may not be heard any more: stop it, forget its sound, waveform and text, and say why.
// The annotator moves on when ready.
function letGo(message) {
  clearClip();
  say(`${message} Go on to the next clip when you are ready.`);
  $("next-clip").hidden = false;
  $("next-clip").focus();
}

// Put the clip down and stop asking for another (the shift ends).
export function stopWork() {
  clearTimeout(state.retryTimer);
  clearClip();
}

// A refusal that says when to try again: count down on the page, then ask once more.
function waitAndRetry(error) {
  const until = Date.now() + error.retryAfter * 1000;
  const tick = () => {
    const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
    if (left === 0) { loadNext(); return; }
    const wait = left > 90 ? `${Math.ceil(left / 60)} min` : `${left} s`;
    const why = { break_required: "Break time", flag_pause: "Pause after the flag" }[error.code];
    say(why ? `${why}: next clip in ${wait}.` : `Next clip in ${wait}.`);
    state.retryTimer = setTimeout(tick, 1000);
  };
  say(error.message);
  state.retryTimer = setTimeout(tick, 1000);
}

// Claim the next clip, or show the one the submit already claimed; its audio and waveform are
// fetched side by side.
export async function loadNext(claimed = null) {
  clearTimeout(state.retryTimer);
  clearClip();
  $("next-clip").hidden = true;
  say("Loading the next clip…");
  try {
    let assignment = claimed;
    if (!assignment) {
      const next = await call("POST", "assignments/next");
      if (next.status === 204) {
        say("No clips are waiting. Checking again in 15 seconds.");
        state.retryTimer = setTimeout(loadNext, 15000);
        return;
      }
      assignment = next.data;
    }
    state.current = assignment;
    const current = assignment;
    showDone(current.clips_done);
    const opinion = current.purpose === "second_opinion" ? current.range : null;
    $("opinion-banner").hidden = !opinion;
    $("opinion-banner").textContent = opinion
      ? `Second opinion: write only what is said from ${opinion.start_seconds.toFixed(1)} s to ${opinion.end_seconds.toFixed(1)} s. Alt+L plays it.`
      : "";
    refreshProgress();
    let sound = state.ahead && state.ahead.assignment.id === current.id ? state.ahead : null;
    state.ahead = null;
    delete $("work").dataset.ahead;
    if (!sound) sound = await fetchSound(current);
    await state.settingsLoaded;  // the volume and muted start apply from the first sound
    player.use(sound.buffer, { quietStart: startsQuietly(current) });
    waveform.show(sound.envelope.peaks, sound.envelope.duration_seconds);
    watchClip(current.id, sound.checkedAt, letGo);
    if (opinion) waveform.selection = { start: opinion.start_seconds, end: opinion.end_seconds };
    const saved = current.saved;
    $("transcript").value = saved ? saved.text : current.draft || "";
    state.lastText = $("transcript").value;
    setSchema(current.project, saved);
    saver.start(current.id);
    setWorking(true);
    drawSound();
    say(saved ? "Clip ready with your saved work." : "Clip ready. Play it (Alt+P) and correct the draft to what you hear.");
    $("transcript").focus();
    claimAhead(current.id);
  } catch (error) {
    if (error.code === "withdrawn" || error.code === "policy_unconfirmed") {
      say(`${error.message} Loading the next one…`);
      state.retryTimer = setTimeout(loadNext, 1500);
    } else if (error.status === 429 && error.retryAfter) {
      waitAndRetry(error);
    } else {
      say(error.message);  // the shift's time or clips are used up: the message says what to do
    }
    refreshProgress();
  }
}

// The audio (decoded) and the waveform of an assignment, fetched side by side; checkedAt: when the
// server last said it may be heard (serving it says so).
async function fetchSound(assignment) {
  const checkedAt = Date.now();
  const token = { "X-Audio-Token": assignment.audio_token };
  const [audio, envelope] = await Promise.all([
    call("GET", `assignments/${assignment.id}/audio`, undefined, token),
    call("GET", `assignments/${assignment.id}/peaks?bins=${waveform.bins}`, undefined, token),
  ]);
  return { assignment, buffer: await player.decode(audio.data), envelope: envelope.data, checkedAt };
}

// While the annotator works on a clip, claim the next one and get its sound ready, so that moving
// on shows it at once. It stays theirs only if they go on; a refusal (pace, break) is tried again
// when the server says, anything else just means the next clip loads the ordinary way.
async function claimAhead(forId) {
  clearTimeout(state.aheadTimer);
  const stillOn = () => state.current && state.current.id === forId;
  try {
    const next = await call("POST", "assignments/prefetch");
    if (next.status === 204 || !stillOn()) return;
    const sound = await fetchSound(next.data);
    if (stillOn()) {
      state.ahead = sound;
      $("work").dataset.ahead = sound.assignment.id;  // for anyone watching the page: the next clip is ready
    }
  } catch (error) {
    if (error.status === 429 && error.retryAfter && stillOn()) {
      state.aheadTimer = setTimeout(() => claimAhead(forId), error.retryAfter * 1000);
    }
  }
}

export async function submit() {
  if (!state.current) return;
  const work = labels();
  const noSpeech = work.flags.includes("no_speech");
  if (!work.text.trim() && !noSpeech) { say("Type what you heard before submitting, or flag it as no speech."); return; }
  const id = state.current.id;
  saver.cancel();
  setWorking(false);
  player.stop();
  unwatch();  // handed in: a "no longer yours" from here on is the submit's own doing
  try {
    const result = await call("POST", `assignments/${id}/submit`, { ...work, next: true });
    showDone(result.data.clips_done);
    await loadNext(result.data.next);
  } catch (error) {
    say(error.message);
    if (["withdrawn", "policy_unconfirmed", "lease_expired", "assignment_closed", "escalated"].includes(error.code)) {
      clearClip();
      state.retryTimer = setTimeout(loadNext, 1500);
    } else {
      saver.start(id);
      setWorking(true);
      watchClip(id, 0, letGo);
      $("transcript").focus();
    }
  }
}

export async function skip() {
  if (!state.current) return;
  setWorking(false);
  player.stop();
  unwatch();
  try { await call("POST", `assignments/${state.current.id}/skip`); } catch (error) { say(error.message); }
  await loadNext();
}

// Flagging ends the clip here: it goes to the supervisors, and the annotator pauses.
export async function sendFlag(event) {
  event.preventDefault();
  if (!state.current) return;
  const category = $("flag-panel").querySelector("input[name=category]:checked").value;
  const id = state.current.id;
  setWorking(false);
  player.stop();
  unwatch();
  try {
    const result = await call("POST", `assignments/${id}/escalate`,
      { category, note: $("flag-note").value, text: $("transcript").value });
    $("flag-note").value = "";
    clearClip();
    say(result.data.message);
    // The pause after a flag is the server's: the next request is answered with when to come back.
    state.retryTimer = setTimeout(loadNext, 4000);
  } catch (error) {
    say(error.message);
    setWorking(true);
    watchClip(id, 0, letGo);
  }
}
