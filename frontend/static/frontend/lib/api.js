// What the pages share: element lookup, table cells, and calls to the API with the session and CSRF token.

export const $ = (id) => document.getElementById(id);

// A new cell at the end of a table row, holding text or an element; returns it.
export function cell(row, content) {
  const td = document.createElement("td");
  if (typeof content === "string") td.textContent = content;
  else td.append(content);
  row.append(td);
  return td;
}
const csrf = () => (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";

// Resolves to {status, data} (data: parsed JSON, raw bytes, or null for 204); rejects with an Error
// carrying the API's message, code, status and Retry-After seconds. `timeoutMs`: give up after so
// long (the error then has no status, as when the network fails).
export async function call(method, path, body, extraHeaders = {}, { timeoutMs } = {}) {
  const response = await fetch(`/api/v1/${path}`, {
    method,
    credentials: "same-origin",
    cache: "no-store",
    headers: { "X-CSRFToken": csrf(), "Content-Type": "application/json", ...extraHeaders },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined,
  });
  if (response.status === 204) return { status: 204, data: null };
  const isJson = (response.headers.get("Content-Type") || "").includes("json");
  const data = isJson ? await response.json() : await response.arrayBuffer();
  if (!response.ok) {
    const error = new Error(isJson && data.error ? data.error.message : `Request failed (${response.status})`);
    error.status = response.status;
    error.code = isJson && data.error ? data.error.code : "";
    error.retryAfter = parseInt(response.headers.get("Retry-After") || "", 10) || 0;
    throw error;
  }
  return { status: response.status, data };
}
