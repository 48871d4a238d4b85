// The console's only way to the mock: the documented control and journal APIs (no back
// door), with the bearer token when the mock was started with --control-token.

const TOKEN_KEY = "glase-console-token";

/** The control API, relative to the page (`…/console/`), so a mock served under a proxy's
 * path prefix works as well as one at the root. */
const CONTROL = "../control";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(extra) {
  const all = { ...extra };
  if (token()) all.Authorization = `Bearer ${token()}`;
  return all;
}

/** One control call; resolves to the parsed JSON answer, rejects with the mock's error text. */
export async function call(method, path, body) {
  const init = { method, headers: headers(body === undefined ? {} : { "content-type": "application/json" }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  let response;
  try {
    response = await fetch(`${CONTROL}${path}`, init);
  } catch (error) {
    throw new ApiError(0, `the mock did not answer (${error.message})`);
  }
  const text = await response.text();
  let value = text;
  try {
    value = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: keep the text for the error message.
  }
  if (!response.ok) {
    const message = (value && value.error) || `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message);
  }
  return value;
}

export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, body ?? {});
export const put = (path, body) => call("PUT", path, body ?? {});
export const del = (path) => call("DELETE", path);

export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Splits Server-Sent Events text into `{event, data}`; returns the unfinished rest. */
export function parseEvents(buffer, onEvent) {
  const blocks = buffer.split(/\r?\n\r?\n/);
  const rest = blocks.pop();
  for (const block of blocks) {
    let event = "message";
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (data.length) onEvent(event, data.join("\n"));
  }
  return rest;
}

/**
 * Follows `GET /control/journal/stream` (with fetch: EventSource cannot send the token).
 * Hands each batch of entries to `onEntries`; after a broken connection it resumes after
 * the last entry it saw. Returns a function that stops it.
 */
export function follow(filters, after, onEntries, onState) {
  const controller = new AbortController();
  let stopped = false;
  let last = after;
  async function readStream() {
    const path = `${CONTROL}/journal/stream${query({ ...filters, after: last })}`;
    const response = await fetch(path, { headers: headers({ accept: "text/event-stream" }), signal: controller.signal });
    if (!response.ok) throw new ApiError(response.status, `${response.status} ${response.statusText}`);
    onState("live");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const batch = [];
      buffer = parseEvents(buffer + value, (event, data) => {
        if (event !== "entry") return;
        const entry = JSON.parse(data);
        last = entry.seq;
        batch.push(entry);
      });
      if (stopped) return;
      if (batch.length) onEntries(batch);
    }
  }
  (async () => {
    while (!stopped) {
      try {
        await readStream();
      } catch (error) {
        if (stopped) return;
        onState(error.status === 401 ? "unauthorized" : "reconnecting", error);
      }
      if (!stopped) await sleep(1000);
    }
  })();
  return () => {
    stopped = true;
    controller.abort();
  };
}
