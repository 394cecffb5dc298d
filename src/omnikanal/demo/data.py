"""The demo retailer's fixed data: stores with opening hours, a catalogue with valid GTINs and
colour variants, and the names and places customers are made from."""

from __future__ import annotations

from typing import Any

from omnikanal.commerce.gtin import check_digit

HOURS: dict[str, list[list[str]]] = {
    **{day: [["08:00", "20:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    "sat": [["08:00", "18:00"]],
}

# (id, name, city, postal code, street, latitude, longitude)
STORES: tuple[tuple[str, str, str, str, str, float, float], ...] = (
    ("berlin-mitte", "Werkhaus Berlin-Mitte", "Berlin", "10178", "Alexanderstraße 7", 52.5219, 13.4132),
    ("berlin-spandau", "Werkhaus Berlin-Spandau", "Berlin", "13597", "Klosterstraße 12", 52.5366, 13.2000),
    (
        "hamburg-altona",
        "Werkhaus Hamburg-Altona",
        "Hamburg",
        "22765",
        "Große Bergstraße 160",
        53.5503,
        9.9350,
    ),
    (
        "muenchen-pasing",
        "Werkhaus München-Pasing",
        "München",
        "81241",
        "Landsberger Straße 500",
        48.1500,
        11.4600,
    ),
    ("koeln-ehrenfeld", "Werkhaus Köln-Ehrenfeld", "Köln", "50823", "Venloer Straße 300", 50.9500, 6.9170),
    ("leipzig-nord", "Werkhaus Leipzig-Nord", "Leipzig", "04129", "Delitzscher Straße 80", 51.3700, 12.3900),
)
WAREHOUSE = ("lager-kassel", "Zentrallager Kassel", 51.3127, 9.4797)

# (product id, German name, English name, brand, category, price in cents, colours)
PRODUCTS: tuple[tuple[str, str, str, str, str, int, tuple[str, ...]], ...] = (
    (
        "AKKU-BOHRSCHRAUBER-18V",
        "Akku-Bohrschrauber 18 V",
        "Cordless drill 18 V",
        "Bosch",
        "Werkzeug",
        12990,
        ("grün", "blau"),
    ),
    (
        "SCHLAGBOHRMASCHINE-750",
        "Schlagbohrmaschine 750 W",
        "Impact drill 750 W",
        "Makita",
        "Werkzeug",
        8990,
        ("türkis",),
    ),
    ("STICHSAEGE-PST", "Stichsäge 650 W", "Jigsaw 650 W", "Bosch", "Werkzeug", 7490, ("grün",)),
    (
        "WINKELSCHLEIFER-125",
        "Winkelschleifer 125 mm",
        "Angle grinder 125 mm",
        "Metabo",
        "Werkzeug",
        6990,
        ("grün", "schwarz"),
    ),
    (
        "HAMMER-500",
        "Schlosserhammer 500 g",
        "Engineer's hammer 500 g",
        "Stanley",
        "Werkzeug",
        1490,
        ("gelb", "schwarz"),
    ),
    (
        "SCHRAUBENDREHER-SET",
        "Schraubendreher-Set 6-teilig",
        "Screwdriver set, 6 pieces",
        "Wera",
        "Werkzeug",
        2490,
        ("schwarz-grün",),
    ),
    (
        "WASSERWAAGE-60",
        "Wasserwaage 60 cm",
        "Spirit level 60 cm",
        "Stabila",
        "Werkzeug",
        2990,
        ("gelb", "rot"),
    ),
    (
        "WANDFARBE-WEISS-10L",
        "Wandfarbe 10 l",
        "Wall paint 10 l",
        "Alpina",
        "Farbe",
        4490,
        ("weiß", "altweiß", "grau"),
    ),
    (
        "LACK-SEIDENMATT-750",
        "Buntlack seidenmatt 750 ml",
        "Satin paint 750 ml",
        "Schöner Wohnen",
        "Farbe",
        1890,
        ("rot", "blau", "grün", "anthrazit"),
    ),
    ("FARBROLLE-SET", "Farbrollen-Set", "Paint roller set", "Wagner", "Farbe", 1290, ("blau",)),
    (
        "RASENMAEHER-AKKU",
        "Akku-Rasenmäher 36 V",
        "Cordless lawn mower 36 V",
        "Gardena",
        "Garten",
        34900,
        ("grün",),
    ),
    (
        "GARTENSCHLAUCH-20M",
        "Gartenschlauch 20 m",
        "Garden hose 20 m",
        "Gardena",
        "Garten",
        3990,
        ("grün", "grau"),
    ),
    (
        "HOCHBEET-HOLZ",
        "Hochbeet aus Holz",
        "Wooden raised bed",
        "Werkhaus",
        "Garten",
        8990,
        ("natur", "grau"),
    ),
    ("BLUMENERDE-40L", "Blumenerde 40 l", "Potting soil 40 l", "Compo", "Garten", 799, ("braun",)),
    ("HECKENSCHERE-AKKU", "Akku-Heckenschere", "Cordless hedge trimmer", "Bosch", "Garten", 11990, ("grün",)),
    (
        "WASCHTISCH-ARMATUR",
        "Waschtischarmatur",
        "Basin mixer tap",
        "Grohe",
        "Sanitär",
        8990,
        ("chrom", "schwarz"),
    ),
    ("DUSCHKOPF-EINHAND", "Handbrause", "Hand shower", "Hansgrohe", "Sanitär", 3490, ("chrom", "weiß")),
    (
        "SILIKON-SANITAER",
        "Sanitär-Silikon 310 ml",
        "Sanitary silicone 310 ml",
        "Ottoseal",
        "Sanitär",
        890,
        ("weiß", "transparent", "grau"),
    ),
    (
        "LED-LAMPE-E27",
        "LED-Lampe E27 806 lm",
        "LED bulb E27 806 lm",
        "Osram",
        "Elektro",
        499,
        ("warmweiß", "neutralweiß"),
    ),
    (
        "VERLAENGERUNG-10M",
        "Verlängerungskabel 10 m",
        "Extension cable 10 m",
        "Brennenstuhl",
        "Elektro",
        1790,
        ("schwarz", "weiß"),
    ),
    (
        "LAMINAT-EICHE",
        "Laminat Eiche, Paket 2,2 m²",
        "Oak laminate, pack of 2.2 m²",
        "Kronotex",
        "Boden",
        2790,
        ("hell", "natur", "dunkel"),
    ),
    ("FLIESENKLEBER-25KG", "Fliesenkleber 25 kg", "Tile adhesive 25 kg", "PCI", "Boden", 2190, ("grau",)),
    (
        "REGAL-METALL",
        "Schwerlastregal 180 cm",
        "Heavy-duty shelf 180 cm",
        "Werkhaus",
        "Aufbewahrung",
        5990,
        ("verzinkt", "blau"),
    ),
    (
        "WERKZEUGKOFFER",
        "Werkzeugkoffer 95-teilig",
        "Tool case, 95 pieces",
        "Einhell",
        "Werkzeug",
        4990,
        ("rot",),
    ),
)

FIRST_NAMES: tuple[str, ...] = (
    "Anna",
    "Lena",
    "Marie",
    "Sophie",
    "Laura",
    "Julia",
    "Hannah",
    "Lea",
    "Sarah",
    "Katharina",
    "Eva",
    "Petra",
    "Sabine",
    "Monika",
    "Claudia",
    "Andrea",
    "Stefanie",
    "Nicole",
    "Jana",
    "Miriam",
    "Lukas",
    "Jonas",
    "Leon",
    "Felix",
    "Paul",
    "Maximilian",
    "Tim",
    "Jan",
    "Niklas",
    "Thomas",
    "Michael",
    "Andreas",
    "Stefan",
    "Markus",
    "Christian",
    "Frank",
    "Jürgen",
    "Klaus",
    "Uwe",
    "Matthias",
    "Sebastian",
    "Tobias",
    "Florian",
    "Björn",
    "Özlem",
    "Mehmet",
    "Ayşe",
    "Jörg",
)
LAST_NAMES: tuple[str, ...] = (
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krüger",
    "Hofmann",
    "Hartmann",
    "Lange",
    "Schmitt",
    "Werner",
    "Schmitz",
    "Krause",
    "Meier",
    "Lehmann",
    "Köhler",
    "Herrmann",
    "König",
    "Walter",
    "Mayer",
    "Huber",
    "Kaiser",
    "Fuchs",
    "Peters",
    "Yılmaz",
    "Kaya",
    "Nowak",
    "Vogel",
    "Friedrich",
    "Keller",
    "Günther",
    "Frank",
)
EMAIL_DOMAINS: tuple[str, ...] = ("web.de", "gmx.de", "t-online.de", "gmail.com", "posteo.de", "mail.de")


def gtin13(n: int) -> str:
    """A valid EAN-13 in the demo's own GS1 company prefix range."""
    body = f"426000{n:06d}"
    return body + str(check_digit(body))


def catalogue() -> list[dict[str, Any]]:
    """Products for PUT /api/commerce/products/{id}: variants per colour, prices per channel."""
    products: list[dict[str, Any]] = []
    number = 1
    for product_id, de, en, brand, category, cents, colours in PRODUCTS:
        variants = []
        for colour in colours:
            variants.append(
                {
                    "sku": f"{product_id}-{slug(colour)}",
                    "gtin": gtin13(number),
                    "colour": colour,
                    "prices": [
                        {"channel": "web", "amount_cents": cents, "currency": "EUR"},
                        {"channel": "app", "amount_cents": cents, "currency": "EUR"},
                        {
                            "channel": "store",
                            "amount_cents": cents + (100 if cents > 2000 else 0),
                            "currency": "EUR",
                        },
                    ],
                }
            )
            number += 1
        products.append(
            {
                "id": product_id,
                "names": {"de": de, "en": en},
                "brand": brand,
                "attributes": {"category": category},
                "variants": variants,
            }
        )
    return products


def locations() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [
        {
            "id": store_id,
            "kind": "store",
            "name": name,
            "address": {"street": street, "postal_code": postal, "city": city, "country": "DE"},
            "latitude": lat,
            "longitude": lon,
            "timezone": "Europe/Berlin",
            "opening_hours": HOURS,
            "services": ["click_and_collect", "reservations", "returns"],
        }
        for store_id, name, city, postal, street, lat, lon in STORES
    ]
    wid, wname, wlat, wlon = WAREHOUSE
    found.append({"id": wid, "kind": "warehouse", "name": wname, "latitude": wlat, "longitude": wlon})
    return found


def slug(text: str) -> str:
    table = str.maketrans(
        {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ı": "i", "ş": "s", "ğ": "g", "é": "e"}
    )
    return "".join(c if c.isalnum() else "-" for c in text.lower().translate(table)).strip("-").upper()


def ascii_name(text: str) -> str:
    return slug(text).lower()
