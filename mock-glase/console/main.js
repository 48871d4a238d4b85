// Wires the console together: reads the mock's info, starts the timeline, keeps the phone
// and the state panel in step with what the journal says happened.

import { get, setToken, token } from "./api.js";
import { createControls, mockClock, tickDeadlines } from "./controls.js";
import { renderDetail } from "./detail.js";
import { createMachines } from "./machines.js";
import { createPhone } from "./phone.js";
import { createTimeline } from "./timeline.js";

const $ = (id) => document.getElementById(id);

const machines = createMachines($("machines"));

const phone = createPhone(
  {
    customer: $("customer"), wallet: $("wallet"), customerForm: $("customer-form"), newMsisdn: $("new-msisdn"),
    newPin: $("new-pin"), newBalance: $("new-balance"), scanForm: $("scan-form"), qr: $("qr"), amount: $("amount"),
    pick: $("pick"), invoice: $("invoice"), actions: $("pin-form"), pinForm: $("pin-form"), pin: $("pin"),
    cancel: $("cancel"), walkAway: $("walk-away"), message: $("phone-message"),
  },
  { onInvoice: () => tickDeadlines(document), machines: () => machines.all() },
);

const controls = createControls(
  {
    invoices: $("invoices"), invoicesEmpty: $("invoices-empty"), faults: $("faults"), faultsEmpty: $("faults-empty"),
    faultForm: $("fault-form"), clearFaults: $("clear-faults"), scale: $("scale"), scaleForm: $("scale-form"),
    advanceForm: $("advance-form"), advanceBy: $("advance-by"), clockNow: $("clock-now"), merchants: $("merchants"),
    merchantForm: $("merchant-form"), merchantId: $("merchant-id"), merchantUrl: $("merchant-url"), dialect: $("dialect"),
    message: $("controls-message"), machinesEmpty: $("machines-empty"),
  },
  { machines, onOpen: (reference) => { show("phone"); phone.open(reference); }, onMerchants: () => loadInfo() },
);

/** Refreshes what the journal may have changed, at most once a second under load. */
let pendingRefresh = null;
function refreshSoon() {
  if (pendingRefresh) return;
  pendingRefresh = setTimeout(() => {
    pendingRefresh = null;
    phone.refresh();
    controls.refreshInvoices();
  }, 300);
}

const timeline = createTimeline(
  {
    rows: $("rows"), spacer: $("spacer"), window: $("window"), lanes: $("lanes"), status: $("timeline-status"),
    problems: $("problems-only"), older: $("load-older"),
  },
  {
    onEntries(batch) {
      mockClock.set(Math.max(mockClock.now(), batch[batch.length - 1].at));
      machines.note(batch);
      refreshSoon();
    },
    onState(state, error) {
      const text = { live: "live", reconnecting: "reconnecting…", unauthorized: "needs the control token", error: "error" }[state];
      $("connection").textContent = error && state !== "unauthorized" ? `${text} (${error.message})` : text;
      $("connection").dataset.state = state;
      if (state === "unauthorized") $("token-label").hidden = false;
    },
    onSelect(entry, entries, focus) {
      renderDetail($("detail"), entry, entries);
      if (focus) $("detail-title").focus();
    },
  },
);

/** Narrow screens show one panel at a time. */
function show(panel) {
  document.body.dataset.panel = panel;
  for (const tab of document.querySelectorAll("[role=tab]")) tab.setAttribute("aria-selected", String(tab.dataset.panel === panel));
}

async function loadInfo() {
  const info = await get("/info");
  mockClock.set(info.now);
  phone.setInfo(info);
  controls.showMerchants(info);
  $("token-label").hidden = !token();
  return info;
}

async function start() {
  try {
    await loadInfo();
  } catch (error) {
    $("connection").textContent = error.status === 401 ? "needs the control token" : error.message;
    $("token-label").hidden = error.status !== 401;
    return;
  }
  await Promise.all([timeline.start({}), phone.refresh(), controls.refresh()]);
}

$("filter-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = (id) => $(id).value.trim();
  timeline.start({ invoice: value("filter-invoice"), terminal: value("filter-terminal"), merchant: value("filter-merchant") });
});
$("filter-form").addEventListener("reset", () => setTimeout(() => timeline.start({}), 0));
$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  setToken($("token").value.trim());
  start();
});
for (const tab of document.querySelectorAll("[role=tab]")) tab.addEventListener("click", () => show(tab.dataset.panel));
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !$("detail").hidden) {
    $("detail").hidden = true;
    $("rows").focus();
  }
});

show("phone");
setInterval(() => {
  tickDeadlines(document);
  $("clock").textContent = `mock clock ${new Date(mockClock.now()).toISOString().slice(11, 19)}`;
}, 250);
setInterval(() => controls.refresh(), 5000);
start();

// For tests and the curious: the console's parts, from the browser's developer tools.
window.glaseConsole = { timeline, phone, controls };
