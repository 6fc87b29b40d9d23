// Shared by the extension's own pages: their texts come from _locales, set as text (never HTML).

export const api = globalThis.browser ?? globalThis.chrome;

export function translate(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = api.i18n.getMessage(el.dataset.i18n);
  }
  document.documentElement.lang = api.i18n.getUILanguage();
}
