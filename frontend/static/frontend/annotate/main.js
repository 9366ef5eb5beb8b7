// Annotator page: shift, claim, the editor (waveform, playback on keys, labels, saved drafts),
// submit, flag, second opinions, settings (content opt-outs, volume, muted start), and letting a
// clip go the moment it may not be heard any more. Each concern is a module; they share one state
// object (state.js). Audio plays through Web Audio: no audio element, no URL.

import { $ } from "../lib/api.js";
import { loadNext, sendFlag, skip, stopWork, submit } from "./clip.js";
import {
  askOpinion, changed, closePanel, loadSettings, openPanel, refreshOpinions, saveMutedStart, saveOptOuts, saveVolume,
  transcriptEdited, volumeMoved,
} from "./editor.js";
import { onKey } from "./keys.js";
import { drawProgress, endShift, startShift } from "./shift.js";
import { drawSound, player, replaySelection } from "./sound.js";
import { state } from "./state.js";

window.addEventListener("resize", drawSound);
setInterval(drawProgress, 30000);

$("start-shift").addEventListener("click", () => startShift(loadNext));
$("end-shift").addEventListener("click", () => endShift(stopWork));
$("play").addEventListener("click", () => player.toggle());
$("rewind").addEventListener("click", () => player.seek(player.position - 2));
$("slower").addEventListener("click", () => player.setRate(player.rate - 0.25));
$("faster").addEventListener("click", () => player.setRate(player.rate + 0.25));
$("replay").addEventListener("click", replaySelection);
$("submit").addEventListener("click", submit);
$("next-clip").addEventListener("click", () => loadNext());
$("volume").addEventListener("input", volumeMoved);
$("volume").addEventListener("change", saveVolume);
$("muted-start").addEventListener("change", saveMutedStart);
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
$("transcript").addEventListener("input", transcriptEdited);
document.addEventListener("keydown", onKey);

state.settingsLoaded = loadSettings();
refreshOpinions();
drawSound();
