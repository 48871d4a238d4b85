// Text put into the page's HTML: every module that builds markup escapes through this.

/** `text` (anything; null and undefined are empty) safe inside HTML text and attribute values. */
export const escapeHtml = (text) =>
  String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
