// May the open clip still be heard? While a clip is open the page asks the server about once a
// second (GET assignments/<id>/status: two indexed reads, nothing written) and lets the clip go as
// soon as the answer is no: its owner withdrew it or deleted it, its lease ran out, or a supervisor
// or a legal hold took it away. Asking beats a pushed stream here: each open stream would hold a
// server worker for as long as the clip is open.
//
// A hidden tab keeps asking: browsers slow its timers to once a second, this very pace, and do not
// slow them further while it plays sound. A clip the server has not confirmed for STALE_MS (a tab
// whose timers were slowed further while silent, a server or network that does not answer) cannot
// be played: playback stops, and starts again only once an answer says yes.

import { $, call } from "../lib/api.js";
import { player } from "./sound.js";
import { say, state } from "./state.js";

const EVERY_MS = 1000;
const TIMEOUT_MS = 3000;
export const STALE_MS = 4000;
const AHEAD_EVERY = 5; // the clip claimed ahead cannot be played: asked about every 5th time only

let watched = null; // {id, confirmedAt (ms), asking, onRefused}
let timer = null;
let ticks = 0;

// Watch the open clip `id`, last known to be servable at `confirmedAt`; `onRefused(message)` lets
// it go.
export function watchClip(id, confirmedAt, onRefused) {
  unwatch();
  watched = { id, confirmedAt, asking: false, onRefused };
  timer = setInterval(tick, EVERY_MS);
  tick();
}

export function unwatch() {
  clearInterval(timer);
  timer = null;
  watched = null;
}

// Whether the open clip was confirmed recently enough to be played.
export function confirmed() {
  return watched !== null && Date.now() - watched.confirmedAt < STALE_MS;
}

// The answer about one assignment: {audible, message}; a network failure or a server error throws.
async function status(id) {
  try {
    return (await call("GET", `assignments/${id}/status`, undefined, {}, { timeoutMs: TIMEOUT_MS })).data;
  } catch (error) {
    // Not this person's, or not signed in any more (404, 401, 403): as final as a no.
    if (error.status >= 400 && error.status < 500 && error.status !== 429) return { audible: false, message: error.message };
    throw error;
  }
}

async function tick() {
  ticks += 1;
  const clip = watched;
  if (!clip) return;
  if (player.playing && !confirmed()) {
    player.stop();
    say("The server has not confirmed for a few seconds that this clip may still be heard: playback is paused until it does.");
  }
  if (ticks % AHEAD_EVERY === 0) checkAhead();
  if (clip.asking) return;
  clip.asking = true;
  const askedAt = Date.now();
  try {
    const answer = await status(clip.id);
    if (watched !== clip) return;
    if (answer.audible) clip.confirmedAt = Math.max(clip.confirmedAt, askedAt);
    else clip.onRefused(answer.message);
  } catch (error) {
    // No answer: asked again at the next tick; meanwhile confirmed() runs out.
  } finally {
    clip.asking = false;
  }
}

// The clip claimed ahead holds decoded sound too: forget it once it may not be heard.
async function checkAhead() {
  const ahead = state.ahead;
  if (!ahead) return;
  const askedAt = Date.now();
  try {
    const answer = await status(ahead.assignment.id);
    if (answer.audible) ahead.checkedAt = askedAt;
    else if (state.ahead === ahead) {
      state.ahead = null;
      delete $("work").dataset.ahead;
    }
  } catch (error) { /* asked again later */ }
}

document.addEventListener("visibilitychange", () => { if (!document.hidden) tick(); });
