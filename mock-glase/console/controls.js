// State and controls: the invoices Glase holds, fault injection (the rules the control API
// takes), the clock and deadline scale, and the merchants' createPurchase URLs.

import { del, get, post, put, query } from "./api.js";
import { faultText } from "./lanes.js";
import { escapeHtml } from "./html.js";

/** Invoices shown at most (newest first); the journal and the API have the rest. */
const INVOICES_SHOWN = 50;

/** The mock's time, counted on from the last reading: deadlines are on its clock. */
export const mockClock = { offset: 0, set(now) { this.offset = now - Date.now(); }, now() { return Date.now() + this.offset; } };

/** Turns every `[data-deadline]` under `root` into a live countdown. */
export function tickDeadlines(root) {
  for (const element of root.querySelectorAll("[data-deadline]")) {
    const left = Number(element.dataset.deadline) - mockClock.now();
    const text = left <= 0 ? "passed" : left >= 60000 ? `${Math.floor(left / 60000)} min ${Math.floor((left % 60000) / 1000)} s` : `${(left / 1000).toFixed(1)} s`;
    (element.querySelector(".left") || element).textContent = text;
    element.classList.toggle("urgent", left < 5000);
  }
}

function faultBody(form) {
  const value = (name) => form.elements[name].value.trim();
  const body = { operation: value("operation") || "*" };
  if (value("terminal")) body.terminal = value("terminal");
  if (value("merchant")) body.merchant = value("merchant");
  // Narrowed to one invoice, or to the invoices one customer has open or has paid: on a
  // shared sandbox, a fault that touches nobody else's calls.
  if (value("invoice")) body.invoice = value("invoice");
  if (value("customer")) body.customer = value("customer");
  const action = value("action");
  const argument = value("argument");
  if (action === "dropConnection") body.dropConnection = true;
  else if (action === "resultCode" || action === "httpStatus") body[action] = Number(argument);
  else body[action] = argument;
  if (value("times")) body.times = Number(value("times"));
  if (value("probability")) body.probability = Number(value("probability"));
  return body;
}

export function createControls(el, hooks) {
  const say = (text, tone = "") => {
    el.message.textContent = text;
    el.message.className = `message ${tone}`;
  };
  const failed = (error) => say(error.message, "bad");

  async function refreshInvoices() {
    const list = await get(`/invoices${query({ limit: INVOICES_SHOWN })}`);
    const details = await Promise.all(
      list.filter((i) => ["ISSUED", "RESERVED", "PAID"].includes(i.status)).slice(0, 10).map((i) => get(`/invoices/${i.reference}`)),
    );
    const byReference = new Map(details.map((d) => [d.reference, d]));
    el.invoices.innerHTML = list
      .map((i) => {
        const d = byReference.get(i.reference);
        const due = d && !d.acknowledgedAt && d.statusDeadline ? `<span data-deadline="${d.statusDeadline}" title="status deadline"></span>` : d && d.status === "RESERVED" && d.commitDeadline ? `<span data-deadline="${d.commitDeadline}" title="commit deadline"></span>` : "";
        return `<tr><td><button type="button" class="link" data-open="${escapeHtml(i.reference)}">${escapeHtml(i.reference)}</button></td>
          <td>${escapeHtml(i.terminal)}</td><td class="num">${escapeHtml(i.total)}</td>
          <td><span class="badge status-${escapeHtml(i.status)}">${escapeHtml(i.status)}</span> ${due}</td></tr>`;
      })
      .join("");
    el.invoicesEmpty.hidden = list.length > 0;
    const statuses = new Map(list.map((i) => [i.reference, i.status]));
    hooks.machines.render((reference) => statuses.get(reference));
    el.machinesEmpty.hidden = hooks.machines.all().length > 0;
  }

  async function refreshFaults() {
    const faults = await get("/faults");
    el.faults.innerHTML = faults
      .map((f) => `<li><span>${escapeHtml(faultText(f))}</span> <button type="button" data-remove="${escapeHtml(f.id)}" aria-label="Remove fault ${escapeHtml(f.id)}">Remove</button></li>`)
      .join("");
    el.faultsEmpty.hidden = faults.length > 0;
  }

  async function refreshClock() {
    const clock = await get("/clock");
    mockClock.set(clock.now);
    el.scale.placeholder = String(clock.deadlineScale);
    el.clockNow.textContent = new Date(clock.now).toISOString();
  }

  function showMerchants(info) {
    el.merchants.innerHTML = (info.merchants || [])
      .map((m) => `<li><strong>${escapeHtml(m.merchantId)}</strong> (${escapeHtml(m.dialect)}): ${escapeHtml(m.createPurchaseUrl || "no createPurchase URL")}</li>`)
      .join("");
    el.merchantId.innerHTML = (info.merchants || []).map((m) => `<option>${escapeHtml(m.merchantId)}</option>`).join("");
  }

  async function addFault(event) {
    event.preventDefault();
    const fault = await post("/faults", faultBody(el.faultForm));
    say(`Fault ${fault.id ?? ""} injected`, "good");
    await refreshFaults();
  }

  async function setScale(event) {
    event.preventDefault();
    await put("/clock", { deadlineScale: Number(el.scale.value) });
    el.scale.value = "";
    say("Deadline scale set", "good");
    await refreshClock();
  }

  async function advance(event) {
    event.preventDefault();
    await post("/clock/advance", { by: el.advanceBy.value.trim() });
    say(`Clock moved on by ${el.advanceBy.value.trim()}`, "good");
    await refreshClock();
  }

  async function setMerchant(event) {
    event.preventDefault();
    const body = { createPurchaseUrl: el.merchantUrl.value.trim() || null, dialect: el.dialect.value };
    await put(`/merchants/${encodeURIComponent(el.merchantId.value)}`, body);
    say(`createPurchase URL of ${el.merchantId.value} set`, "good");
    hooks.onMerchants();
  }

  const guarded = (handler) => (event) => handler(event).catch(failed);
  el.faultForm.addEventListener("submit", guarded(addFault));
  el.faults.addEventListener("click", guarded(async (event) => {
    const id = event.target.dataset?.remove;
    if (!id) return;
    await del(`/faults/${encodeURIComponent(id)}`);
    await refreshFaults();
  }));
  el.clearFaults.addEventListener("click", guarded(async () => {
    await del("/faults");
    await refreshFaults();
  }));
  el.scaleForm.addEventListener("submit", guarded(setScale));
  el.advanceForm.addEventListener("submit", guarded(advance));
  el.merchantForm.addEventListener("submit", guarded(setMerchant));
  el.invoices.addEventListener("click", (event) => {
    const reference = event.target.dataset?.open;
    if (reference) hooks.onOpen(reference);
  });

  return {
    showMerchants,
    refresh: () => Promise.all([refreshInvoices(), refreshFaults(), refreshClock()]).catch(failed),
    refreshInvoices: () => refreshInvoices().catch(failed),
  };
}
