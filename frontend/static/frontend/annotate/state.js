// The annotator page's one state object: what every module of the page reads and changes, and the
// line that tells the annotator what is going on.

import { $ } from "../lib/api.js";

export const state = {
  current: null, // the assignment being worked on
  ahead: null, // the next clip, claimed ahead with its sound decoded: {assignment, buffer, envelope}
  retryTimer: null, // asking for the next clip again (no clip waiting, a break, a pause)
  aheadTimer: null, // claiming ahead again when the server said when
  entities: [], // [{start, end, type}] over the text in the box
  lastText: "", // the box's text when the entities were last moved with it
  progress: null, // the shift's progress as the server last said it
  progressFetched: 0, // when that was (ms)
  mutedStart: "marked", // when playback starts quietly: "marked" (clips in a category the team marks), "all", "off"
  settingsLoaded: null, // the annotator's settings being fetched (a promise)
};

export function say(text) { $("clip-status").textContent = text; }
