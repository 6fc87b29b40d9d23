// node --test extension/: the rules of report.js, without a browser.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  MAX_ADDRESS_CHARS,
  addressFor,
  check,
  chooseBase,
  chooseLanguage,
  contextOf,
  normaliseBase,
  plan,
  prefillAction,
  prefillBody,
  selection,
} from "../report.js";

const ONION = "http://" + "a".repeat(56) + ".onion";
const HTTPS = "https://report.hotline.example";
const HOTLINE = { onion: ONION, https: HTTPS, defaultLanguage: "fr" };
const AUTO = { base: "auto", language: "auto", onion: "", https: "" };
const PAGE = "https://pages.example/gallery?id=7";

test("a link reports its target, never the page around it", () => {
  assert.deepEqual(addressFor("link", { linkUrl: "https://t.example/x?a=1#f", pageUrl: PAGE }), {
    address: "https://t.example/x?a=1#f",
  });
});

test("media: its own http(s) address and the page's, else the page's alone", () => {
  const src = "http://cdn.example/p.jpg";
  for (const kind of ["image", "video", "audio"]) {
    assert.deepEqual(addressFor(kind, { srcUrl: src, pageUrl: PAGE }), { address: src, also: PAGE });
    for (const inline of ["data:image/png;base64,AAAA", "blob:https://pages.example/1-2"]) {
      assert.deepEqual(addressFor(kind, { srcUrl: inline, pageUrl: PAGE }), { address: PAGE });
    }
  }
  const onionMedia = "http://" + "b".repeat(56) + ".onion/v.mp4";
  assert.deepEqual(addressFor("video", { srcUrl: onionMedia, pageUrl: PAGE }), { address: onionMedia, also: PAGE });
  // Opened on its own (the media is the page): one address.
  assert.deepEqual(addressFor("image", { srcUrl: src, pageUrl: src }), { address: src });
  // On a page that is not a web page: the media alone.
  assert.deepEqual(addressFor("image", { srcUrl: src, pageUrl: "about:blank" }), { address: src });
});

test("the posted body carries every address in order; the action none", () => {
  assert.equal(prefillBody(["https://a.example/1", "https://b.example/ é"]),
    "url=https%3A%2F%2Fa.example%2F1&url=https%3A%2F%2Fb.example%2F%20%C3%A9");
  assert.equal(prefillAction("http://x.onion", "nl"), "http://x.onion/nl/prefill");
});

test("media on a page that is itself content is refused", () => {
  assert.deepEqual(addressFor("image", { srcUrl: "data:image/png,x", pageUrl: "file:///home/a/b.html" }), {
    refusal: "content",
  });
});

test("page, frame and toolbar button", () => {
  assert.deepEqual(addressFor("page", { pageUrl: PAGE }), { address: PAGE });
  assert.deepEqual(addressFor("frame", { frameUrl: "https://f.example/", pageUrl: PAGE }), {
    address: "https://f.example/",
  });
  assert.deepEqual(addressFor("action", {}, { url: PAGE }), { address: PAGE });
});

test("content, local and extension addresses are refused", () => {
  for (const url of [
    "data:text/html,<p>x",
    "DATA:image/png;base64,AA",
    "blob:https://pages.example/uuid",
    "file:///etc/passwd",
    "filesystem:https://pages.example/temporary/x",
    "chrome-extension://abcdefghijklmnop/options.html",
    "moz-extension://0b4d-11/options.html",
  ]) {
    assert.deepEqual(check(url), { refusal: "content" }, url);
    assert.deepEqual(addressFor("link", { linkUrl: url }), { refusal: "content" }, url);
  }
  for (const url of ["javascript:alert(1)", "mailto:a@b.example", "ftp://f.example/x", "about:blank", "chrome://settings"]) {
    assert.deepEqual(check(url), { refusal: "not-web" }, url);
  }
});

test("addresses are capped at the form's 2048 characters", () => {
  const at = "https://x.example/" + "a".repeat(MAX_ADDRESS_CHARS - 18);
  assert.equal(at.length, MAX_ADDRESS_CHARS);
  assert.deepEqual(check(at), { address: at });
  assert.deepEqual(check(at + "a"), { refusal: "too-long" });
  assert.deepEqual(selection(at + "a"), { refusal: "too-long" });
});

test("the longest addresses, however they encode, fit the form's posted body", () => {
  // 2030 characters of three UTF-8 bytes each become 18270 characters once encoded; two of them
  // (media and its page) stay well below the form's 64 KiB, since no URL carries them any more.
  const media = "https://x.example/" + "€".repeat(MAX_ADDRESS_CHARS - 18);
  const page = "https://p.example/" + "€".repeat(MAX_ADDRESS_CHARS - 18);
  const decided = plan("image", { mediaType: "image", srcUrl: media, pageUrl: page }, undefined, AUTO, HOTLINE, {});
  assert.deepEqual(decided.open.addresses, [media, page]);
  assert.ok(prefillBody(decided.open.addresses).length < 64 * 1024);
});

test("a selection is reported only when it is one address", () => {
  for (const text of ["https://t.example/a b", "hello world", "not an address", "", "   ", "1.2", "x.y", "a@b.example"]) {
    assert.deepEqual(selection(text), { refusal: "no-address" }, text);
  }
  for (const text of ["  https://t.example/a?b=c  ", "t.example/path", "sub.t.example", "b".repeat(56) + ".onion/x"]) {
    assert.deepEqual(selection(text), { address: text.trim() }, text);
  }
  assert.deepEqual(selection("data:text/plain,hello"), { refusal: "content" });
  assert.deepEqual(selection("javascript:void(0)"), { refusal: "not-web" });
});

test("the context of a menu click", () => {
  assert.equal(contextOf({ linkUrl: "https://a.example/", mediaType: "image", pageUrl: PAGE }), "link");
  assert.equal(contextOf({ mediaType: "video", srcUrl: "https://a.example/v", pageUrl: PAGE }), "video");
  assert.equal(contextOf({ selectionText: "a.example", frameUrl: "https://f.example/" }), "selection");
  assert.equal(contextOf({ frameUrl: "https://f.example/", pageUrl: PAGE }), "frame");
  assert.equal(contextOf({ pageUrl: PAGE }), "page");
});

test("language: the reporter's choice, else the browser's, else the hotline's", () => {
  assert.equal(chooseLanguage("de", "nl-BE", "fr"), "de");
  assert.equal(chooseLanguage("auto", "nl-BE", "fr"), "nl");
  assert.equal(chooseLanguage("auto", "en_GB", "fr"), "en");
  assert.equal(chooseLanguage("auto", "es-ES", "fr"), "fr");
  assert.equal(chooseLanguage("xx", "", "nl"), "nl");
});

test("base: onion where the browser reaches onions, HTTPS elsewhere, the options override", () => {
  const both = { onion: ONION, https: HTTPS };
  assert.deepEqual(chooseBase("auto", both), { base: HTTPS });
  assert.deepEqual(chooseBase("auto", both, { torBrowser: true }), { base: ONION });
  assert.deepEqual(chooseBase("auto", both, { pageOnOnion: true }), { base: ONION });
  assert.deepEqual(chooseBase("onion", both), { base: ONION });
  assert.deepEqual(chooseBase("https", both, { torBrowser: true }), { base: HTTPS });
  // One address only: it is used whatever the choice.
  assert.deepEqual(chooseBase("auto", { onion: ONION, https: "" }), { base: ONION });
  assert.deepEqual(chooseBase("onion", { onion: "", https: HTTPS + "/" }), { base: HTTPS });
  assert.deepEqual(chooseBase("auto", { onion: "", https: "" }), { refusal: "no-base" });
});

test("the posted body, encoded", () => {
  assert.equal(
    prefillBody(["https://t.example/a b?c=d&e=f#g"]),
    "url=https%3A%2F%2Ft.example%2Fa%20b%3Fc%3Dd%26e%3Df%23g",
  );
});

test("plan: everything a click decides", () => {
  const env = { uiLanguage: "de-AT", torBrowser: false };
  const opens = (action, ...addresses) => ({ open: { action, addresses } });
  assert.deepEqual(plan("link", { linkUrl: "https://t.example/x", pageUrl: PAGE }, undefined, AUTO, HOTLINE, env),
    opens(HTTPS + "/de/prefill", "https://t.example/x"));
  const onionPage = "http://" + "c".repeat(56) + ".onion/";
  assert.deepEqual(plan("page", { pageUrl: onionPage }, undefined, AUTO, HOTLINE, env),
    opens(ONION + "/de/prefill", onionPage));
  const mine = { ...AUTO, base: "https", language: "en", https: "https://new.example" };
  assert.deepEqual(plan("page", { pageUrl: PAGE }, undefined, mine, HOTLINE, env),
    opens("https://new.example/en/prefill", PAGE));
  const otherOnion = "http://" + "d".repeat(56) + ".onion";
  assert.deepEqual(plan("page", { pageUrl: onionPage }, undefined, { ...AUTO, onion: otherOnion }, HOTLINE, env),
    opens(otherOnion + "/de/prefill", onionPage));
  const src = "https://cdn.example/p.jpg";
  assert.deepEqual(plan("image", { mediaType: "image", srcUrl: src, pageUrl: PAGE }, undefined, AUTO, HOTLINE, env),
    opens(HTTPS + "/de/prefill", src, PAGE));
  // The reported address is in the body only, never in the address the tab goes to.
  assert.ok(!plan("page", { pageUrl: PAGE }, undefined, AUTO, HOTLINE, env).open.action.includes("pages.example"));
  assert.deepEqual(plan("link", { linkUrl: "blob:x" }, undefined, AUTO, HOTLINE, env), { refusal: "content" });
  assert.deepEqual(plan("page", { pageUrl: PAGE }, undefined, AUTO, { defaultLanguage: "nl" }, env), {
    refusal: "no-base",
  });
});

test("the options page accepts only onion and https bases", () => {
  assert.equal(normaliseBase("onion", ONION.toUpperCase() + "/"), ONION);
  assert.equal(normaliseBase("onion", "http://short.onion"), "");
  assert.equal(normaliseBase("onion", HTTPS), "");
  assert.equal(normaliseBase("https", "HTTPS://Report.Hotline.example/"), HTTPS);
  for (const bad of ["http://report.hotline.example", "https://h.example/path", "https://u:p@h.example", "https://h.example:8443", "javascript:x"]) {
    assert.equal(normaliseBase("https", bad), "", bad);
  }
});
