"""The pools the generator of German person records draws from, shaped like real ones. No I/O.

No list is copied from a dataset: the head of each pool holds common German names, the tail is built
from name parts, and the weights follow a power law fitted to a few public figures. Müller, the
commonest German surname, is borne by about 0.3 % of the population (some 250,000 entries of 83
million; see https://de.wikipedia.org/wiki/Liste_der_h%C3%A4ufigsten_Familiennamen_in_Deutschland,
from telephone directory counts); here it gets about 0.4 %, Schmidt 0.27 %, the 100th name 0.03 %,
over some 40,000 surnames (Germany has several hundred thousand). The commonest first names reach
1 to 2 %; Germany has about 8,200 postcodes, spread over the cities by their size.
"""

from __future__ import annotations

import random
from itertools import accumulate


def _words(text: str, separator: str | None = None) -> list[str]:
    return text.split(separator)


SURNAME_HEAD = _words("""
Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer
Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange Schmitt
Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König Walter Mayer Huber
Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Schubert Vogel Friedrich Keller Günther Frank
Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht Schuster Simon Ludwig Böhm Winter Kraus
Martin Schumacher Krämer Vogt Stein Jäger Otto Sommer Groß Seidel Heinrich Brandt Haas Schreiber
Graf Schulte Dietrich Ziegler Kuhn Kühn Pohl Engel Horn Busch Bergmann Voigt Sauer Arnold Wolff
Pfeiffer Yılmaz Kaya Nowak Kowalski Popescu Nguyen Rossi Öztürk
""")
_FIRST_PARTS = _words("""
Alten Birken Eichen Rosen Linden Hoch Wald Berg Stein Kirch Mühl Brunn Hof Feld Bach Holz Wies
Sonnen Bruck Dorn Esch Falken Fried Gold Grün Hagen Hasel Heide Herz Kalten Kreuz Lauten Lichten
Loh Mittel Neu Ober Quell Ried Roden Sand Schön Seel Silber Steg Stock Tannen Teich Unter Wasser
Weiden Weis Wester Winter Zoll Acker Adler Asch Bären Blum Brand Busch Eck Ehren Erlen Fels Fuchs
Garten Glas Hain Hart Hassel Hell Hirsch Horn Kamp Kessel Klee Knapp Kolb Korn Lahn Lamp Lieb
Marien Moor Nord Oster Pfaff Rein Rot Schaf Schwan Sieg Sommer Süd Thal Vogel Weide Wolfs Zieg
Ahlen Bieder Blanken Bocks Breiten Buchen Dammer Diepen Dreier Eisen Enge Espen Finster Flach
Frohn Gersten Grafen Greven Haber Hammer Helm Hinter Höllen Huber Isen Kappel Katzen Klingen Kloster
Kohl Kranich Kupfer Langen Lerchen Lilien Lohr Marx Meer Mertens Möhren Nessel Nieder Oden Otten
Pappel Reichen Riesen Rittner Rosen Ruhr Salz Schloss Schmal Schwarzen Spitz Stern Stillen Storch
Tiefen Ulmen Vor Wacker Walden Weiler Wendt Wilden Wind Wolken Zwiebel
""")
_SECOND_PARTS = _words("""
berg bach mann feld hoff hausen meier ner inger brink kamp stedt reuther huber bauer schmidt wald
born horst heim beck dorf hagen haus mayer rath rieder schläger steiner thaler wieser ecker bichler
graber hofer leitner moser müller lechner winkler kötter brock kemper thal grund kirchner lander
bacher berger felder dörfer häuser huber mair meister reiter rieder schmied stätter weber wirth
zeller baum busch hain mühle loh kötter winkel bruch hofen heimer stetter
""")
_STEMS = _words("""
Acker Brand Ditt Eber Gott Hein Kunz Lutz Sieg Wend Ull Rein Diet Ger Gerl Hans Hen Kon Nick Ruh
Seif Stroh Thiel Wilk Zell Bart Bern Frei Gebh Hart Jahn Kirn Lind Mark Ober Pfisterl Rapp Reut
Riedl Schanz Schirm Specht Stark Strauß Tresch Wachs Weig Wern Wirth Zeh Ack Bren Drech Feil Glas
Haub Hub Kess Kling Kopp Kroll Lamm Metz Nagl Pütz Renn Sattl Schlo Schott Seil Stahl Tisch Wagn
Alb Bau Dreh Eng Fisch Gieß Hack Jost Kamm Leh Mahl Nolt Ost Probst Rieg Scheu Tren Utz Vol Wald
""")
_SUFFIXES = _words("""
er mann ing s ke el le l ler ert ig inger hardt wig rich bold old ner lein ling sch e en ke ecke
""")
_FOREIGN_STEMS = _words("""
Nowa Kowal Wiśniew Wójci Kamiń Lewan Zieliń Szyman Woźniak Dąbrow Kozł Jankow Mazur Krawczy
Petrov Ivanov Smirnov Popov Volkov Kuznetsov Sokolov Morozov Lebedev Kozlov Novikov
""")
_FOREIGN_SUFFIXES = ("ski", "ska", "czyk", "ewicz", "a", "")
_TURKISH = _words("""
Yılmaz Kaya Demir Şahin Çelik Yıldız Yıldırım Öztürk Aydın Özdemir Arslan Doğan Kılıç Aslan
Çetin Kara Koç Kurt Özkan Şimşek Polat Korkmaz Erdoğan Güler Ünal Tekin Acar Bulut
""")

FEMALE_HEAD = _words("""
Maria Sophie Anna Emma Marie Mia Hannah Ursula Monika Petra Elisabeth Sabine Renate Helga Karin
Brigitte Ingrid Erika Andrea Gisela Claudia Susanne Gabriele Christa Christine Hildegard Birgit
Julia Stefanie Nicole Katharina Jutta Sandra Barbara Heike Lea Laura Lena Jana Jessica Emilia
Lina Clara Ella Leonie Lara Johanna Amelie Charlotte Luisa Paula Greta Frieda Mila Ida Nele Lisa
Sarah Anja Silke Tanja Kerstin Melanie Daniela Martina Manuela Nadine Simone Katrin Britta Doris
Elke Ilse Irmgard Waltraud Margarete Gertrud Edith Hannelore Inge Rosemarie Marianne Bärbel Ute
Angelika Anke Carina Christina Franziska Janina Kathrin Laura Lisa-Marie Maike Miriam Natalie
Pia Ronja Svenja Theresa Vanessa Yvonne Zoe Alina Antonia Carla Elena Emily Hanna Helena Isabell
Jasmin Jule Klara Lotta Magdalena Marlene Mathilda Melina Merle Nina Romy Selina Sina Tamara
Valentina Viktoria Elif Zeynep Ayşe Fatma Emine Olga Natalia Agnieszka Katarzyna Giulia
""")
MALE_HEAD = _words("""
Peter Michael Thomas Andreas Wolfgang Klaus Jürgen Günter Stefan Christian Uwe Werner Horst Frank
Dieter Manfred Gerhard Hans Bernd Torsten Matthias Markus Martin Heinz Helmut Jan Ralf Sven
Alexander Lukas Leon Finn Jonas Paul Felix Maximilian Tobias Sebastian Noah Elias Ben Luca Emil
Louis Henry Theo Anton Jakob Moritz Julian Niklas David Florian Philipp Daniel Dennis Marcel
Patrick Kevin Dominik Fabian Benjamin Simon Johannes Oliver Jens Dirk Holger Olaf Rainer Jörg
Volker Harald Rolf Norbert Joachim Walter Herbert Karl Kurt Erich Otto Fritz Ernst Rudolf Willi
Siegfried Günther Reinhard Detlef Lothar Hartmut Achim Axel Bernhard Carsten Christoph Georg
Gregor Hendrik Ingo Kai Lars Malte Mario Marco Nils Ole Oskar Pascal Rene Robin Sascha Timo Tim
Tom Till Vincent Arne Bastian Benedikt Björn Erik Henrik Jannik Jonathan Konstantin Leo Linus
Mats Mika Milan Nico Samuel Valentin Mehmet Mustafa Ahmet Ali Hüseyin Piotr Tomasz Dmitri Sergej
Luca Marco Giuseppe Ivan
""")
_FEMALE_FIRST_PARTS = _words("Anna Lisa Marie Eva Rosa Lena Lea Ann Hanna Sophie Ella")
_FEMALE_SECOND_PARTS = _words("Maria Marie Lena Sophie Katharina Luisa Christin Theresa Sofie")
_MALE_FIRST_PARTS = _words("Hans Karl Klaus Jan Paul Lukas Heinz Ernst Peter Jens Ole")
_MALE_SECOND_PARTS = _words("Peter Heinz Dieter Jürgen Georg Werner Joachim Hendrik Martin")

# (city, region prefix, weight ~ population in tens of thousands); the postcodes of a city are
# drawn from its region, about one per 10,000 people.
_CITY_TEXT = """
Berlin:1:370, Hamburg:2:185, München:8:150, Köln:5:108, Frankfurt am Main:6:77, Stuttgart:7:63,
Düsseldorf:4:62, Leipzig:04:60, Dortmund:44:59, Essen:45:58, Bremen:28:57, Dresden:01:56,
Hannover:30:54, Nürnberg:90:52, Duisburg:47:50, Bochum:44:36, Wuppertal:42:35, Bielefeld:33:33,
Bonn:53:33, Münster:48:32, Mannheim:68:31, Karlsruhe:76:31, Augsburg:86:30, Wiesbaden:65:28,
Mönchengladbach:41:26, Gelsenkirchen:45:26, Aachen:52:25, Braunschweig:38:25, Kiel:24:25,
Chemnitz:09:24, Halle (Saale):06:24, Magdeburg:39:24, Freiburg im Breisgau:79:23, Krefeld:47:23,
Mainz:55:22, Lübeck:23:22, Erfurt:99:21, Oberhausen:46:21, Rostock:18:21, Kassel:34:20,
Hagen:58:19, Potsdam:14:18, Saarbrücken:66:18, Hamm:59:18, Ludwigshafen:67:17, Oldenburg:26:17,
Osnabrück:49:17, Leverkusen:51:16, Heidelberg:69:16, Darmstadt:64:16, Solingen:42:16,
Regensburg:93:15, Paderborn:33:15, Ingolstadt:85:14, Würzburg:97:13, Ulm:89:13, Wolfsburg:38:13,
Göttingen:37:12, Pforzheim:75:12, Bottrop:46:12, Trier:54:11, Jena:07:11, Cottbus:03:10,
Schwerin:19:10, Flensburg:24:9, Konstanz:78:9
"""
CITY_SIZES = tuple(
    (city, prefix, int(size))
    for city, prefix, size in (item.strip().split(":") for item in _words(_CITY_TEXT, ","))
)
_STREET_NAMES = _words("""
Haupt Schul Garten Bahnhof Dorf Berg Linden Kirch Wald Ring Schiller Goethe Jahn Rosen Tal
Friedrich Birken Mühlen Buchen Eichen Wiesen Feld Bach Sonnen Blumen Amsel Lessing Mozart Beethoven
Heine Uhland Körner Kant Luther Bismarck Hindenburg Post Markt Burg Brunnen Tannen Ahorn Erlen
Fichten Kiefern Kastanien Akazien Flieder Tulpen Nelken Lerchen Finken Meisen Drossel Tauben
Industrie Gewerbe Kanal Hafen Mittel Ober Unter Neue Alte Lange Kurze Breite Hohe Schützen
""")
_STREET_KINDS = ("straße",) * 6 + ("weg", "weg", "allee", "ring", "gasse", "platz")
STREETS = [f"{n}{k}" for n in _STREET_NAMES for k in _STREET_KINDS[:: 1 + len(n) % 4]] + [
    "Am Markt",
    "Marktplatz",
    "Im Winkel",
    "An der Kirche",
]


def _power_law(count: int, exponent: float) -> list[float]:
    """Cumulative weights of ranks 1..count falling as rank ** -exponent."""
    return list(accumulate(1.0 / (rank + 1) ** exponent for rank in range(count)))


def _unique(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _surname_tail(rng: random.Random) -> list[str]:
    compounds = [a + b for a in _FIRST_PARTS for b in _SECOND_PARTS if a.lower()[-2:] != b[:2]]
    compounds += [c + "er" for c in compounds if c[-1] in "gdhfm" and len(c) < 13]
    derived = [s + x for s in _STEMS for x in _SUFFIXES + _SECOND_PARTS]
    foreign = [s + x for s in _FOREIGN_STEMS for x in _FOREIGN_SUFFIXES] + _TURKISH
    tail = _unique([n for n in compounds + derived + foreign if n not in SURNAME_HEAD])
    rng.shuffle(tail)  # no part dominates the tail's head
    return tail


def _first_names(rng: random.Random, head: list[str], parts: tuple[list[str], list[str]]) -> list[str]:
    doubles = [f"{a}-{b}" for a in parts[0] for b in parts[1] if a != b]
    rng.shuffle(doubles)
    return _unique(head + doubles)


_rng = random.Random(1871)  # fixed: the pools are the same for every seed of the generator
SURNAMES = _unique(SURNAME_HEAD + _surname_tail(_rng))
SURNAME_CUMULATIVE = _power_law(len(SURNAMES), 0.52)
FEMALE = _first_names(_rng, _unique(FEMALE_HEAD), (_FEMALE_FIRST_PARTS, _FEMALE_SECOND_PARTS))
MALE = _first_names(_rng, _unique(MALE_HEAD), (_MALE_FIRST_PARTS, _MALE_SECOND_PARTS))
FEMALE_CUMULATIVE = _power_law(len(FEMALE), 0.35)
MALE_CUMULATIVE = _power_law(len(MALE), 0.35)


def _postcodes(rng: random.Random) -> list[tuple[str, str]]:
    taken: set[str] = set()
    codes: list[tuple[str, str]] = []
    for city, prefix, size in CITY_SIZES:
        wanted, free = max(3, size * 3), 10 ** (5 - len(prefix))
        while wanted and len(taken) < 99_000:
            code = prefix + str(rng.randrange(free)).zfill(5 - len(prefix))
            if code not in taken and code[:2] != "00":
                taken.add(code)
                codes.append((city, code))
                wanted -= 1
    return codes


POSTCODES = _postcodes(_rng)  # (city, postcode), weighted by the size of the city's population
_CITY_WEIGHT = {city: size for city, _, size in CITY_SIZES}
_CODES_PER_CITY = {city: sum(1 for c, _ in POSTCODES if c == city) for city, _, _ in CITY_SIZES}
POSTCODE_CUMULATIVE = list(accumulate(_CITY_WEIGHT[c] / _CODES_PER_CITY[c] for c, _ in POSTCODES))


def surname(rng: random.Random) -> str:
    return rng.choices(SURNAMES, cum_weights=SURNAME_CUMULATIVE)[0]


def first_name(rng: random.Random, female: bool) -> str:
    if female:
        return rng.choices(FEMALE, cum_weights=FEMALE_CUMULATIVE)[0]
    return rng.choices(MALE, cum_weights=MALE_CUMULATIVE)[0]


def place(rng: random.Random) -> tuple[str, str]:
    """A (city, postcode), a big city's more often."""
    return rng.choices(POSTCODES, cum_weights=POSTCODE_CUMULATIVE)[0]
