// The options page: which address the form is opened at, and in which language.
import { HOTLINE } from "./hotline.js";
import { api, translate } from "./pages.js";
import { normaliseBase } from "./report.js";
import { loadSettings, saveSettings } from "./settings.js";

const form = document.getElementById("options");
const status = document.getElementById("status");

translate();
// The hotline's languages, each named in itself (hotline.js, from the server's configuration).
for (const [tag, name] of HOTLINE.languages) {
  const option = document.createElement("option");
  option.value = tag;
  option.lang = tag;
  option.textContent = name;
  form.elements.language.append(option);
}
document.getElementById("onion").placeholder = HOTLINE.onion;
document.getElementById("https").placeholder = HOTLINE.https;

const settings = await loadSettings();
form.elements.base.value = settings.base;
form.elements.language.value = settings.language;
form.elements.onion.value = settings.onion;
form.elements.https.value = settings.https;

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const chosen = {
    base: form.elements.base.value || "auto",
    language: form.elements.language.value,
    onion: "",
    https: "",
  };
  // An empty field means the hotline's own address; anything else must be a valid one.
  for (const kind of ["onion", "https"]) {
    const text = form.elements[kind].value.trim();
    chosen[kind] = text ? normaliseBase(kind, text) : "";
    if (text && !chosen[kind]) {
      status.className = "error";
      status.textContent = api.i18n.getMessage(kind === "onion" ? "optionsBadOnion" : "optionsBadHttps");
      form.elements[kind].focus();
      return;
    }
  }
  await saveSettings(chosen);
  status.className = "";
  status.textContent = api.i18n.getMessage("optionsSaved");
});
