// The shift: start and end it, and show how much of the day's time and the shift's clips are used.

import { $, call } from "../lib/api.js";
import { state } from "./state.js";

export function showDone(count) {
  $("shift-status").textContent = `Shift running: ${count} clip${count === 1 ? "" : "s"} done.`;
}

const hoursAndMinutes = (seconds) => {
  const minutes = Math.floor(seconds / 60);
  return minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;
};

export function drawProgress() {
  const progress = state.progress;
  if (!progress) { $("shift-progress").textContent = ""; return; }
  const elapsed = (Date.now() - state.progressFetched) / 1000;
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

export async function refreshProgress() {
  try {
    state.progress = (await call("GET", "shifts/current")).data;
    state.progressFetched = Date.now();
  } catch (error) {
    state.progress = null;
  }
  drawProgress();
}

// `work`: what to do once the shift runs (ask for the first clip).
export async function startShift(work) {
  try {
    const shift = await call("POST", "shifts");
    showDone(shift.data.clips_done);
    state.progress = shift.data;
    state.progressFetched = Date.now();
    drawProgress();
    $("start-shift").hidden = true;
    $("end-shift").hidden = false;
    $("work").hidden = false;
    await work();
  } catch (error) {
    $("shift-status").textContent = error.message;
  }
}

// `stopWork`: what to put down first (the open clip).
export async function endShift(stopWork) {
  stopWork();
  try {
    const shift = await call("POST", "shifts/current/end");
    $("shift-status").textContent = `Shift ended: ${shift.data.clips_done} clips done. Thank you.`;
    state.progress = null;
    drawProgress();
  } catch (error) {
    $("shift-status").textContent = error.message;
  }
  $("work").hidden = true;
  $("end-shift").hidden = true;
  $("start-shift").hidden = false;
}
