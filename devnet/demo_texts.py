"""The demo's own texts (its footer and emergency label), in each language it may be shown in.

The configuration's hotline texts are the hotline's to write, one per language; the demo writes
them like a hotline would, so that no page of the demo shows English to a reader of another
language. Only the installed languages are written (the configuration refuses others).
"""

from __future__ import annotations

import json

from onion_service import languages

CONTACT = {
    "en": "This is a demonstration on a private Tor network; reports go to a demo key.",
    "nl": "Dit is een demonstratie op een privé Tor-netwerk; meldingen gaan naar een demosleutel.",
    "fr": "Ceci est une démonstration sur un réseau Tor privé ; les signalements vont à une clé de démonstration.",
    "de": "Dies ist eine Vorführung in einem privaten Tor-Netz; Meldungen gehen an einen Vorführschlüssel.",
    "ar": "هذا عرض تجريبي على شبكة Tor خاصة؛ تُرسَل البلاغات إلى مفتاح تجريبي.",
    "es": "Esto es una demostración en una red Tor privada; las denuncias van a una clave de prueba.",
    "it": "Questa è una dimostrazione su una rete Tor privata; le segnalazioni vanno a una chiave di prova.",
    "pl": "To jest pokaz w prywatnej sieci Tor; zgłoszenia trafiają do klucza pokazowego.",
    "pt": "Isto é uma demonstração numa rede Tor privada; as denúncias vão para uma chave de teste.",
    "tr": "Bu, özel bir Tor ağında yapılan bir gösterimdir; ihbarlar bir deneme anahtarına gider.",
    "uk": "Це демонстрація в приватній мережі Tor; повідомлення надходять до демонстраційного ключа.",
    "ru": "Это демонстрация в частной сети Tor; сообщения уходят на демонстрационный ключ.",
    "sv": "Det här är en demonstration på ett privat Tor-nätverk; anmälningar går till en demonyckel.",
    "da": "Dette er en demonstration på et privat Tor-netværk; anmeldelser går til en demonøgle.",
    "cs": "Toto je ukázka v soukromé síti Tor; hlášení jdou na ukázkový klíč.",
    "ro": "Aceasta este o demonstrație într-o rețea Tor privată; sesizările ajung la o cheie de demonstrație.",
    "el": "Αυτή είναι μια επίδειξη σε ιδιωτικό δίκτυο Tor· οι καταγγελίες πηγαίνουν σε ένα κλειδί επίδειξης.",
    "hu": "Ez egy bemutató egy privát Tor-hálózaton; a bejelentések egy bemutató kulcshoz kerülnek.",
    "bg": "Това е демонстрация в частна мрежа Tor; сигналите отиват към демонстрационен ключ.",
    "hr": "Ovo je demonstracija na privatnoj Tor mreži; prijave idu na demonstracijski ključ.",
    "sk": "Toto je ukážka v súkromnej sieti Tor; hlásenia idú na ukážkový kľúč.",
    "sl": "To je predstavitev v zasebnem omrežju Tor; prijave gredo na predstavitveni ključ.",
    "fi": "Tämä on esittely yksityisessä Tor-verkossa; ilmoitukset menevät esittelyavaimelle.",
    "lt": "Tai demonstracija privačiame Tor tinkle; pranešimai keliauja į demonstracinį raktą.",
    "lv": "Šī ir demonstrācija privātā Tor tīklā; ziņojumi nonāk pie demonstrācijas atslēgas.",
    "et": "See on esitlus privaatses Tor-võrgus; teated lähevad esitlusvõtmele.",
    "mt": "Din hija dimostrazzjoni fuq netwerk Tor privat; ir-rapporti jmorru għand ċavetta ta' prova.",
    "ga": "Is taispeántas é seo ar líonra Tor príobháideach; téann tuairiscí chuig eochair taispeántais.",
}

EMERGENCY_LABEL = {
    "en": "European emergency number",
    "nl": "Europees noodnummer",
    "fr": "Numéro d'urgence européen",
    "de": "Europäischer Notruf",
    "ar": "رقم الطوارئ الأوروبي",
    "es": "Número europeo de emergencias",
    "it": "Numero di emergenza europeo",
    "pl": "Europejski numer alarmowy",
    "pt": "Número europeu de emergência",
    "tr": "Avrupa acil durum numarası",
    "uk": "Європейський номер екстреної допомоги",
    "ru": "Единый европейский номер экстренных служб",
    "sv": "Europeiskt larmnummer",
    "da": "Europæisk alarmnummer",
    "cs": "Evropské číslo tísňového volání",
    "ro": "Numărul european de urgență",
    "el": "Ευρωπαϊκός αριθμός έκτακτης ανάγκης",
    "hu": "Európai segélyhívó szám",
    "bg": "Европейски номер за спешни повиквания",
    "hr": "Europski broj za hitne slučajeve",
    "sk": "Európske číslo tiesňového volania",
    "sl": "Evropska številka za klic v sili",
    "fi": "Yleinen eurooppalainen hätänumero",
    "lt": "Bendrasis Europos pagalbos telefono numeris",
    "lv": "Eiropas ārkārtas palīdzības numurs",
    "et": "Euroopa hädaabinumber",
    "mt": "In-numru Ewropew tal-emerġenza",
    "ga": "Uimhir éigeandála na hEorpa",
}


def toml_table(texts: dict[str, str]) -> str:
    """An inline TOML table of the texts in installed languages (JSON strings are TOML strings)."""
    installed = languages.installed()
    return (
        "{ "
        + ", ".join(
            f"{tag} = {json.dumps(text, ensure_ascii=False)}" for tag, text in sorted(texts.items()) if tag in installed
        )
        + " }"
    )
