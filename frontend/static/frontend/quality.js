// Gold clips: a supervisor is lent a transcribed clip, hears it and writes the reference.

import { $, call } from "./lib/api.js";
import { reportPlayStart } from "./lib/playstarts.js";
import { Player } from "./lib/waveform.js";

const say = (text) => { $("status").textContent = text; };
const player = new Player(() => { $("play").textContent = player.playing ? "Pause" : "Play"; });
let review = null;
player.onStart = () => review && reportPlayStart(review.assignment, review.audio_token);

async function next(event) {
  if (event) event.preventDefault();
  player.clear();
  try {
    const lent = await call("POST", `projects/${$("project").value}/quality-reviews`);
    if (lent.status === 204) {
      $("review").hidden = true;
      say("No transcribed clip of this project is waiting to be reviewed.");
      return;
    }
    review = lent.data;
    const audio = await call("GET", `assignments/${review.assignment}/audio`, undefined,
      { "X-Audio-Token": review.audio_token });
    await player.load(audio.data);
    $("annotator-text").textContent = review.text;
    $("reference").value = review.text;
    $("length").textContent = `${review.duration_seconds.toFixed(1)} s`;
    $("review").hidden = false;
    $("review-title").focus();
    say("Play the clip and correct the reference to exactly what is said.");
  } catch (error) { say(error.message); }
}

async function makeGold(event) {
  event.preventDefault();
  if (!review) return;
  try {
    await call("POST", `quality-reviews/${review.assignment}/gold`, { reference_text: $("reference").value });
    say("Saved as a gold clip.");
    review = null;
    player.clear();
    $("review").hidden = true;
  } catch (error) { say(error.message); }
}

if ($("review-form")) $("review-form").addEventListener("submit", next);
$("gold-form").addEventListener("submit", makeGold);
$("another").addEventListener("click", () => next());
$("play").addEventListener("click", () => player.toggle());
