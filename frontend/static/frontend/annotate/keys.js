// The keyboard: Alt+key for playback, selection, tags, intent, skip and the panels (by the key's
// code, so the layout's Alt characters do not matter); digits in the open panel; Ctrl+Enter submits.

import { $ } from "../lib/api.js";
import { loadNext, skip, submit } from "./clip.js";
import { FLAG_KEYS, chooseEntity, closePanel, openEntityPanel, openPanel, toggleFlag } from "./editor.js";
import { markSelection, player, replaySelection } from "./sound.js";
import { state } from "./state.js";

const ALT_KEYS = {
  KeyP: () => player.toggle(),
  KeyR: () => player.seek(player.position - 2),
  Comma: () => player.setRate(player.rate - 0.25),
  Period: () => player.setRate(player.rate + 0.25),
  BracketLeft: () => markSelection("start"),
  BracketRight: () => markSelection("end"),
  KeyL: replaySelection,
  KeyE: openEntityPanel,
  KeyI: () => { if (!$("intent-area").hidden && state.current) $("intent").focus(); },
  KeyK: skip,
  KeyF: () => openPanel("flag"),
  KeyO: () => openPanel("ask"),
};

export function onKey(event) {
  const flagging = !$("flag-panel").hidden;
  const tagging = !$("entity-panel").hidden;
  if (event.key === "Escape") {
    closePanel("flag");
    closePanel("ask");
    $("entity-panel").hidden = true;
    if (state.current) $("transcript").focus();
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
    if (state.current) submit();
    else if (!$("next-clip").hidden) loadNext();  // the clip was taken away: go on
  } else if (event.altKey && !event.ctrlKey && state.current && ALT_KEYS[event.code]) {
    event.preventDefault();
    ALT_KEYS[event.code]();
  } else if (event.altKey && !event.ctrlKey && state.current && Object.values(FLAG_KEYS).includes(event.code)) {
    if (toggleFlag(event.code)) event.preventDefault();
  }
}
