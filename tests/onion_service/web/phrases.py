"""What the web tests look for on the pages, in each language, as the catalogs translate it: kept in
one place, beside each other, rather than at the top of every test file."""

from __future__ import annotations

# test_web_app.py: one phrase per language from each kind of page.
SEND = {"nl": "Melding versturen", "fr": "Envoyer le signalement", "de": "Meldung absenden", "en": "Send report"}
THANKS = {"nl": "Bedankt voor uw melding", "fr": "Merci pour votre signalement",
          "de": "Vielen Dank für Ihre Meldung", "en": "Thank you for your report"}
NOT_FOUND = {"nl": "Pagina niet gevonden", "fr": "Page introuvable", "de": "Seite nicht gefunden",
             "en": "Page not found"}
NO_ADDRESS = {"nl": "Geef minstens één adres op.", "fr": "Veuillez indiquer au moins une adresse.",
              "de": "Bitte geben Sie mindestens eine Adresse an.", "en": "Please give at least one address."}

# test_web_leaks.py: reporter guidance.
ADDRESS_NOTE = {"nl": "Gedeelde links bevatten vaak codes", "fr": "Les liens partagés contiennent souvent des codes",
                "de": "Geteilte Links enthalten oft Codes", "en": "Shared links often carry codes"}
INVITATION_NOTE = {"nl": "Een uitnodigingslink die speciaal voor u", "fr": "Un lien d’invitation créé pour vous",
                   "de": "Ein Einladungslink, der für Sie persönlich", "en": "An invitation link that was made for you"}
EXIT_ADVICE = {"nl": "Nieuwe identiteit", "fr": "Nouvelle identité", "de": "Neue Identität", "en": "New Identity"}
TOR2WEB = {"nl": "Via deze verbinding bent u niet anoniem", "fr": "Sur cette connexion, vous n’êtes pas anonyme",
           "de": "Über diese Verbindung sind Sie nicht anonym", "en": "You are not anonymous on this connection"}

# test_web_status.py, the status page: what each language says for "forwarded" with the message
# "abroad", for the day, and when there is no status yet.
FORWARDED = {"nl": "Doorgegeven", "fr": "Transmis", "de": "Weitergeleitet", "en": "Passed on"}
ABROAD = {"nl": "meldpunt in dat land", "fr": "hotline de ce pays", "de": "Meldestelle in diesem Land",
          "en": "hotline in that country"}
DAY_TEXT = {"nl": "1 december 2026", "fr": "1 décembre 2026", "de": "1. Dezember 2026", "en": "December 1, 2026"}
NOT_YET = {"nl": "Nog geen status", "fr": "Pas encore de statut", "de": "Noch kein Status",
           "en": "No status for this code yet"}
