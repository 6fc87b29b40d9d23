// The extension's own page in the tab a click opened: it takes the addresses the background left
// for it and posts them to the form (<base>/<lang>/prefill), so that they travel in a request body
// and are in no URL the browser keeps. Its own address holds only a random key.
import { api, translate } from "./pages.js";
import { PREFILL_PREFIX } from "./settings.js";

translate();
const key = PREFILL_PREFIX + location.hash.slice(1);
const open = (await api.storage.session.get(key))[key];
// Taken once: a reload or a restored tab finds nothing and says so.
await api.storage.session.remove(key);
if (open) {
  const form = document.createElement("form");
  form.method = "post";
  form.action = open.action;
  form.enctype = "application/x-www-form-urlencoded";
  form.acceptCharset = "UTF-8";
  for (const address of open.addresses) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = "url";
    input.value = address;
    form.append(input);
  }
  document.body.append(form);
  form.submit();
} else {
  document.getElementById("message").textContent = api.i18n.getMessage("prefillGone");
}
