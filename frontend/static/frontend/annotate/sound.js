// The clip's sound: playback through Web Audio (no audio element, no URL) and its waveform, drawn
// with the playing position, speed and selection.

import { $ } from "../lib/api.js";
import { reportPlayStart } from "../lib/playstarts.js";
import { Player, Waveform } from "../lib/waveform.js";
import { state } from "./state.js";

export const player = new Player(drawSound);
player.onStart = () => state.current && reportPlayStart(state.current.id, state.current.audio_token);
export const waveform = new Waveform($("waveform"), (picked) => {
  if (picked === null) { drawSound(); return; }  // still dragging
  if (picked.end === null) player.play(picked.start);
  else player.play(picked.start, picked.end);
});

export function drawSound() {
  waveform.draw(player.position);
  // The page's sound as it stands, on the work area: whether a clip's sound is in hand, whether it
  // plays, and at what share of full scale (the volume times a fade-in under way).
  const work = $("work").dataset;
  work.sound = player.buffer ? "loaded" : "none";
  work.playing = String(player.playing);
  work.gain = player.gain.toFixed(3);
  const parts = [];
  if (player.duration) parts.push(`${player.position.toFixed(1)} of ${player.duration.toFixed(1)} s`);
  parts.push(`speed ${player.rate.toFixed(2)}×`);
  if (waveform.selection) parts.push(`selection ${waveform.selection.start.toFixed(1)}–${waveform.selection.end.toFixed(1)} s`);
  $("position").textContent = parts.join(" · ");
  $("play").textContent = player.playing ? "Pause" : "Play";
  if (player.playing) requestAnimationFrame(drawSound);
}

export function replaySelection() {
  const range = waveform.selection;
  if (range) player.play(range.start, range.end);
  else player.play(0);
}

export function markSelection(edge) {
  if (!player.duration) return;
  const here = player.position;
  const range = waveform.selection || { start: 0, end: player.duration };
  if (edge === "start") waveform.selection = { start: here, end: Math.max(here + 0.05, range.end) };
  else waveform.selection = { start: Math.min(range.start, Math.max(0, here - 0.05)), end: here };
  drawSound();
}
