// The reporter's choices from the options page, kept in storage.local (never synced): which
// address to use, overriding addresses, and the form's language. Nothing about reports is stored.

// The addresses of one click wait under this prefix plus a random key in storage.session, which
// the browsers keep in memory only, until the form's tab takes them (prefill.js).
export const PREFILL_PREFIX = "prefill:";

export const DEFAULTS = Object.freeze({ base: "auto", language: "auto", onion: "", https: "" });

const api = globalThis.browser ?? globalThis.chrome;

export async function loadSettings() {
  const stored = await api.storage.local.get(Object.keys(DEFAULTS));
  return { ...DEFAULTS, ...stored };
}

export async function saveSettings(settings) {
  const clean = {};
  for (const key of Object.keys(DEFAULTS)) clean[key] = String(settings[key] ?? DEFAULTS[key]);
  await api.storage.local.set(clean);
}

/** True in Tor Browser, which reaches onion services; a local question, no request. */
export async function isTorBrowser() {
  if (typeof api.runtime.getBrowserInfo !== "function") return false; // Chromium has none
  const info = await api.runtime.getBrowserInfo();
  return /\btor\b/i.test(`${info.name} ${info.vendor}`);
}
