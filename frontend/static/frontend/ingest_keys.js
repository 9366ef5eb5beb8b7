// Device keys page: list the platforms' keys, make, rotate and revoke them; a new secret is shown once.

import { $, call, cell } from "./lib/api.js";

const say = (text) => { $("status").textContent = text; };
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

function stateOf(key) {
  if (key.state === "expiring") return `replaced; works until ${when(key.expires_at)}`;
  if (key.state === "expired") return `expired ${when(key.expires_at)}`;
  if (key.state === "revoked") return `revoked ${when(key.revoked_at)}`;
  return "active";
}

function button(label, action) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = label;
  element.addEventListener("click", action);
  return element;
}

function showSecret(key) {
  $("secret").value = key.secret;
  $("secret-box").hidden = false;
  $("secret-title").textContent = `New key ${key.id} for ${key.name} (${key.prefix})`;
  $("secret-title").focus();
}

function hideSecret() {
  $("secret").value = "";
  $("secret-box").hidden = true;
}

async function refresh() {
  try {
    const keys = (await call("GET", "ingest-keys")).data;
    const body = $("keys");
    body.replaceChildren();
    for (const key of keys) {
      const row = document.createElement("tr");
      cell(row, String(key.id));
      cell(row, key.name);
      cell(row, key.prefix);
      cell(row, stateOf(key));
      cell(row, `${when(key.created_at)} by ${key.created_by || "the system"}`);
      cell(row, when(key.last_used_at));
      cell(row, [key.replaces ? `replaces ${key.replaces}` : "", key.replaced_by ? `replaced by ${key.replaced_by}` : ""]
        .filter(Boolean).join("; ") || "—");
      const actions = cell(row, "");
      if (key.state === "active") actions.append(button(`Rotate ${key.id}`, () => rotate(key)), " ");
      if (key.state === "active" || key.state === "expiring") actions.append(button(`Revoke ${key.id}`, () => revoke(key)));
      body.append(row);
    }
    if (!keys.length) body.innerHTML = '<tr><td colspan="8">None yet.</td></tr>';
  } catch (error) { say(error.message); }
}

async function create(event) {
  event.preventDefault();
  try {
    const key = (await call("POST", "ingest-keys", { name: $("name").value })).data;
    $("name").value = "";
    showSecret(key);
    say(`Key ${key.id} made.`);
    refresh();
  } catch (error) { say(error.message); }
}

async function rotate(key) {
  const hours = Number($("overlap").value);
  if (!window.confirm(`Replace key ${key.id} (${key.name}, ${key.prefix})? The old key keeps working ${hours} hour(s).`)) return;
  try {
    const made = (await call("POST", `ingest-keys/${key.id}/rotate`, { overlap_hours: hours })).data;
    showSecret(made);
    say(`Key ${key.id} replaced by key ${made.id}; it keeps working ${hours} hour(s).`);
    refresh();
  } catch (error) { say(error.message); }
}

async function revoke(key) {
  if (!window.confirm(`Revoke key ${key.id} (${key.name}, ${key.prefix})? Devices using it are refused at once.`)) return;
  try {
    await call("POST", `ingest-keys/${key.id}/revoke`, {});
    say(`Key ${key.id} revoked.`);
    refresh();
  } catch (error) { say(error.message); }
}

$("create-form").addEventListener("submit", create);
$("hide").addEventListener("click", hideSecret);
$("copy").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText($("secret").value);
    say("Secret copied.");
  } catch {
    $("secret").select();
    say("Copying was refused: the secret is selected, press Ctrl+C.");
  }
});
refresh();
