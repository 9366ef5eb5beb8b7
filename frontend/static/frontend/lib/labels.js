// The editor's labels beside the words: entity spans that follow the text as it is edited, the
// intent and the flags, and saving them as the annotator types.

import { call } from "./api.js";

export const FLAG_NAMES = {
  no_speech: "No speech",
  unintelligible: "Unintelligible",
  not_directed: "Not directed at the device",
};

// Spans after an edit turned oldText into newText: spans before the change stay, spans after it
// move with it, a span the change falls inside grows or shrinks with it, a span it cut into goes.
export function shiftSpans(spans, oldText, newText) {
  let prefix = 0;
  const shortest = Math.min(oldText.length, newText.length);
  while (prefix < shortest && oldText[prefix] === newText[prefix]) prefix++;
  let suffix = 0;
  while (suffix < shortest - prefix && oldText[oldText.length - 1 - suffix] === newText[newText.length - 1 - suffix]) {
    suffix++;
  }
  const changedEnd = oldText.length - suffix; // end of the replaced stretch in the old text
  const delta = newText.length - oldText.length;
  const kept = [];
  for (const span of spans) {
    if (span.end <= prefix) kept.push(span);
    else if (span.start >= changedEnd) kept.push({ ...span, start: span.start + delta, end: span.end + delta });
    else if (span.start <= prefix && changedEnd <= span.end) kept.push({ ...span, end: span.end + delta });
  }
  return kept.filter((span) => span.end > span.start && newText.slice(span.start, span.end).trim());
}

// Saves the editor's work a moment after the last change; `status` tells the annotator.
export class DraftSaver {
  constructor(status, delayMs = 700) {
    this.status = status;
    this.delayMs = delayMs;
    this.timer = null;
    this.assignmentId = null;
  }

  start(assignmentId) {
    this.cancel();
    this.assignmentId = assignmentId;
    this.status.textContent = "";
  }

  schedule(read) {
    if (!this.assignmentId) return;
    clearTimeout(this.timer);
    this.status.textContent = "Not saved yet…";
    this.timer = setTimeout(() => this.save(read()), this.delayMs);
  }

  async save(labels) {
    const id = this.assignmentId;
    this.timer = null;
    try {
      await call("PUT", `assignments/${id}/draft`, labels);
      if (this.assignmentId === id) this.status.textContent = `Draft saved ${new Date().toLocaleTimeString()}.`;
    } catch (error) {
      if (this.assignmentId === id) this.status.textContent = `Draft not saved: ${error.message}`;
    }
  }

  cancel() {
    clearTimeout(this.timer);
    this.timer = null;
    this.assignmentId = null;
  }
}
