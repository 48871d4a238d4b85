// Machines as Glase's Unattended Payments Service sees them: every machine code scanned at
// a merchant, its latest purchase, how createPurchase ended and where its invoice is now.
// (What the machine itself does — unlocking, vending — only the backend knows; the
// timeline shows what it said to Glase about it.)

import { escapeHtml } from "./html.js";

function outcomeText(outcome) {
  if (!outcome) return "calling createPurchase…";
  if (outcome.outcome === "accepted") return "accepted";
  if (outcome.outcome === "declined") return `declined ${outcome.errorCode}`;
  return `violation: ${outcome.violation}`;
}

export function createMachines(list) {
  const machines = new Map();
  const byPurchase = new Map();

  function note(batch) {
    for (const entry of batch) {
      const event = entry.kind === "machine" ? entry.event : null;
      if (!event) continue;
      if (event.type === "purchaseStarted") {
        const machine = { merchantId: event.merchantId, token: event.token, purchase: event.purchase, amount: event.amount, outcome: null };
        machines.set(`${event.merchantId}\u0000${event.token}`, machine);
        byPurchase.set(event.purchase, machine);
      } else if (event.type === "purchaseEnded" && byPurchase.has(event.purchase)) {
        byPurchase.get(event.purchase).outcome = event.outcome;
        byPurchase.delete(event.purchase);
      }
    }
  }

  /** `statusOf(reference)`: the invoice's status, when known. */
  function render(statusOf) {
    list.innerHTML = [...machines.values()]
      .map((m) => {
        const reference = m.outcome?.invoiceReference;
        const status = reference ? statusOf(reference) : null;
        return `<tr><td>${escapeHtml(m.token)}</td><td>${escapeHtml(m.merchantId)}</td>
          <td>#${escapeHtml(m.purchase)} ${escapeHtml(m.amount)}: ${escapeHtml(outcomeText(m.outcome))}</td>
          <td>${status ? `<span class="badge status-${escapeHtml(status)}">${escapeHtml(status)}</span>` : ""}</td></tr>`;
      })
      .join("");
  }

  return { note, render, all: () => [...machines.values()] };
}
