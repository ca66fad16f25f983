"""Expert search: quality on a labelled set, beside plain BM25, and latency over HTTP.

    .venv/bin/python bench/experts.py [--employees 20000] [--activity 500000] [--rounds 10]
                                      [--keep DIR]

Generates seeded synthetic employees, each with one or two known skills, and
their activity (wiki, blog, microblog posts, helpdesk answers) in English,
Spanish and French, written from varied phrasings: mostly about their own
skills, now and then a passing mention of another topic, and some posts about
nothing technical. 36 questions (12 topics x 3 languages, phrased like a
customer or a colleague would, not like the posts) have as true experts the
employees who know their topic.

The records go in through the real `directory ingest`; the real `directory
serve` answers `experts(query, first: 5)` over HTTP. Precision@5 and MRR are
computed from those answers; the BM25 baseline ranks the same employees by
the raw text of their posts (one document per employee, k1 1.2, b 0.75),
in the same run. Latency: every question `--rounds` times, client-side wall
time. Prints a table and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
from _common import Server, cli_env, ensure_empty_dir, print_json, print_table, run_cli

TARGET_P5, TARGET_MRR, TARGET_P99_MS = 0.8, 0.85, 50.0
QUERY = """query($q: String!) { experts(query: $q, first: 5) {
  score profile { id displayName } contact { type value } } }"""

# topic -> language -> ways colleagues write about it (posts)
POSTS: dict[str, dict[str, list[str]]] = {
    "ipv6": {"en": ["Rolled out dual-stack IPv6 to another {n}k homes.",
                    "Notes on SLAAC vs DHCPv6 prefix delegation for CPEs."],
             "es": ["Desplegamos IPv6 doble pila en {n} mil hogares más.",
                    "Delegación de prefijo DHCPv6 en los routers del cliente."],
             "fr": ["Adressage IPv6 : la délégation de préfixe sur les box.",
                    "Passage en double pile IPv6 de {n}000 foyers."]},
    "dns": {"en": ["Recursive DNS resolvers moved to anycast.", "DNSSEC validation rollout notes."],
            "es": ["Los resolvers DNS pasan a anycast.", "Fallos de resolución de nombres esta semana."],
            "fr": ["Les résolveurs DNS passent en anycast.", "Incident de résolution de noms."]},
    "cgnat": {"en": ["Sizing CGNAT port blocks for {n}k subscribers.", "Why port forwarding fails behind carrier-grade NAT."],
              "es": ["Bloques de puertos en CGNAT para {n} mil clientes.", "Cómo pedir IP pública para abrir puertos."],
              "fr": ["Blocs de ports CGNAT pour {n}000 abonnés.", "Ouvrir des ports derrière le CGNAT."]},
    "fibre": {"en": ["GPON splitter ratios and peak-hour speeds.", "FTTH install backlog down to {n} days."],
              "es": ["Ratios de splitter GPON en la fibra óptica.", "Instalaciones de FTTH en {n} días."],
              "fr": ["Taux de couplage GPON sur la fibre optique.", "Raccordements FTTH en {n} jours."]},
    "5g": {"en": ["5G standalone core: latency and handover results.", "Network slicing trial with {n} sites."],
           "es": ["Núcleo 5G standalone: latencia y handover.", "Prueba de slicing 5G en {n} sitios."],
           "fr": ["Cœur 5G autonome : latence et handover.", "Essai de network slicing 5G."]},
    "billing-codes": {"en": ["What each billing code on the invoice means.", "Rating engine change for {n} plans."],
                      "es": ["Qué significa cada código de facturación.", "Conceptos de la factura explicados."],
                      "fr": ["Chaque code de facturation expliqué.", "Lignes de facture mal comprises."]},
    "voip": {"en": ["SIP trunk migration for business lines.", "VoIP call quality on {n} landlines."],
             "es": ["Migración de la telefonía IP a SIP.", "Calidad de la línea fija VoIP."],
             "fr": ["Téléphonie IP : migration SIP.", "Qualité de la ligne fixe en VoIP."]},
    "wifi": {"en": ["Mesh Wi-Fi placement guide.", "5 GHz channel overlap in apartment blocks."],
             "es": ["Guía de repetidores Wi-Fi mesh.", "Interferencias en el canal 5 GHz."],
             "fr": ["Guide des répéteurs Wi-Fi mesh.", "Interférences sur le canal 5 GHz."]},
    "iptv": {"en": ["IPTV multicast fixes for the TV box.", "Set-top box firmware {n} notes."],
             "es": ["Multicast IPTV en el decodificador.", "Firmware {n} del decodificador."],
             "fr": ["Multicast IPTV sur le décodeur.", "Firmware {n} du décodeur TV."]},
    "roaming": {"en": ["Roaming data caps explained.", "Roam like at home rules for {n} countries."],
                "es": ["Itinerancia de datos: límites.", "Reglas de itinerancia en {n} países."],
                "fr": ["Itinérance des données : plafonds.", "Itinérance dans {n} pays."]},
    "esim": {"en": ["eSIM activation flow redesign.", "Embedded SIM profile downloads failing."],
             "es": ["Activación de eSIM paso a paso.", "Perfil eSIM que no descarga."],
             "fr": ["Activation eSIM pas à pas.", "Profil eSIM qui ne se télécharge pas."]},
    "ddos": {"en": ["DDoS scrubbing capacity doubled.", "Volumetric attack post-mortem."],
             "es": ["Mitigación de DDoS ampliada.", "Ataque volumétrico de anoche."],
             "fr": ["Capacité de mitigation DDoS doublée.", "Attaque volumétrique de la nuit."]},
}  # fmt: skip
NOISE = ["Team offsite photos are up.", "Quarterly goals for the team.", "Reunión de equipo el lunes.",
         "Bienvenue aux nouveaux arrivants !", "Lunch and learn next Friday.",
         "Nueva política de vacaciones.", "Pot de départ jeudi."]  # fmt: skip
# topic -> the way a customer or a colleague asks (never a post's phrasing)
QUESTIONS: dict[str, tuple[str, str, str]] = {
    "ipv6": ("My router gets no IPv6 address since yesterday, who can help?",
             "¿Quién sabe del protocolo IP versión 6 en los routers?",
             "Qui connaît l'adressage IPv6 des box ?"),
    "dns": ("Websites don't load, looks like a DNS problem",
            "Falla la resolución de nombres en mi casa",
            "Problème de résolution DNS depuis ce matin"),
    "cgnat": ("I cannot open ports for my game server",
              "Necesito una IP pública para abrir puertos",
              "Impossible d'ouvrir des ports sur ma box"),
    "fibre": ("When will fiber reach my street?", "La fibra óptica va lenta por la noche",
              "Ma fibre optique est lente le soir"),
    "5g": ("Is there 5G coverage in my area?", "¿Tengo cobertura 5G en mi barrio?",
           "La couverture 5G dans ma ville ?"),
    "billing-codes": ("What is this billing code on my invoice?",
                      "No entiendo un código de facturación de mi factura",
                      "Que veut dire ce code de facturation ?"),
    "voip": ("My landline has no dial tone", "Mi línea fija VoIP no da tono",
             "Ma ligne fixe ne fonctionne plus"),
    "wifi": ("Wi-Fi drops in the bedroom", "El wifi se corta en el dormitorio",
             "Le wifi coupe dans la chambre"),
    "iptv": ("TV channels freeze on the TV box", "El decodificador no carga los canales de TV",
             "Le décodeur ne charge pas les chaînes TV"),
    "roaming": ("Data does not work abroad, roaming is on", "No tengo datos en el extranjero",
                "Pas de données à l'étranger, itinérance activée"),
    "esim": ("How do I activate my eSIM?", "No puedo activar mi eSIM",
             "Je n'arrive pas à activer ma eSIM"),
    "ddos": ("Our shop site is under a DDoS attack", "Sufrimos un ataque de denegación de servicio",
             "Notre site subit une attaque DDoS"),
}  # fmt: skip
SOURCES = (("wiki", 0.3), ("blog", 0.2), ("microblog", 0.35), ("helpdesk", 0.15))
FIRST = ["Ana", "Luis", "Marie", "John", "Sofía", "Pierre", "Lucía", "Emily", "Hugo", "Clara",
         "Mateo", "Julie", "Iván", "Olivia", "Tomás", "Léa"]  # fmt: skip
LAST = ["Gil", "Mora", "Roux", "Smith", "Pérez", "Martin", "García", "Brown", "Dubois", "Ruiz",
        "Lambert", "Ortega", "Moreau", "Taylor", "Navarro", "Girard"]  # fmt: skip


def generate(
    employees: int, activity: int, seed: int = 5
) -> tuple[list[dict[str, object]], dict[str, set[str]]]:
    """Records, and each employee id's known skills."""
    rng = random.Random(seed)
    topics = sorted(POSTS)
    known: dict[str, set[str]] = {}
    records: list[dict[str, object]] = []
    # Activity is skewed like real life: a few people write most of it.
    weights = [1.0 / (1 + i) ** 0.6 for i in range(employees)]
    rng.shuffle(weights)
    total = sum(weights)
    for i in range(employees):
        eid = f"E{i:06d}"
        skills = set(rng.sample(topics, rng.choice((1, 1, 2))))
        known[eid] = skills
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {i}"
        declared = sorted(skills) if rng.random() < 0.3 else []
        records.append({"source": "hr", "source_id": eid, "kind": "employee", "name": name,
                        "identifiers": [{"type": "employee_id", "value": eid},
                                        {"type": "email", "value": f"{eid.lower()}@telco.example"}],
                        "attributes": {"department": "Engineering", "title": "Engineer",
                                       "location": rng.choice(["Madrid", "Paris", "London"])},
                        "topics": declared})  # fmt: skip
        posts = max(0, round(activity * weights[i] / total))
        for n in range(posts):
            records.append(_post(rng, eid, name, own=sorted(skills), topics=topics, n=n))
    return records, known


def _post(
    rng: random.Random, eid: str, name: str, *, own: list[str], topics: list[str], n: int
) -> dict[str, object]:
    roll = rng.random()
    if roll < 0.1:
        text = rng.choice(NOISE)
    else:
        topic = rng.choice(own) if roll < 0.9 else rng.choice(topics)  # a passing mention
        lang = rng.choice(("en", "es", "fr"))
        text = rng.choice(POSTS[topic][lang]).format(n=rng.randint(2, 90))
    source = rng.choices([s for s, _ in SOURCES], [w for _, w in SOURCES])[0]
    day = rng.randint(1, 330)
    return {"source": source, "source_id": f"{eid}-{n}", "kind": "employee", "name": name,
            "observed_at": f"2026-{1 + day // 31:02d}-{1 + day % 28:02d}T10:00:00Z",
            "identifiers": [{"type": "employee_id", "value": eid}], "text": text}  # fmt: skip


_WORD = re.compile(r"\w+")


def bm25_rank(
    records: list[dict[str, object]], question: str, k1: float = 1.2, b: float = 0.75
) -> list[str]:
    """Employee ids by BM25 of the question over the raw text of their posts."""
    return _BM25.of(records).rank(question, k1, b)


class _BM25:
    built: _BM25 | None = None

    def __init__(self, records: list[dict[str, object]]) -> None:
        docs: dict[str, Counter[str]] = defaultdict(Counter)
        for record in records:
            if record.get("text") and record["source"] != "hr":
                eid = str(record["source_id"]).split("-")[0]
                docs[eid].update(_WORD.findall(str(record["text"]).lower()))
        self.docs = docs
        self.lengths = {d: sum(c.values()) for d, c in docs.items()}
        self.average = statistics.mean(self.lengths.values())
        self.postings: dict[str, list[str]] = defaultdict(list)
        for doc, counts in docs.items():
            for word in counts:
                self.postings[word].append(doc)

    @classmethod
    def of(cls, records: list[dict[str, object]]) -> _BM25:
        if cls.built is None:
            cls.built = cls(records)
        return cls.built

    def rank(self, question: str, k1: float, b: float) -> list[str]:
        scores: dict[str, float] = defaultdict(float)
        n = len(self.docs)
        for word in set(_WORD.findall(question.lower())):
            holders = self.postings.get(word, [])
            if not holders:
                continue
            idf = math.log(1 + (n - len(holders) + 0.5) / (len(holders) + 0.5))
            for doc in holders:
                tf = self.docs[doc][word]
                norm = tf + k1 * (1 - b + b * self.lengths[doc] / self.average)
                scores[doc] += idf * tf * (k1 + 1) / norm
        return sorted(scores, key=lambda d: (-scores[d], d))


def quality(ranked: dict[str, list[str]], truth: dict[str, set[str]]) -> tuple[float, float]:
    """Mean precision@5 and MRR over the questions (question -> ranked employee ids)."""
    p5, rr = [], []
    for question, ids in ranked.items():
        topic = _topic_of(question)
        hits = [topic in truth.get(eid, set()) for eid in ids[:5]]
        p5.append(sum(hits) / 5)
        first = next((i for i, eid in enumerate(ids) if topic in truth.get(eid, set())), None)
        rr.append(0.0 if first is None else 1.0 / (first + 1))
    return statistics.mean(p5), statistics.mean(rr)


def _employee_id(hit: dict[str, object]) -> str:
    contact = hit["contact"]
    assert isinstance(contact, list)
    return next(str(c["value"]) for c in contact if c["type"] == "employee_id")


def _topic_of(question: str) -> str:
    return next(t for t, qs in QUESTIONS.items() if question in qs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--employees", type=int, default=20_000)
    parser.add_argument("--activity", type=int, default=500_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--keep", type=Path, metavar="DIR", help="work in DIR and keep it")
    args = parser.parse_args()
    if args.keep:
        run(ensure_empty_dir(args.keep), args)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-experts-") as tmp:
            run(Path(tmp), args)


def run(work: Path, args: argparse.Namespace) -> None:
    records, truth = generate(args.employees, args.activity)
    activity = sum(1 for r in records if r["source"] != "hr")
    path = work / "records.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    print(f"{args.employees} employees, {activity} activity records; ingesting ...", flush=True)
    started = time.perf_counter()
    run_cli(["ingest", str(path)], cli_env(work / "data", COLUMNS="200"))
    ingest_s = time.perf_counter() - started
    key = run_cli(
        ["keys", "create", "--role", "agent", "--name", "bench"], cli_env(work / "data")
    ).strip()
    questions = [q for qs in QUESTIONS.values() for q in qs]
    ours: dict[str, list[str]] = {}
    latencies: list[float] = []
    with Server(work / "data", workers=1, log=work / "serve.log") as server:
        client = httpx.Client(base_url=server.url, timeout=30,
                              headers={"Authorization": f"Bearer {key}"})  # fmt: skip
        for round_ in range(args.rounds + 1):  # round 0 warms the caches, untimed
            for question in questions:
                t0 = time.perf_counter()
                answer = client.post(
                    "/graphql", json={"query": QUERY, "variables": {"q": question}}
                )
                if round_:
                    latencies.append((time.perf_counter() - t0) * 1000)
                hits = answer.json()["data"]["experts"]
                ours[question] = [_employee_id(hit) for hit in hits]
    started = time.perf_counter()
    theirs = {q: bm25_rank(records, q) for q in questions}
    bm25_s = time.perf_counter() - started
    p5, mrr = quality(ours, truth)
    b_p5, b_mrr = quality(theirs, truth)
    p50, p99 = statistics.median(latencies), sorted(latencies)[int(0.99 * len(latencies))]
    print_table([
        ("precision@5: ours / BM25", f"{p5:.3f} / {b_p5:.3f}", f">= {TARGET_P5}"),
        ("MRR: ours / BM25", f"{mrr:.3f} / {b_mrr:.3f}", f">= {TARGET_MRR}"),
        ("experts over HTTP p50 / p99 ms", f"{p50:.1f} / {p99:.1f}", f"p99 <= {TARGET_P99_MS:.0f}"),
        ("ingest s (records/s)", f"{ingest_s:.0f} ({len(records) / ingest_s:.0f})", ""),
        ("BM25 baseline, all questions, s", f"{bm25_s:.2f}", ""),
    ])  # fmt: skip
    print_json({"employees": args.employees, "activity": activity, "questions": len(questions),
                "p_at_5": round(p5, 4), "mrr": round(mrr, 4), "bm25_p_at_5": round(b_p5, 4),
                "bm25_mrr": round(b_mrr, 4), "p50_ms": round(p50, 2), "p99_ms": round(p99, 2),
                "requests": len(latencies), "ingest_s": round(ingest_s, 1)})  # fmt: skip


if __name__ == "__main__":
    main()
