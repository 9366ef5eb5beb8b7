// Tells the server that the page started playing an assignment's audio, so the clip's owner sees
// how often it was played beside how often it was sent. A refusal (too soon, too many) changes
// nothing on the page.

import { call } from "./api.js";

export function reportPlayStart(assignmentId, audioToken) {
  if (!assignmentId) return;
  call("POST", `assignments/${assignmentId}/play-starts`, undefined, { "X-Audio-Token": audioToken })
    .catch(() => {});
}
