"""Static tables of the synthetic demo population, used by ``directory.demo_data``.

Per country (`_Country`): given names, surnames, cities with their postcode and
landline patterns, mobile patterns, streets, mail domains and IP blocks. Per
language: nicknames, the texts of tickets, tweets and calls, billing codes,
occupations, business and family mailbox names; and the departments of the
telco and what their employees write about.

Invariants:

- Pure data built once at import; nothing here draws a random number.
- Tables are tuples and insertion-ordered dicts, never sets: the generator
  picks from them with its seeded random source, so their order is part of the
  output, and reordering a table changes the population.
- Names keep their leading underscore: they are internals of the demo
  generator, not API.
"""

from __future__ import annotations

from dataclasses import dataclass


def _w(words: str) -> tuple[str, ...]:
    return tuple(words.split())


@dataclass(frozen=True, slots=True)
class _Country:
    code: str
    language: str
    male: tuple[str, ...]
    female: tuple[str, ...]
    surnames: tuple[str, ...]
    compound: float  # share of people written with two surnames
    # city, postcode pattern, landline pattern ("#" is a random digit); the capital first
    cities: tuple[tuple[str, str, str], ...]
    mobiles: tuple[str, ...]  # mobile phone patterns; empty: the city's patterns serve both
    mobile_share: float
    streets: tuple[str, ...]
    domains: tuple[str, ...]  # gmail twice: it is the most common provider everywhere
    ip4: tuple[str, ...]
    ip6: str
    tld: str


_AR = _Country(
    "AR", "es",
    _w("Carlos Juan Martín Diego Facundo Santiago Matías Nicolás Pablo Sebastián Gustavo Hernán "
       "Federico Lucas Ezequiel Julián Tomás Agustín Francisco José Ignacio"),
    _w("María Florencia Camila Lucía Valentina Sofía Agustina Paula Carolina Gabriela Julieta "
       "Micaela Romina Natalia Silvina Mariana Luciana"),
    _w("González Rodríguez Gómez Fernández López Díaz Martínez Pérez García Sánchez Romero Sosa "
       "Álvarez Torres Ruiz Ramírez Flores Benítez Acosta Medina Herrera Aguirre Giménez Rossi "
       "Russo Ferrari Bianchi Romano Colombo Greco Esposito Ricci Marino Costa Fontana Moretti"),
    0.1,
    (("Buenos Aires", "C14##", "+54 11 4###-####"), ("Córdoba", "X50##", "+54 351 4##-####"),
     ("Rosario", "S20##", "+54 341 4##-####"), ("Mendoza", "M55##", "+54 261 4##-####"),
     ("La Plata", "B19##", "+54 221 4##-####"), ("Mar del Plata", "B76##", "+54 223 4##-####")),
    ("+54 9 11 5###-####", "+54 9 11 6###-####", "+54 9 11 3###-####"), 0.5,
    ("Av. Corrientes {n}", "Av. Santa Fe {n}", "Av. Rivadavia {n}", "Av. Cabildo {n}",
     "San Martín {n}", "Belgrano {n}"),
    _w("gmail.com gmail.com hotmail.com yahoo.com.ar fibertel.com.ar speedy.com.ar"),
    ("181.", "190."), "2800:810:", ".com.ar",
)  # fmt: skip
_ES = _Country(
    "ES", "es",
    _w("José Antonio Manuel Francisco Javier David Daniel Carlos Jesús Alejandro Miguel Rafael "
       "Pedro Pablo Sergio Fernando Jorge Alberto Luis Álvaro Iñaki Jordi Ignacio"),
    _w("María Carmen Ana Isabel Laura Cristina Marta Lucía Elena Pilar Rosa Raquel Paula Sara "
       "Nuria Montserrat Begoña Inmaculada"),
    _w("García Fernández González Rodríguez López Martínez Sánchez Pérez Gómez Martín Jiménez "
       "Ruiz Hernández Díaz Moreno Muñoz Álvarez Romero Alonso Gutiérrez Navarro Torres Domínguez "
       "Vázquez Ramos Gil Serrano Blanco Molina Morales Suárez Ortega Delgado Castro Ortiz Rubio "
       "Marín Sanz Iglesias Núñez Garrido Cortés Castillo Lozano Guerrero Prieto Méndez Ibáñez"),
    0.9,
    (("Madrid", "280##", "+34 91 ### ## ##"), ("Barcelona", "080##", "+34 93 ### ## ##"),
     ("Valencia", "460##", "+34 96 ### ## ##"), ("Sevilla", "410##", "+34 954 ## ## ##"),
     ("Bilbao", "480##", "+34 944 ## ## ##"), ("Zaragoza", "500##", "+34 976 ## ## ##"),
     ("Málaga", "290##", "+34 952 ## ## ##")),
    ("+34 6## ### ###",), 0.7,
    ("Calle Mayor, {n}", "Gran Vía, {n}", "Calle de Alcalá, {n}", "Paseo de Gracia, {n}",
     "Avenida de la Constitución, {n}", "Calle Real, {n}"),
    _w("gmail.com gmail.com hotmail.es yahoo.es telefonica.net movistar.es"),
    ("83.", "88."), "2a0c:5a80:", ".es",
)  # fmt: skip
_FR = _Country(
    "FR", "fr",
    _w("Jean Pierre Jean-Pierre Michel Philippe Alain Nicolas Christophe Laurent Julien Thomas "
       "Sébastien Olivier François Mathieu Antoine Guillaume Éric Stéphane Benoît"),
    _w("Marie Nathalie Isabelle Sylvie Catherine Sophie Céline Julie Camille Aurélie Émilie "
       "Claire Hélène Valérie Chloé Léa Manon Margaux"),
    _w("Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent "
       "Lefèvre Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard André Mercier "
       "Dupont Lambert Bonnet Legrand Garnier Faure Rousseau Blanc Guérin Muller Perrin Clément"),
    0.02,
    (("Paris", "750##", "+33 1 4# ## ## ##"), ("Lyon", "6900#", "+33 4 72 ## ## ##"),
     ("Marseille", "130##", "+33 4 91 ## ## ##"), ("Toulouse", "310##", "+33 5 61 ## ## ##"),
     ("Lille", "590##", "+33 3 20 ## ## ##"), ("Bordeaux", "330##", "+33 5 56 ## ## ##"),
     ("Nantes", "440##", "+33 2 40 ## ## ##")),
    ("+33 6 1# ## ## ##", "+33 6 7# ## ## ##", "+33 7 8# ## ## ##"), 0.7,
    ("{n} rue de la République", "{n} avenue Victor Hugo", "{n} boulevard Voltaire",
     "{n} rue Nationale", "{n} place de la Mairie", "{n} rue des Lilas"),
    _w("gmail.com gmail.com orange.fr free.fr hotmail.fr laposte.net wanadoo.fr"),
    ("90.", "92."), "2a01:cb00:", ".fr",
)  # fmt: skip
_GB = _Country(
    "GB", "en",
    _w("James John Robert David Michael William Richard Thomas Christopher Daniel Matthew Andrew "
       "Oliver Harry George Jack Samuel Edward"),
    _w("Sarah Emma Charlotte Emily Olivia Sophie Jessica Hannah Lucy Amelia Rebecca Laura Rachel "
       "Victoria Eleanor Grace Elizabeth"),
    _w("Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson "
       "Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson "
       "Wood Turner Cooper Hill Ward Morris Moore King Baker Harrison Morgan O'Brien MacDonald"),
    0.0,
    (("London", "SE1 #XY", "+44 20 7946 ####"), ("Manchester", "M1 #AE", "+44 161 496 ####"),
     ("Edinburgh", "EH1 #QS", "+44 131 496 ####"), ("Bristol", "BS1 #TH", "+44 117 496 ####"),
     ("Leeds", "LS1 #BA", "+44 113 496 ####"), ("Birmingham", "B1 #QU", "+44 121 496 ####")),
    ("+44 7400 ######", "+44 7712 ######"), 0.8,
    ("{n} High Street", "{n} Station Road", "{n} Church Lane", "{n} Victoria Road",
     "{n} Park Avenue", "{n} Mill Lane"),
    _w("gmail.com gmail.com hotmail.co.uk yahoo.co.uk btinternet.com sky.com"),
    ("81.", "109."), "2a00:23c0:", ".co.uk",
)  # fmt: skip
_US = _Country(
    "US", "en",
    _w("Robert Michael William David Richard Joseph Thomas Christopher Daniel Matthew Anthony "
       "Mark Steven Andrew Joshua Kevin Brian José Luis"),
    _w("Jennifer Linda Elizabeth Jessica Sarah Karen Nancy Lisa Ashley Emily Michelle Amanda "
       "Melissa Stephanie Rebecca Laura María"),
    _w("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
       "Lopez Wilson Anderson Taylor Moore Jackson Lee Thompson White Harris Clark Lewis Walker "
       "Young Allen King Wright Scott Nguyen Hill Flores Adams Nelson Rivera Kim O'Connor"),
    0.0,
    (("New York", "100##", "+1 212-555-####"), ("San Francisco", "941##", "+1 415-555-####"),
     ("Chicago", "606##", "+1 312-555-####"), ("Boston", "021##", "+1 617-555-####"),
     ("Seattle", "981##", "+1 206-555-####"), ("Austin", "787##", "+1 512-555-####"),
     ("Miami", "331##", "+1 305-555-####")),
    (), 1.0,
    ("{n} Main St", "{n} Oak Ave", "{n} Maple Dr", "{n} Market St", "{n} Washington Blvd",
     "{n} Elm St"),
    _w("gmail.com gmail.com yahoo.com hotmail.com outlook.com comcast.net"),
    ("73.", "24."), "2601:600:", ".com",
)  # fmt: skip
_COUNTRIES = (_AR, _ES, _FR, _GB, _US)
_COUNTRY_WEIGHTS = (30, 30, 15, 12, 13)

_NICKNAMES = {
    "José": ("Pepe",), "Francisco": ("Paco", "Pancho"), "Robert": ("Bob", "Rob"),
    "Jean-Pierre": ("J-P", "JP"), "Manuel": ("Manolo",), "Ignacio": ("Nacho",),
    "Carlos": ("Charly",), "William": ("Bill", "Will"), "Michael": ("Mike",), "James": ("Jim",),
    "Elizabeth": ("Liz", "Beth"), "Daniel": ("Dani", "Dan"), "Alejandro": ("Álex",),
    "Nicolás": ("Nico",), "Santiago": ("Santi",), "Christopher": ("Chris",), "Matthew": ("Matt",),
    "Rebecca": ("Becky",), "Jennifer": ("Jen",), "Richard": ("Rick",), "Guillaume": ("Guigui",),
}  # fmt: skip

_TOPICS = ("internet-speed", "billing", "ipv6", "router")
# language -> topic -> (helpdesk ticket, tweet, call summary)
_TEXTS: dict[str, dict[str, tuple[str, str, str]]] = {
    "es": {
        "internet-speed": (
            "La conexión anda a {mbps} Mbps y tengo contratados 300. Ya reinicié el router.",
            "Otra vez {mbps} Mbps en {city}. Pago 300 Mbps, @TelcoAyuda",
            "Cliente reporta lentitud ({mbps} Mbps). Se reinicia el puerto.",
        ),
        "billing": (
            "¿Por qué me cobran '{code}' si tengo internet ilimitado?",
            "Me cobran '{code}' y nadie me explica qué es. @TelcoAyuda",
            "Consulta por cargo '{code}' en la factura. Se anula el cargo.",
        ),
        "ipv6": (
            "Desde el cambio de plan el router no recibe dirección IPv6 y algunas webs no cargan.",
            "¿Para cuándo IPv6 que funcione? Sin IPv6 desde el lunes @TelcoAyuda",
            "Sin conectividad IPv6. Se escala a red.",
        ),
        "router": (
            "El router {router} se reinicia solo cada pocas horas.",
            "El router se reinicia cada 10 minutos, ya no sé qué hacer",
            "Router {router} con reinicios. Se envía técnico.",
        ),
    },
    "en": {
        "internet-speed": (
            "My connection runs at {mbps} Mbps on a 300 Mbps plan. Already rebooted the router.",
            "my internet is at {mbps} Mbps again",
            "Reports slow speed ({mbps} Mbps). Line reset.",
        ),
        "billing": (
            "Why is my bill charging '{code}' if my data is unlimited?",
            "Why am I paying for '{code}'?? @TelcoHelp",
            "Query about '{code}' on the bill. Charge refunded.",
        ),
        "ipv6": (
            "Since the plan change my router gets no IPv6 address and some sites fail to load.",
            "No IPv6 since Monday, when is it coming back @TelcoHelp",
            "No IPv6 connectivity. Escalated to the network team.",
        ),
        "router": (
            "The {router} router reboots by itself every few hours.",
            "router keeps rebooting, third time this week",
            "{router} rebooting. Engineer visit booked.",
        ),
    },
    "fr": {
        "internet-speed": (
            "Ma connexion plafonne à {mbps} Mbps pour une offre fibre 300 Mbps. Box redémarrée.",
            "Encore {mbps} Mbps ce soir à {city}, inadmissible @TelcoAide",
            "Signale un débit de {mbps} Mbps. Ligne réinitialisée.",
        ),
        "billing": (
            "Pourquoi ma facture comporte « {code} » alors que mon forfait est illimité ?",
            "C'est quoi ce « {code} » sur ma facture ?? @TelcoAide",
            "Question sur « {code} » en facture. Remboursement effectué.",
        ),
        "ipv6": (
            "Depuis le changement d'offre, la box n'obtient plus d'adresse IPv6.",
            "Toujours pas d'IPv6 depuis lundi @TelcoAide",
            "Pas de connectivité IPv6. Escaladé à l'équipe réseau.",
        ),
        "router": (
            "Le routeur {router} redémarre tout seul toutes les quelques heures.",
            "La box redémarre toute seule toutes les heures",
            "Redémarrages du {router}. Intervention technicien planifiée.",
        ),
    },
}
_BILLING_CODES = {
    "es": ("Acceso a Portal Movil", "Cuota Roaming Datos", "Alta Servicio Fibra"),
    "en": ("Mobile Portal Access", "Data Roaming Bundle", "Line Rental Adjustment"),
    "fr": ("Option Portail Mobile", "Frais de mise en service", "Pass Data Roaming"),
}
_ROUTERS = ("HGU Askey RTF8115VW", "Livebox 6", "Smart Hub 2", "Sagemcom F@st 5670", "HG8245H")
_OCCUPATIONS = {
    "es": ("Analista de sistemas", "Docente", "Contador público", "Arquitecta", "Enfermero"),
    "en": ("Software Engineer", "Teacher", "Accountant", "Product Designer", "Nurse"),
    "fr": ("Chef de projet", "Professeur", "Comptable", "Développeuse web", "Infirmier"),
}
_GENERIC_LOCALS = {"es": ("info", "soporte", "administracion"), "fr": ("contact", "accueil"),
                   "en": ("info", "office")}  # fmt: skip
_BUSINESSES = {"es": ("ferreteria{s}", "estudio{s}", "gestoria-{s}"),
               "fr": ("boulangerie-{s}", "cabinet{s}"),
               "en": ("{s}plumbing", "{s}-dental")}  # fmt: skip
_FAMILY_LOCALS = {"es": "familia.{s}", "fr": "famille.{s}", "en": "the.{s}s"}

# department -> (titles, topics its people write about)
_DEPARTMENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Network Engineering": (
        ("Network Engineer", "Senior Network Engineer", "IP Architect"),
        ("ipv6", "dns", "cgnat"),
    ),
    "Access & Fibre": (("Fibre Planner", "Access Engineer", "FTTH Lead"), ("fibre", "ipv6")),
    "Mobile Radio": (("RF Engineer", "5G Architect", "Radio Planner"), ("5g",)),
    "Billing Systems": (
        ("Billing Analyst", "Rating Engineer", "Billing Product Owner"),
        ("billing-codes",),
    ),
    "Customer Care": (
        ("Care Agent", "Care Team Lead", "Quality Analyst"),
        ("billing-codes", "fibre"),
    ),
    "Platform & Security": (("SRE", "Security Engineer", "DNS Administrator"), ("dns", "cgnat")),
}
# topic -> language -> what an employee writes about it
_ACTIVITY: dict[str, dict[str, str]] = {
    "ipv6": {
        "en": "Dual-stack IPv6 on the residential network: what broke and how we fixed it.",
        "es": "IPv6 dual-stack en la red residencial: qué se rompió y cómo lo arreglamos.",
        "fr": "IPv6 double pile sur le réseau résidentiel : ce qui a cassé et comment réparer.",
    },
    "dns": {
        "en": "Moving the recursive DNS resolvers to anycast without a service cut.",
        "es": "Migración de los resolvers DNS recursivos a anycast sin corte de servicio.",
        "fr": "Migration des résolveurs DNS récursifs en anycast sans coupure de service.",
    },
    "billing-codes": {
        "en": "Why customers see 'Acceso a Portal Movil' on their bill, and how to explain it.",
        "es": "Por qué los clientes ven 'Acceso a Portal Movil' en la factura y cómo explicarlo.",
        "fr": "Pourquoi les clients voient « Option Portail Mobile » sur leur facture.",
    },
    "fibre": {
        "en": "GPON splitter ratios and what they mean for peak-hour speeds on fibre.",
        "es": "Ratios de splitter GPON y su efecto en la velocidad de la fibra en hora pico.",
        "fr": "Taux de couplage GPON et débits de la fibre aux heures de pointe.",
    },
    "5g": {
        "en": "First results from the 5G standalone core: latency, slicing and handover.",
        "es": "Primeros resultados del núcleo 5G standalone: latencia, slicing y handover.",
        "fr": "Premiers résultats du cœur 5G autonome : latence, slicing et handover.",
    },
    "cgnat": {
        "en": "Carrier-grade NAT port blocks: sizing, logging and abuse requests.",
        "es": "Bloques de puertos en CGNAT: dimensionamiento, logs y pedidos judiciales.",
        "fr": "Blocs de ports CGNAT : dimensionnement, journalisation et réquisitions.",
    },
}
_ACTIVITY_SOURCES = ("wiki", "blog", "microblog")
