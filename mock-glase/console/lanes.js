// How a journal entry looks on the timeline: an arrow between two lanes or a note on one,
// a label, and a tone that makes problems stand out. The one place that reads the
// journal's record kinds (docs/mock.md, "The journal").

export const LANES = ["Phone", "UPS", "Glase", "Backend"];
const PHONE = 0;
const UPS = 1;
const GLASE = 2;
const BACKEND = 3;

/** Tones: "fault" (injected by the tester), "violation" (the backend broke the protocol), "error" (an error answer). */
const arrow = (from, to, label, tone = "") => ({ from, to, label, tone });
const note = (lane, label, tone = "") => ({ from: lane, to: lane, label, tone });

/** The status a getPaymentStatus answer carries, read from its XML. */
export function statusIn(body) {
  const found = /<(?:\w+:)?status>\s*([A-Z_]+)\s*</.exec(body || "");
  return found ? found[1] : null;
}

function soapAnswer(entry) {
  const operation = entry.operation || "SOAP";
  if (entry.dropped) return arrow(GLASE, BACKEND, `${operation}: connection dropped (fault)`, "fault");
  const outcome = entry.fault ? `SOAP fault ${entry.fault}` : entry.resultCode ?? `HTTP ${entry.httpStatus}`;
  const status = entry.operation === "getPaymentStatus" ? statusIn(entry.body) : null;
  let label = `${operation} → ${outcome}${status ? ` ${status}` : ""}`;
  if (entry.delayedMs) label += ` (held ${entry.delayedMs} ms)`;
  const failed = entry.httpStatus >= 400 || entry.fault || (entry.resultCode ?? 0) !== 0;
  return arrow(GLASE, BACKEND, label, entry.delayedMs ? "fault" : failed ? "error" : "");
}

function notification(entry) {
  const tone = entry.httpStatus === 200 ? "" : entry.lastAttempt ? "violation" : "error";
  return arrow(GLASE, BACKEND, `notify (${entry.reason}) → ${entry.outcome}`, tone);
}

function purchaseAnswer(entry) {
  const answer = entry.error ? entry.error : `HTTP ${entry.httpStatus}`;
  return arrow(BACKEND, UPS, `createPurchase #${entry.purchase} → ${answer}`, entry.error ? "violation" : "");
}

function purchaseEnded(event) {
  const outcome = event.outcome || {};
  if (outcome.outcome === "accepted") return arrow(UPS, PHONE, `purchase #${event.purchase} accepted: invoice shown`);
  if (outcome.outcome === "declined") return arrow(UPS, PHONE, `purchase #${event.purchase} declined ${outcome.errorCode}`, "error");
  return arrow(UPS, PHONE, `purchase #${event.purchase}: ${outcome.violation || "protocol violation"}`, "violation");
}

function transition(event) {
  const tone = /^reversed|expired/.test(event.reason) ? "violation" : "state";
  return note(GLASE, `${event.from} → ${event.to} (${event.reason})`, tone);
}

function faultInjected(event) {
  const lane = event.target === "createPurchase" ? UPS : GLASE;
  return note(lane, `fault injected on ${event.target}: ${event.fault}`, "fault");
}

const EVENTS = {
  invoiceIssued: (e) => note(GLASE, `invoice issued ${e.amount} ${e.currency} (${e.paymentMode})`),
  invoiceUpdated: (e) => note(GLASE, `invoice updated to ${e.amount}`),
  transition,
  customerScanned: () => arrow(PHONE, GLASE, "scanned: PIN dialog open"),
  customerWrongPin: () => arrow(PHONE, GLASE, "wrong PIN", "error"),
  customerWalkedAway: () => note(PHONE, "walked away"),
  statusAcknowledged: (e) => note(GLASE, `status fetched ${e.afterMs} ms after the change`),
  paymentCreated: (e) => note(GLASE, `payment ${e.ersReference}: ${e.amount}`),
  refundCreated: (e) => note(GLASE, `refund ${e.refund}: ${e.amount}`),
  receiptSubmitted: (e) => note(GLASE, `receipt for ${e.ersReference} (${e.bytes} bytes)`),
  terminalRegistered: (e) => note(GLASE, `terminal ${e.terminal} registered`),
  terminalUnregistered: (e) => note(GLASE, `terminal ${e.terminal} unregistered`),
  seqrIdAssigned: (e) => note(GLASE, `till ${e.terminal}: SEQR id ${e.seqrId}`),
  periodMarked: (e) => note(GLASE, `period ${e.period} marked`),
  faultInjected,
  purchaseStarted: (e) => arrow(PHONE, UPS, `scan machine ${e.token} (${e.amount})`),
  purchaseEnded,
  walletOverflow: () => note(GLASE, "wallet would overflow: refused", "error"),
  notificationDue: (e) => note(GLASE, `notification due (${e.reason})`),
};

/** `#1 getPaymentStatus: resultCode 90 (1 left)` for a fault rule as the API lists and journals it. */
export function faultText(fault) {
  const target = typeof fault.target === "string" ? fault.target : Object.values(fault.target || {})[0] || "*";
  // An action is a name ("dropConnection") or a name with its value ({"resultCode": 90}).
  const action =
    typeof fault.action === "string"
      ? [fault.action]
      : Object.entries(fault.action || {}).map(([name, value]) => (value === true || value === null ? name : `${name} ${value}`));
  const scope = [
    fault.terminal && `terminal ${fault.terminal}`,
    fault.merchant && `merchant ${fault.merchant}`,
    fault.invoice && `invoice ${fault.invoice}`,
    fault.customer && `customer ${fault.customer}`,
  ].filter(Boolean);
  const left = fault.remaining === null || fault.remaining === undefined ? "until removed" : `${fault.remaining} left`;
  return `#${fault.id} ${target}${scope.length ? ` (${scope.join(", ")})` : ""}: ${action.join(", ") || JSON.stringify(fault.action)} (${left})`;
}

function control(entry) {
  if (entry.action === "addFault") {
    try {
      return note(GLASE, `fault added ${faultText(JSON.parse(entry.detail))}`, "fault");
    } catch {
      return note(GLASE, `fault added: ${entry.detail}`, "fault");
    }
  }
  const tone = entry.action === "panic" ? "violation" : entry.action === "warning" ? "error" : "";
  return note(GLASE, `${entry.action}: ${entry.detail}`, tone);
}

const KINDS = {
  soapRequest: (e) => arrow(BACKEND, GLASE, e.operation || "undecodable SOAP request", e.operation ? "" : "violation"),
  soapResponse: soapAnswer,
  notificationSent: notification,
  createPurchaseRequest: (e) => arrow(UPS, BACKEND, `createPurchase #${e.purchase}`),
  createPurchaseResponse: purchaseAnswer,
  control,
  wireDeviation: (e) => note(BACKEND, `wire deviation: ${e.detail}`, "violation"),
  machine: (e) => (EVENTS[e.event.type] || ((ev) => note(GLASE, ev.type)))(e.event),
};

/** `{from, to, label, tone}` for one entry. */
export function describe(entry) {
  const kind = KINDS[entry.kind];
  return kind ? kind(entry) : note(GLASE, entry.kind || "entry");
}

/** Whether the entry is a problem worth standing out: an injected fault or a violation. */
export const isProblem = (shape) => shape.tone === "fault" || shape.tone === "violation" || shape.tone === "error";
