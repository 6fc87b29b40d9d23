// Which address a click reports and where the form is: pure functions, no browser API, so that
// `node --test` checks every rule the extension follows.

export const LANGUAGES = ["nl", "fr", "de", "en"];

// The form accepts one address of at most 2048 characters (onion_service/web/validate.py):
// anything longer would be refused there after the reporter had already switched tabs.
export const MAX_ADDRESS_CHARS = 2048;
// The form takes a posted body of at most 64 KiB (onion_service/web/form.py, MAX_BODY_BYTES). Two
// addresses of 2048 characters stay below it however they encode (9 characters each at most), but
// the bound is checked rather than assumed.
export const MAX_BODY_CHARS = 64 * 1024;

// Schemes whose address holds the content itself (or a copy on this computer) rather than a place
// on the web: passing one would send the material, or a path on the reporter's disk, to the form.
const CONTENT_SCHEMES = new Set(["data:", "blob:", "file:", "filesystem:"]);
const EXTENSION_SCHEMES = new Set(["chrome-extension:", "moz-extension:", "extension:"]);
// An onion service address: 56 base32 characters (version 3).
const ONION_HOST = /^(?:[a-z0-9-]+\.)*[a-z2-7]{56}\.onion$/;
// A host name as people select it on a page: dotted labels ending in a letter-only top label.
const HOST_NAME = /^(?:(?!-)[a-z0-9-]{1,63}(?<!-)\.)+[a-z]{2,63}$/;

/**
 * The address to report for a click: `{address}` (with `also`, the page's, for media on a web
 * page) or `{refusal}` with one of the reasons
 * "content" (data:, blob:, file: …), "not-web" (another scheme), "too-long", "no-address".
 * `context` is a menu entry's context ("link", "page", "image", "video", "audio", "frame",
 * "selection") or "action" (the toolbar button), `info` the browser's OnClickData, `tab` its tab.
 */
export function addressFor(context, info, tab) {
  const pageUrl = (info && info.pageUrl) || (tab && tab.url) || "";
  switch (context) {
    case "link":
      // Only the target's text is read from the menu's data: the link is not visited.
      return check(info.linkUrl || "");
    case "image":
    case "video":
    case "audio": {
      // The page that showed it is always reported; the media's own address too when it is a
      // web address, since it says exactly what was seen. An inline data: image or a blob:
      // stream holds the material itself and is never passed on.
      const page = check(pageUrl);
      const media = check(info.srcUrl || "");
      if (!media.address) return page;
      if (!page.address || page.address === media.address) return media;
      return { address: media.address, also: page.address };
    }
    case "frame":
      return check(info.frameUrl || "");
    case "selection":
      return selection(info.selectionText || "");
    case "page":
    case "action":
      return check(pageUrl);
    default:
      return { refusal: "no-address" };
  }
}

/**
 * Which kind of thing a menu click was on. The one menu entry is offered in every context, and
 * the browser says what was under the pointer: a link wins over the image inside it (the target
 * is what the reporter points at), media over a selection, a selection over the frame or page.
 */
export function contextOf(info) {
  if (info.linkUrl) return "link";
  if (["image", "video", "audio"].includes(info.mediaType)) return info.mediaType;
  if (info.selectionText) return "selection";
  if (info.frameUrl) return "frame";
  return "page";
}

/** `{address}` if `text` is an http(s) address (onion hosts included), `{refusal}` otherwise. */
export function check(text) {
  const address = text.trim();
  if (!address) return { refusal: "no-address" };
  if (address.length > MAX_ADDRESS_CHARS) return { refusal: "too-long" };
  let url;
  try {
    url = new URL(address);
  } catch {
    return { refusal: "no-address" };
  }
  if (CONTENT_SCHEMES.has(url.protocol)) return { refusal: "content" };
  if (EXTENSION_SCHEMES.has(url.protocol)) return { refusal: "content" };
  if ((url.protocol !== "http:" && url.protocol !== "https:") || !url.hostname) {
    return { refusal: "not-web" };
  }
  return { address };
}

/** A selected text is reported only when all of it is one address (bare host names too). */
export function selection(text) {
  const trimmed = text.trim();
  if (!trimmed || /\s/.test(trimmed)) return { refusal: "no-address" };
  if (trimmed.length > MAX_ADDRESS_CHARS) return { refusal: "too-long" };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) || /^(data|blob|file|javascript|mailto):/i.test(trimmed)) {
    return check(trimmed);
  }
  // "example.org/page" as people write it: the form accepts it as it is.
  let url;
  try {
    url = new URL("http://" + trimmed);
  } catch {
    return { refusal: "no-address" };
  }
  const host = url.hostname.toLowerCase();
  if (url.username || url.password || url.port || !(HOST_NAME.test(host) || ONION_HOST.test(host))) {
    return { refusal: "no-address" };
  }
  return { address: trimmed };
}

/** Is `address` on an onion service? */
export function isOnion(address) {
  try {
    return ONION_HOST.test(new URL(address).hostname.toLowerCase());
  } catch {
    return false;
  }
}

/**
 * The form's language: the reporter's choice on the options page, else the browser's language
 * when the hotline offers it, else the hotline's default.
 */
export function chooseLanguage(choice, uiLanguage, fallback) {
  if (LANGUAGES.includes(choice)) return choice;
  const primary = String(uiLanguage || "").toLowerCase().split(/[-_]/)[0];
  return LANGUAGES.includes(primary) ? primary : fallback;
}

/**
 * The base address of the form: `{base}` or `{refusal: "no-base"}`.
 * `choice` is the options page's "auto", "onion" or "https"; `bases` holds `onion` and `https`
 * (either may be empty). With "auto" the onion address is used where the browser evidently
 * reaches onion services (it is Tor Browser, or the page being reported is itself on one) and
 * the public HTTPS address otherwise: deciding needs no request and no permission.
 */
export function chooseBase(choice, bases, { torBrowser = false, pageOnOnion = false } = {}) {
  const onion = bases.onion || "";
  const https = bases.https || "";
  let base;
  if (choice === "onion") base = onion || https;
  else if (choice === "https") base = https || onion;
  else base = (torBrowser || pageOnOnion) && onion ? onion : https || onion;
  return base ? { base: base.replace(/\/+$/, "") } : { refusal: "no-base" };
}

/**
 * Where the addresses are posted: `<base>/<lang>/prefill`, which shows the form with them filled
 * in and files nothing. They travel in the body, so they are in no URL the browser keeps
 * (history, session restore, history sync): only this one is.
 */
export function prefillAction(base, language) {
  return `${base}/${language}/prefill`;
}

/** The url-encoded body a form of `url` fields posts: `url=<encoded>[&url=…]`, in order. */
export function prefillBody(addresses) {
  return addresses.map((a) => `url=${encodeURIComponent(a)}`).join("&");
}

/**
 * Everything a click decides: `{open: {action, addresses}}`, the form to post the addresses to,
 * or `{refusal}`.
 * `settings`: {base: "auto"|"onion"|"https", language: "auto"|"nl"|…, onion, https}
 * `hotline`: the built copy's {onion, https, defaultLanguage}; `env`: {uiLanguage, torBrowser}.
 */
export function plan(context, info, tab, settings, hotline, env) {
  const found = addressFor(context, info, tab);
  if (found.refusal) return found;
  const bases = { onion: settings.onion || hotline.onion, https: settings.https || hotline.https };
  const pageOnOnion = isOnion((info && info.pageUrl) || (tab && tab.url) || "");
  const chosen = chooseBase(settings.base, bases, { torBrowser: env.torBrowser, pageOnOnion });
  if (chosen.refusal) return chosen;
  const language = chooseLanguage(settings.language, env.uiLanguage, hotline.defaultLanguage);
  const addresses = [found.address, ...(found.also ? [found.also] : [])];
  if (prefillBody(addresses).length > MAX_BODY_CHARS) return { refusal: "too-long" };
  return { open: { action: prefillAction(chosen.base, language), addresses } };
}

/** The options page's address fields: an onion base or an https base, or "" when invalid. */
export function normaliseBase(kind, text) {
  let url;
  try {
    url = new URL(text.trim());
  } catch {
    return "";
  }
  if (url.pathname !== "/" || url.search || url.hash || url.username || url.password) return "";
  const host = url.hostname.toLowerCase();
  if (kind === "onion") {
    return (url.protocol === "http:" || url.protocol === "https:") && /^[a-z2-7]{56}\.onion$/.test(host)
      ? `${url.protocol}//${host}`
      : "";
  }
  return url.protocol === "https:" && HOST_NAME.test(host) && !url.port ? `https://${host}` : "";
}
