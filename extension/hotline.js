// The hotline this copy reports to. `meldpunt extension` writes this file from the hotline's
// configuration; in the source tree both addresses are empty, so every click asks for them.
export const HOTLINE = Object.freeze({
  onion: "",
  https: "",
  defaultLanguage: "en",
  // The languages the hotline's form offers, each named in itself, in its switcher's order.
  languages: [["en", "English"]],
});
