// The detail of one journal entry: its message in full (XML or JSON, indented), what the
// journal knows of its transport (path, URL, HTTP status, content type) and its timing.

import { escapeHtml } from "./html.js";

/** Indents XML one element a line; leaves anything that is not XML alone. */
export function prettyXml(xml) {
  if (!xml || !xml.trimStart().startsWith("<")) return xml || "";
  let depth = 0;
  return xml
    .replace(/>\s*</g, ">\n<")
    .split("\n")
    .map((line) => {
      if (line.startsWith("</")) depth = Math.max(0, depth - 1);
      const out = "  ".repeat(depth) + line;
      const opens = /^<[^!?/][^>]*[^/]>$/.test(line) || /^<[^!?/]>$/.test(line);
      if (opens && !/<\/[^>]+>$/.test(line)) depth += 1;
      return out;
    })
    .join("\n");
}

function prettyBody(body) {
  if (!body) return "";
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return prettyXml(body);
  }
}

/** The entry that asked what this entry answers, among the entries held. */
function question(entry, entries) {
  const index = entries.indexOf(entry);
  const asks = {
    soapResponse: (e) => e.kind === "soapRequest" && e.operation === entry.operation && e.invoice === entry.invoice,
    createPurchaseResponse: (e) => e.kind === "createPurchaseRequest" && e.purchase === entry.purchase,
  }[entry.kind];
  if (!asks) return null;
  for (let i = index - 1; i >= 0 && i >= index - 200; i--) if (asks(entries[i])) return entries[i];
  return null;
}

function timing(entry, entries) {
  if (entry.kind === "notificationSent" && entry.sentAtMs) {
    return `POST sent at ${new Date(entry.sentAtMs).toISOString()}, answered ${entry.at - entry.sentAtMs} ms later (attempt ${entry.attempt})`;
  }
  const asked = question(entry, entries);
  return asked ? `answer to #${asked.seq}, ${entry.at - asked.at} ms after it` : "";
}

const TRANSPORT = ["path", "url", "httpStatus", "contentType", "resultCode", "fault", "dropped", "delayedMs", "outcome", "error"];

export function renderDetail(container, entry, entries) {
  const facts = [
    ["time", entry.time],
    ["lanes", entry.shape.label],
    ["invoice", entry.invoice],
    ["terminal", entry.terminal],
    ["merchant", entry.merchant],
    ["timing", timing(entry, entries)],
    ...TRANSPORT.map((name) => [name, entry[name]]),
  ].filter(([, value]) => value !== undefined && value !== null && value !== "" && value !== false);
  const { shape, body, ...rest } = entry;
  container.innerHTML = `
    <h3 id="detail-title" tabindex="-1">Entry #${entry.seq}: ${escapeHtml(entry.kind)}</h3>
    <dl>${facts.map(([name, value]) => `<dt>${escapeHtml(name)}</dt><dd>${escapeHtml(value)}</dd>`).join("")}</dl>
    ${body ? `<h4>Message</h4><pre class="body">${escapeHtml(prettyBody(body))}</pre>` : ""}
    <h4>As journaled</h4><pre class="json">${escapeHtml(JSON.stringify(rest, null, 2))}</pre>`;
  container.hidden = false;
}
