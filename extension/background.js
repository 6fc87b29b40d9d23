// The background: one menu entry, the toolbar button, and the tab that opens the form. It makes
// no request of its own. A click opens the extension's own page (prefill.html) in a new tab, and
// that page posts the addresses to the form: they are in no URL the browser keeps.

import { HOTLINE } from "./hotline.js";
import { contextOf, plan } from "./report.js";
import { PREFILL_PREFIX, isTorBrowser, loadSettings } from "./settings.js";

const api = globalThis.browser ?? globalThis.chrome;
const MENU_ID = "report";
const CONTEXTS = ["link", "page", "image", "video", "audio", "frame", "selection"];
const REFUSALS = {
  content: "refusedContent",
  "not-web": "refusedNotWeb",
  "too-long": "refusedTooLong",
  "no-address": "refusedNoAddress",
  "no-base": "refusedNoBase",
};

function menuTitle() {
  // In a menu title "&" marks the access key; "&&" is a literal ampersand.
  return api.i18n.getMessage("menuReport").replaceAll("&", "&&");
}

function buttonTitle() {
  return api.i18n.getMessage("actionButton");
}

async function createMenu() {
  await api.contextMenus.removeAll();
  api.contextMenus.create({ id: MENU_ID, title: menuTitle(), contexts: CONTEXTS });
}

/** Reports what a click was on: opens the form, or says why not. Returns what it did. */
async function report(context, info, tab) {
  const settings = await loadSettings();
  const env = { uiLanguage: api.i18n.getUILanguage(), torBrowser: await isTorBrowser() };
  const decided = plan(context, info, tab, settings, HOTLINE, env);
  const tabId = tab && tab.id >= 0 ? tab.id : undefined;
  if (decided.refusal) {
    await showRefusal(tabId, decided.refusal);
    return decided;
  }
  if (tabId !== undefined) await clearRefusal(tabId);
  const where = tab && tab.windowId >= 0 ? { windowId: tab.windowId, index: tab.index + 1 } : {};
  // In memory only (storage.session), under a key nobody can guess, until the tab takes it.
  const key = crypto.randomUUID();
  await api.storage.session.set({ [PREFILL_PREFIX + key]: decided.open });
  await api.tabs.create({ url: api.runtime.getURL(`prefill.html#${key}`), active: true, ...where });
  return decided;
}

// How many refusal popups the browser let the extension open (the tests wait for those to finish).
const popups = { opened: 0 };

// The message lives on the toolbar button of the tab: a badge, the button's title, and a small
// page it opens. Nothing else (no notification permission, no page of the site is touched).
async function showRefusal(tabId, reason) {
  const message = api.i18n.getMessage(REFUSALS[reason]);
  await api.action.setBadgeBackgroundColor({ color: "#b3261e", tabId });
  await api.action.setBadgeText({ text: "!", tabId });
  await api.action.setTitle({ title: message, tabId });
  await api.action.setPopup({ popup: `refused.html#${reason}`, tabId });
  try {
    await api.action.openPopup();
    popups.opened += 1; // for the browser tests: the popup page will clear the badge
  } catch (err) {
    // Some browsers open a popup only on a click on the button itself; the badge and the title
    // carry the same message there, and the next click on the button shows it.
    console.debug("meldpunt: message left on the toolbar button:", err.message);
  }
}

async function clearRefusal(tabId) {
  await api.action.setBadgeText({ text: "", tabId });
  await api.action.setTitle({ title: buttonTitle(), tabId });
  await api.action.setPopup({ popup: "", tabId });
}

api.runtime.onInstalled.addListener(() => createMenu());
api.contextMenus.onClicked.addListener((info, tab) => report(contextOf(info), info, tab));
api.action.onClicked.addListener((tab) => report("action", {}, tab));

// The same entry points, for the browser tests: native menus cannot be clicked by automation.
globalThis.meldpunt = {
  menuClick: (info, tab) => report(contextOf(info), info, tab),
  actionClick: (tab) => report("action", {}, tab),
  menuTitle,
  popupsOpened: () => popups.opened,
};
