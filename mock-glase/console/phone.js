// The phone: the Glase app as a customer sees it. Choose or create a customer, scan a
// code (or pick a machine, till or waiting invoice), see the invoice, confirm it with the
// PIN or cancel it, and see the receipt and the wallet move. Every action is a control
// call, so a wrong PIN takes the mock's real path.

import { get, post, put, query } from "./api.js";
import { escapeHtml } from "./html.js";

const CONFIRM_TEXT = {
  paid: "Paid",
  reserved: "Reserved",
  wrongPin: "Wrong PIN: the invoice is still open, try again",
  insufficientFunds: "Not enough money in the wallet",
};

export function createPhone(el, hooks) {
  const state = { invoice: null, reserved: {}, info: null, picks: "" };

  const msisdn = () => el.customer.value;
  const say = (text, tone = "") => {
    el.message.textContent = text;
    el.message.className = `message ${tone}`;
  };
  const failed = (error) => say(error.message, "bad");

  async function refreshWallet() {
    if (!msisdn()) return;
    const customer = await get(`/customers/${encodeURIComponent(msisdn())}`);
    el.wallet.textContent = `${customer.balance} in the wallet`;
    el.wallet.dataset.balance = customer.balance;
  }

  function setCustomers(info, chosen) {
    const known = new Set(info.customers.map((c) => c.msisdn));
    for (const option of el.customer.options) known.add(option.value);
    const current = chosen || msisdn() || info.defaultCustomer;
    el.customer.innerHTML = [...known].map((m) => `<option value="${escapeHtml(m)}">${escapeHtml(m)}</option>`).join("");
    el.customer.value = current;
  }

  async function saveCustomer(event) {
    event.preventDefault();
    const number = el.newMsisdn.value.trim();
    if (!/^\d{5,15}$/.test(number)) return say("A phone number is 5 to 15 digits", "bad");
    const body = {};
    if (el.newPin.value) body.pin = el.newPin.value;
    if (el.newBalance.value) body.balance = el.newBalance.value.trim();
    await put(`/customers/${number}`, body);
    setCustomers(state.info, number);
    say(`Customer ${number} saved`, "good");
    await refreshWallet();
  }

  async function refreshPicks() {
    const pending = await get(`/invoices${query({ status: "ISSUED", limit: 20 })}`);
    const merchants = (state.info?.merchants || []).filter((m) => m.createPurchaseUrl);
    const tills = (state.info?.terminals || []).filter((t) => t.seqrId);
    const option = (qr, text) => `<option value="${escapeHtml(qr)}">${escapeHtml(text)}</option>`;
    const ups = (merchant, token) => `HTTP://SEQR.SE/000/ups?w=${encodeURIComponent(merchant)}&t=${encodeURIComponent(token)}`;
    const machines = hooks.machines().map((m) => option(ups(m.merchantId, m.token), `${m.token} at ${m.merchantId}`));
    machines.push(...merchants.map((m) => option(ups(m.merchantId, ""), `another machine of ${m.merchantId}…`)));
    const html = `<option value="">Pick a code…</option>
      <optgroup label="Waiting invoices">${pending.map((i) => option(`HTTP://SEQR.SE/R${i.reference}`, `${i.total} ${i.currency} at ${i.terminal} (${i.reference})`)).join("")}</optgroup>
      <optgroup label="Tills">${tills.map((t) => option(`HTTP://SEQR.SE/Q${t.seqrId}`, `till ${t.id}`)).join("")}</optgroup>
      <optgroup label="Machines">${machines.join("")}</optgroup>`;
    // Rebuilt only when something changed: a list rebuilt under the pointer every second
    // (under load) could not be chosen from.
    if (html !== state.picks) {
      state.picks = html;
      el.pick.innerHTML = html;
    }
  }

  async function scan(event) {
    event.preventDefault();
    const qr = el.qr.value.trim();
    if (!qr) return say("Paste or pick a QR code first", "bad");
    const body = { qr, msisdn: msisdn() };
    if (/\/000\/ups/i.test(qr) && el.amount.value.trim()) body.amount = el.amount.value.trim();
    say("Scanning…");
    const result = await post("/customer/scan", body);
    if (result.kind === "unattended") {
      const outcome = result.purchase.outcome;
      if (!result.invoice) {
        const why = outcome === "declined" ? `declined: ${result.purchase.errorCode}` : result.purchase.violation || outcome;
        return say(`The machine did not start: ${why}`, "bad");
      }
      await open(result.invoice.reference);
    } else {
      await open(result.reference);
    }
    say("Enter your PIN to confirm");
    el.pin.focus();
  }

  async function open(reference) {
    state.invoice = reference;
    await showInvoice();
  }

  function countdown(label, deadline) {
    return deadline ? `<p class="deadline" data-deadline="${deadline}">${escapeHtml(label)} <span class="left"></span></p>` : "";
  }

  async function showInvoice() {
    if (!state.invoice) return;
    const view = await get(`/invoices/${state.invoice}`);
    if (view.reservedAmount) state.reserved[view.reference] = view.reservedAmount;
    const invoice = view.invoice || {};
    const rows = (invoice.invoiceRows || [])
      .map((r) => `<tr><td>${escapeHtml(r.itemDescription)}</td><td class="num">${escapeHtml(r.itemQuantity)}</td><td class="num">${escapeHtml(r.itemTotalAmount?.value)}</td></tr>`)
      .join("");
    const reserved = state.reserved[view.reference];
    const paid = view.payment;
    el.invoice.innerHTML = `
      <h3>${escapeHtml(invoice.title || "Invoice")}</h3>
      <p class="merchant">${escapeHtml(view.reseller)} · ${escapeHtml(invoice.cashierId || view.terminal)}</p>
      <table><caption class="sr-only">Invoice rows</caption><thead><tr><th>Item</th><th class="num">Qty</th><th class="num">Total</th></tr></thead><tbody>${rows}</tbody></table>
      <p class="total">Total <strong>${escapeHtml(view.total)} ${escapeHtml(view.currency)}</strong></p>
      <p class="status">Status <strong id="phone-status" class="badge status-${escapeHtml(view.status)}">${escapeHtml(view.status)}</strong></p>
      ${reserved ? `<p id="phone-reserved">Reserved <strong>${escapeHtml(reserved)} ${escapeHtml(view.currency)}</strong></p>` : ""}
      ${paid && reserved ? `<p id="phone-committed">Committed <strong>${escapeHtml(paid.amount)} ${escapeHtml(paid.currency)}</strong></p>` : ""}
      ${view.acknowledgedAt ? "" : countdown("Merchant must fetch the status in", view.statusDeadline)}
      ${view.status === "RESERVED" ? countdown("Merchant must commit in", view.commitDeadline) : ""}
      ${paid ? `<div id="receipt" class="receipt"><h4>Receipt</h4><p>Paid ${escapeHtml(paid.amount)} ${escapeHtml(paid.currency)}</p><p>Reference ${escapeHtml(paid.ersReference)}</p><p>${escapeHtml(new Date(paid.paidAt).toISOString())}</p>${paid.reversed ? "<p class=bad>Reversed</p>" : ""}</div>` : ""}`;
    el.invoice.hidden = false;
    el.actions.hidden = view.status !== "ISSUED";
    hooks.onInvoice(view.reference);
  }

  async function act(action) {
    if (!state.invoice) return say("Scan an invoice first", "bad");
    const body = { invoiceReference: state.invoice, msisdn: msisdn() };
    if (action === "confirm") {
      if (el.pin.value) body.pin = el.pin.value;
      const answer = await post("/customer/confirm", body);
      el.pin.value = "";
      say(CONFIRM_TEXT[answer.result] || answer.result, answer.result === "paid" || answer.result === "reserved" ? "good" : "bad");
    } else {
      await post(`/customer/${action}`, body);
      say(action === "cancel" ? "Canceled in the app" : "Closed the app");
    }
    await Promise.all([showInvoice(), refreshWallet()]);
  }

  const guarded = (handler) => (event) => handler(event).catch(failed);
  el.customerForm.addEventListener("submit", guarded(saveCustomer));
  el.customer.addEventListener("change", guarded(refreshWallet));
  el.scanForm.addEventListener("submit", guarded(scan));
  el.pick.addEventListener("change", () => {
    el.qr.value = el.pick.value;
    el.amount.closest("label").hidden = !/\/000\/ups/i.test(el.qr.value);
    el.qr.focus();
  });
  el.qr.addEventListener("input", () => (el.amount.closest("label").hidden = !/\/000\/ups/i.test(el.qr.value)));
  el.pinForm.addEventListener("submit", guarded(async (event) => {
    event.preventDefault();
    await act("confirm");
  }));
  el.cancel.addEventListener("click", guarded(() => act("cancel")));
  el.walkAway.addEventListener("click", guarded(() => act("walk-away")));

  return {
    setInfo(info) {
      state.info = info;
      setCustomers(info);
    },
    current: () => state.invoice,
    refresh: () => Promise.all([showInvoice(), refreshWallet(), refreshPicks()]).catch(failed),
    open: (reference) => open(reference).catch(failed),
  };
}
