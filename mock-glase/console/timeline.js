// The timeline: the journal, live, as a sequence diagram. Only the rows in view exist in
// the page (a virtual list), so it stays responsive however many entries it holds.

import { follow, get, query } from "./api.js";
import { LANES, describe, isProblem } from "./lanes.js";
import { escapeHtml } from "./html.js";

/** Pixels per row: must match `.row` in console.css. */
const ROW_HEIGHT = 30;
/** Entries loaded when the console opens (the journal may hold 100 000 and more). */
export const TAIL = 1000;
/** Entries the page keeps at most; older ones are let go (the mock still has them). */
export const KEPT = 20000;

const clockText = (entry) => (entry.time || "").slice(11, 23);

function rowHtml(entry, index, active) {
  const shape = entry.shape;
  const low = Math.min(shape.from, shape.to);
  const span = Math.abs(shape.to - shape.from);
  const kind = span === 0 ? `note at-${low}` : shape.to > shape.from ? "arrow right" : "arrow left";
  const where = [entry.terminal, entry.invoice, entry.merchant].filter(Boolean).join(" · ");
  return `<div class="row tone-${shape.tone || "plain"}${entry.seq === active ? " active" : ""}" role="option"
    id="row-${entry.seq}" data-seq="${entry.seq}" aria-selected="${entry.seq === active}"
    style="top:${index * ROW_HEIGHT}px"><span class="when">${escapeHtml(clockText(entry))}</span><span class="lanes"><span
    class="${kind}" style="--low:${low};--span:${span}"><span class="label">${escapeHtml(shape.label)}</span></span></span><span
    class="where">#${entry.seq} ${escapeHtml(where)}</span></div>`;
}

export function createTimeline(el, hooks) {
  // `generation` tells a batch of the stream in force from a late one of a stream just
  // replaced (a new filter), which must not mix into the new list.
  const state = { entries: [], visible: [], active: null, stop: null, filters: {}, dirty: false, follow: true, generation: 0 };

  el.lanes.innerHTML = LANES.map((name) => `<span>${name}</span>`).join("");

  function recompute() {
    const problemsOnly = el.problems.checked;
    state.visible = problemsOnly ? state.entries.filter((e) => isProblem(e.shape)) : state.entries;
    schedule();
  }

  function schedule() {
    if (state.dirty) return;
    state.dirty = true;
    requestAnimationFrame(render);
  }

  function render() {
    state.dirty = false;
    const total = state.visible.length;
    el.spacer.style.height = `${total * ROW_HEIGHT}px`;
    if (state.follow) el.rows.scrollTop = el.rows.scrollHeight;
    const first = Math.max(0, Math.floor(el.rows.scrollTop / ROW_HEIGHT) - 5);
    const last = Math.min(total, first + Math.ceil(el.rows.clientHeight / ROW_HEIGHT) + 10);
    const html = [];
    for (let i = first; i < last; i++) html.push(rowHtml(state.visible[i], i, state.active));
    el.window.innerHTML = html.join("");
    const held = state.entries.length;
    const shown = el.problems.checked ? `, ${total} problems` : "";
    el.status.textContent = held ? `${held} entries${shown}; latest #${state.entries[held - 1].seq}` : "no entries yet";
    el.older.hidden = !(held && state.entries[0].seq > 1 && Object.keys(state.filters).length === 0);
  }

  function add(batch) {
    for (const entry of batch) entry.shape = describe(entry);
    state.entries.push(...batch);
    if (state.entries.length > KEPT) state.entries.splice(0, state.entries.length - KEPT);
    recompute();
    hooks.onEntries(batch);
  }

  async function start(filters) {
    if (state.stop) state.stop();
    const generation = ++state.generation;
    state.filters = Object.fromEntries(Object.entries(filters).filter(([, v]) => v));
    state.entries = [];
    state.active = null;
    state.follow = true;
    recompute();
    let after = 0;
    if (Object.keys(state.filters).length === 0) {
      const head = await get(`/journal${query({ limit: 0 })}`);
      after = Math.max(0, head.lastSeq - TAIL);
    }
    if (generation !== state.generation) return;
    state.stop = follow(state.filters, after, (batch) => generation === state.generation && add(batch), hooks.onState);
  }

  async function loadOlder() {
    const first = state.entries[0].seq;
    const from = Math.max(0, first - 1 - TAIL);
    const page = await get(`/journal${query({ after: from, limit: first - 1 - from })}`);
    for (const entry of page.entries) entry.shape = describe(entry);
    state.entries = page.entries.concat(state.entries).slice(0, KEPT);
    state.follow = false;
    recompute();
  }

  function select(seq, { focus = false } = {}) {
    const index = state.visible.findIndex((e) => e.seq === seq);
    if (index < 0) return;
    state.active = seq;
    state.follow = false;
    el.rows.setAttribute("aria-activedescendant", `row-${seq}`);
    const top = index * ROW_HEIGHT;
    if (top < el.rows.scrollTop || top + ROW_HEIGHT > el.rows.scrollTop + el.rows.clientHeight) {
      el.rows.scrollTop = top - el.rows.clientHeight / 2;
    }
    schedule();
    hooks.onSelect(state.visible[index], state.entries, focus);
  }

  function move(step) {
    if (!state.visible.length) return;
    const index = state.visible.findIndex((e) => e.seq === state.active);
    const next = index < 0 ? state.visible.length - 1 : Math.min(state.visible.length - 1, Math.max(0, index + step));
    select(state.visible[next].seq);
  }

  el.rows.addEventListener("scroll", () => {
    const atEnd = el.rows.scrollTop + el.rows.clientHeight >= el.rows.scrollHeight - ROW_HEIGHT;
    state.follow = atEnd;
    schedule();
  });
  el.rows.addEventListener("click", (event) => {
    const row = event.target.closest(".row");
    if (row) select(Number(row.dataset.seq), { focus: true });
  });
  el.rows.addEventListener("keydown", (event) => {
    const steps = { ArrowDown: 1, ArrowUp: -1, PageDown: 10, PageUp: -10, Home: -Infinity, End: Infinity };
    if (event.key in steps) {
      event.preventDefault();
      const step = steps[event.key];
      if (Number.isFinite(step)) move(step);
      else select(state.visible[step < 0 ? 0 : state.visible.length - 1]?.seq);
    } else if (event.key === "Enter" && state.active !== null) {
      select(state.active, { focus: true });
    }
  });
  el.problems.addEventListener("change", recompute);
  el.older.addEventListener("click", () => loadOlder().catch((error) => hooks.onState("error", error)));
  window.addEventListener("resize", schedule);

  return { start, select, entries: () => state.entries, filters: () => state.filters };
}
