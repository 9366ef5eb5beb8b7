// The editor's labels: the transcript, entity tags over it, the intent, the clip's flags, saved
// drafts; the flag and second-opinion panels; the annotator's second opinions and settings (content
// opt-outs, volume, muted start).

import { $, call } from "../lib/api.js";
import { DraftSaver, FLAG_NAMES, shiftSpans } from "../lib/labels.js";
import { player } from "./sound.js";
import { say, state } from "./state.js";

// Alt+key for each clip flag, by the key's code (the layout's Alt characters do not matter).
export const FLAG_KEYS = { no_speech: "KeyN", unintelligible: "KeyU", not_directed: "KeyT" };
const FLAG_KEY_NAMES = { no_speech: "N", unintelligible: "U", not_directed: "T" };

export const saver = new DraftSaver($("save-status"));

export function labels() {
  const flags = [...document.querySelectorAll("input[name=clip-flag]:checked")].map((box) => box.value);
  return { text: $("transcript").value, intent: $("intent").value, entities: state.entities, flags };
}

export function changed() { saver.schedule(labels); }

export function showEntities() {
  const text = $("transcript").value;
  const list = $("entity-list");
  list.replaceChildren();
  for (const span of state.entities) {
    const item = document.createElement("span");
    item.className = "entity";
    item.textContent = `${text.slice(span.start, span.end)} (${span.type}) `;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "×";
    remove.setAttribute("aria-label", `Remove the tag on ${text.slice(span.start, span.end)}`);
    remove.addEventListener("click", () => {
      state.entities = state.entities.filter((e) => e !== span);
      showEntities();
      changed();
    });
    item.append(remove);
    list.append(item);
  }
  if (!state.entities.length) list.textContent = "nothing yet";
}

export function setSchema(project, saved) {
  const types = project.entity_types;
  $("entity-area").hidden = !types.length;
  $("entity-types").replaceChildren(...types.slice(0, 9).map((type) => {
    const li = document.createElement("li");
    li.textContent = type;
    return li;
  }));
  $("intent-area").hidden = !project.intents.length;
  $("intent").replaceChildren(new Option("(none)", ""), ...project.intents.map((intent) => new Option(intent, intent)));
  $("intent").value = saved ? saved.intent : "";
  $("flags").hidden = !project.flags.length;
  $("flag-boxes").replaceChildren(...project.flags.map((flag) => {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = "clip-flag";
    box.value = flag;
    box.checked = Boolean(saved && saved.flags.includes(flag));
    box.addEventListener("change", changed);
    const key = document.createElement("kbd");
    key.textContent = `Alt+${FLAG_KEY_NAMES[flag]}`;
    label.append(box, ` ${FLAG_NAMES[flag] || flag} `, key, " ");
    return label;
  }));
  state.entities = saved ? saved.entities.map((e) => ({ ...e })) : [];
  showEntities();
}

// The transcript changed: tags move with the words they cover, and the draft is saved soon.
export function transcriptEdited() {
  const text = $("transcript").value;
  const before = state.entities.length;
  state.entities = shiftSpans(state.entities, state.lastText, text);
  state.lastText = text;
  if (state.entities.length !== before || state.entities.length) showEntities();
  changed();
}

export function toggleFlag(code) {
  const flag = Object.keys(FLAG_KEYS).find((name) => FLAG_KEYS[name] === code);
  const box = document.querySelector(`input[name=clip-flag][value=${flag}]`);
  if (!box || box.disabled) return false;
  box.checked = !box.checked;
  say(`${FLAG_NAMES[flag]}: ${box.checked ? "on" : "off"}.`);
  changed();
  return true;
}

export function openEntityPanel() {
  const box = $("transcript");
  if (!state.current || box.disabled || $("entity-area").hidden) return;
  let { selectionStart: start, selectionEnd: end } = box;
  if (start === end) {  // nothing selected: remove the tag the cursor is in
    const before = state.entities.length;
    state.entities = state.entities.filter((span) => !(span.start <= start && start <= span.end));
    if (state.entities.length !== before) { say("Tag removed."); showEntities(); changed(); }
    return;
  }
  while (start < end && /\s/.test(box.value[start])) start++;
  while (end > start && /\s/.test(box.value[end - 1])) end--;
  if (start === end) return;
  $("entity-words").textContent = box.value.slice(start, end);
  $("entity-panel").dataset.start = start;
  $("entity-panel").dataset.end = end;
  $("entity-panel").hidden = false;
}

export function chooseEntity(index) {
  const panel = $("entity-panel");
  const type = $("entity-types").children[index]?.textContent;
  if (!type) return;
  const start = parseInt(panel.dataset.start, 10);
  const end = parseInt(panel.dataset.end, 10);
  state.entities = state.entities.filter((span) => span.end <= start || span.start >= end);
  state.entities.push({ start, end, type });
  state.entities.sort((a, b) => a.start - b.start);
  panel.hidden = true;
  showEntities();
  changed();
  const box = $("transcript");
  box.focus();
  box.setSelectionRange(end, end);
  say(`Tagged as ${type}.`);
}

export function openPanel(name) {
  if (!state.current || $(name).disabled) return;
  closePanel(name === "flag" ? "ask" : "flag");
  $(`${name}-panel`).hidden = false;
  $(name).setAttribute("aria-expanded", "true");
  const first = $(`${name}-panel`).querySelector(name === "flag" ? "input[name=category]:checked" : "#ask-start");
  first.focus();
}

export function closePanel(name) {
  $(`${name}-panel`).hidden = true;
  $(name).setAttribute("aria-expanded", "false");
}

export async function askOpinion(event) {
  event.preventDefault();
  if (!state.current) return;
  try {
    await call("POST", `assignments/${state.current.id}/second-opinion`, {
      start_seconds: parseFloat($("ask-start").value), end_seconds: parseFloat($("ask-end").value),
      text: $("ask-text").value,
    });
    closePanel("ask");
    $("ask-text").value = "";
    say("Asked. Go on with the clip; the answer appears under “Your second opinions”.");
    refreshOpinions();
    $("transcript").focus();
  } catch (error) {
    say(error.message);
  }
}

export async function refreshOpinions() {
  try {
    const mine = (await call("GET", "second-opinions/mine")).data;
    const list = $("opinions");
    list.replaceChildren();
    for (const item of mine) {
      const li = document.createElement("li");
      const span = `${item.start_seconds.toFixed(1)}–${item.end_seconds.toFixed(1)} s, you heard “${item.your_text}”`;
      li.textContent = item.settled_text !== null ? `${span}: settled as “${item.settled_text}”` : `${span}: ${item.state}`;
      list.append(li);
    }
    if (!mine.length) list.innerHTML = "<li>None yet.</li>";
  } catch (error) { /* the list is a convenience; the page works without it */ }
}

// The annotator's settings, kept on the server: opt-outs, volume, muted start.
export async function loadSettings() {
  try {
    const settings = (await call("GET", "annotator/settings")).data;
    for (const box of document.querySelectorAll("input[name=opt-out]")) {
      box.checked = settings.opted_out_categories.includes(box.value);
    }
    $("volume").value = Math.round(settings.volume * 100);
    player.setVolume(settings.volume);
    $("muted-start").value = settings.muted_start;
    state.mutedStart = settings.muted_start;
  } catch (error) { $("opt-outs-status").textContent = error.message; }
}

export async function saveOptOuts(event) {
  event.preventDefault();
  const chosen = [...document.querySelectorAll("input[name=opt-out]:checked")].map((box) => box.value);
  try {
    await call("PUT", "annotator/settings", { opted_out_categories: chosen });
    $("opt-outs-status").textContent = "Saved.";
  } catch (error) { $("opt-outs-status").textContent = error.message; }
}

// Whether this clip starts quietly and fades in: the annotator's choice, and whether its category
// is one the team marks.
export function startsQuietly(assignment) {
  return state.mutedStart === "all" || (state.mutedStart === "marked" && Boolean(assignment && assignment.muted_category));
}

// The volume follows the slider at once, and is kept once the annotator stops moving it (arrow
// keys move it in steps): saved one after another, in order, so the last one stays.
export function volumeMoved() { player.setVolume($("volume").value / 100); }

let volumeTimer = null;
let volumeSaving = Promise.resolve();

export function saveVolume() {
  volumeMoved();
  $("sound-status").textContent = "";
  clearTimeout(volumeTimer);
  volumeTimer = setTimeout(() => {
    const volume = player.volume;
    volumeSaving = volumeSaving.then(async () => {
      try {
        await call("PUT", "annotator/settings", { volume });
        if (player.volume === volume) $("sound-status").textContent = "Volume saved.";
      } catch (error) { $("sound-status").textContent = error.message; }
    });
  }, 400);
}

export async function saveMutedStart() {
  state.mutedStart = $("muted-start").value;
  player.setQuietStart(startsQuietly(state.current));
  try {
    await call("PUT", "annotator/settings", { muted_start: state.mutedStart });
    $("sound-status").textContent = "Saved.";
  } catch (error) { $("sound-status").textContent = error.message; }
}
