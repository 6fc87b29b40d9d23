"""The notice-and-takedown letter in the hotline's four languages (string.Template, plain text).

$sender is the hotline, $provider the hosting provider as the analyst recorded it, $day the day
of writing, $reference the letter's reference and $reply_to the hotline's reply address (both
from crypto/case/letters.py), $count and $addresses the addresses, one a line, as text. French puts a non-breaking
space before : ; ? and !.
"""

from string import Template

LETTERS = {
    "en": Template("""\
From: $sender
To: $provider (abuse department)
Date: $day
Reference: $reference
Reply to: $reply_to
Subject: Notice and takedown: child sexual abuse material on your service

Dear Sir or Madam,

$sender is a member of INHOPE, the international network of hotlines against child sexual
abuse material. Our analysts have assessed the following $count address(es), hosted on your
service, as child sexual abuse material that is illegal:

$addresses

We ask you to remove this material without delay and to preserve any related data in case
the police request it. Please do not forward this material, and do not open the addresses
outside of your abuse handling procedure.

Please confirm the removal by writing to $reply_to, quoting reference $reference.

Kind regards,
$sender
"""),
    "nl": Template("""\
Van: $sender
Aan: $provider (abuse-afdeling)
Datum: $day
Kenmerk: $reference
Antwoord aan: $reply_to
Onderwerp: Notice and takedown: materiaal van seksueel misbruik van kinderen op uw dienst

Geachte heer, mevrouw,

$sender is lid van INHOPE, het internationale netwerk van meldpunten tegen materiaal van
seksueel misbruik van kinderen. Onze analisten hebben de volgende $count adres(sen), gehost op
uw dienst, beoordeeld als illegaal materiaal van seksueel misbruik van kinderen:

$addresses

Wij vragen u dit materiaal onverwijld te verwijderen en de bijbehorende gegevens te bewaren
voor het geval de politie erom vraagt. Stuur dit materiaal niet door en open de adressen niet
buiten uw procedure voor de behandeling van misbruikmeldingen.

Gelieve de verwijdering te bevestigen aan $reply_to, met vermelding van kenmerk $reference.

Met vriendelijke groet,
$sender
"""),
    "fr": Template("""\
De\u00a0: $sender
À\u00a0: $provider (service abuse)
Date\u00a0: $day
Référence\u00a0: $reference
Répondre à\u00a0: $reply_to
Objet\u00a0: Notification et retrait\u00a0: matériel d'abus sexuels sur enfants sur votre service

Madame, Monsieur,

$sender est membre d'INHOPE, le réseau international des points de signalement contre le
matériel d'abus sexuels sur enfants. Nos analystes ont évalué les $count adresse(s) suivante(s),
hébergée(s) sur votre service, comme du matériel d'abus sexuels sur enfants illégal\u00a0:

$addresses

Nous vous demandons de retirer ce matériel sans délai et de conserver les données qui s'y
rapportent au cas où la police les demanderait. Ne transférez pas ce matériel et n'ouvrez pas
les adresses en dehors de votre procédure de traitement des abus.

Merci de confirmer le retrait en écrivant à $reply_to, en rappelant la référence $reference.

Veuillez agréer, Madame, Monsieur, nos salutations distinguées.
$sender
"""),
    "de": Template("""\
Von: $sender
An: $provider (Abuse-Abteilung)
Datum: $day
Aktenzeichen: $reference
Antwort an: $reply_to
Betreff: Notice and Takedown: Darstellungen sexuellen Kindesmissbrauchs auf Ihrem Dienst

Sehr geehrte Damen und Herren,

$sender ist Mitglied von INHOPE, dem internationalen Netzwerk der Meldestellen gegen
Darstellungen sexuellen Kindesmissbrauchs. Unsere Analystinnen und Analysten haben die folgenden
$count Adresse(n), die auf Ihrem Dienst gehostet werden, als illegale Darstellungen sexuellen
Kindesmissbrauchs eingestuft:

$addresses

Wir bitten Sie, dieses Material unverzüglich zu entfernen und die zugehörigen Daten für eine
mögliche Anfrage der Polizei zu sichern. Bitte leiten Sie das Material nicht weiter und öffnen
Sie die Adressen nur im Rahmen Ihres Verfahrens zur Bearbeitung von Missbrauchsmeldungen.

Bitte bestätigen Sie die Entfernung an $reply_to unter Angabe des Aktenzeichens $reference.

Mit freundlichen Grüßen
$sender
"""),
}
