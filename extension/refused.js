// The message for a click that reported nothing, shown from the toolbar button of its tab.
import { api, translate } from "./pages.js";

const MESSAGES = {
  content: "refusedContent",
  "not-web": "refusedNotWeb",
  "too-long": "refusedTooLong",
  "no-address": "refusedNoAddress",
  "no-base": "refusedNoBase",
};

translate();
const key = MESSAGES[location.hash.slice(1)] || "refusedNoAddress";
document.getElementById("message").textContent = api.i18n.getMessage(key);

// Shown once: the button's next click reports the tab again.
const [tab] = await api.tabs.query({ active: true, currentWindow: true });
if (tab) {
  await api.action.setPopup({ popup: "", tabId: tab.id });
  await api.action.setBadgeText({ text: "", tabId: tab.id });
}
