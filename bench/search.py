"""Search latency on a large history: POST /search p50/p95 over 100,000 messages.

Run:  .venv/bin/python bench/search.py [--messages 100000] [--queries 200] [--deadline 900]
                                       [--database-url postgresql://...] [--seed 1]

It opens a fresh Bastion in-process (`Runtime.open`: the real services and database; SQLite in a
temporary directory unless --database-url names a PostgreSQL server, then a throwaway schema)
and fills it:

  users     40 accounts; rooms: 200 public rooms of 10 members each (a user is in ~50 rooms).
  messages  generated in English, Polish and Arabic (a room has a main language, a tenth of its
            messages are in another one), 3-16 words drawn with a Zipf-like frequency from a
            vocabulary per language; a third of the Polish ones are typed without diacritics and
            a third of the Arabic ones carry tashkeel or tatweel. They go through the event
            pipeline's `append`, the path every send takes (auth rules, signing, search
            indexing in the same transaction), BATCH events per transaction.

Then it logs the users in over HTTP (in-process ASGI) and times QUERIES searches by random
users through the whole request path (auth, scope, index, visibility, formatting): common words,
rare words, two-word queries, Polish typed without diacritics, Arabic without tashkeel; three in
four ordered by rank, one in four by recency; a tenth ask for event context. It reports p50, p95
and max latency in ms per kind and overall, with result counts. JSON goes to stdout, a summary to
stderr. Everything is bounded: if filling passes the deadline the run searches what was written.
"""

# A measurement script, not server code: one long linear scenario.
# ruff: noqa: S311, SIM905

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from benchlib import drop_schema
from inprocess import bench_config

from bastion.app import Runtime, create_app
from bastion.events.builder import EventDraft
from bastion.server_key import write_new_key
from bastion.services.principal import Operator, Requester
from bastion.services.rooms.create import CreateRoomRequest

PASSWORD = "correct horse battery staple"
USERS, ROOMS, MEMBERS_PER_ROOM, BATCH = 40, 200, 10, 500

ENGLISH = (
    "the meeting project release deploy server report budget customer invoice team schedule "
    "update review design issue ticket support database backup network office travel lunch "
    "coffee weekend holiday contract payment account password security audit roadmap quarter "
    "sales marketing launch feature bug fix test build pipeline cluster storage migration "
    "performance latency outage incident alert monitor dashboard metric training onboarding "
    "hiring interview candidate offer salary policy compliance legal privacy vendor partner "
    "presentation slides document draft approval deadline tomorrow today yesterday morning "
    "afternoon evening please thanks sorry great good bad urgent important question answer "
    "martian telescope volcano saxophone origami glacier"
).split()
POLISH = (
    "spotkanie projekt wdrożenie serwer raport budżet klient faktura zespół harmonogram "
    "aktualizacja przegląd błąd zgłoszenie wsparcie baza kopia sieć biuro podróż obiad kawa "
    "weekend urlop umowa płatność hasło bezpieczeństwo audyt kwartał sprzedaż żółw żółwie "
    "źródło łódź gęś jaźń zażółć świat środa piątek niedziela jutro dzisiaj wczoraj rano "
    "wieczór proszę dziękuję przepraszam świetnie dobrze źle pilne ważne pytanie odpowiedź "
    "wiadomość użytkownik ustawienia logowanie wylogowanie powiadomienie zmiana wersja "
    "prezentacja dokument szkic zatwierdzenie termin kierownik pracownik księgowość "
    "łazienka grzegorz brzęczyszczykiewicz chrząszcz trzcina szczebrzeszyn"
).split()
ARABIC = (
    "اجتماع مشروع إصدار خادم تقرير ميزانية عميل فاتورة فريق جدول تحديث مراجعة تصميم مشكلة "
    "تذكرة دعم قاعدة بيانات نسخة شبكة مكتب سفر غداء قهوة عطلة عقد دفع حساب كلمة أمن تدقيق "
    "خطة ربع مبيعات تسويق إطلاق ميزة خطأ إصلاح اختبار بناء مدرسة جامعة مكتبة كتاب الكتاب "
    "مدينة سيارة طائرة مستشفى طبيب مسؤول سؤال جواب رسالة مستخدم إعدادات تسجيل إشعار تغيير "
    "إسلام أحمد آمن على إلى مساء صباح غدا اليوم أمس شكرا عفوا ممتاز جيد سيء عاجل مهم "
    "القاهرة بيروت دمشق عمان الرياض تونس الجزائر المغرب صحراء نخلة"
).split()
LANGUAGES = {"en": ENGLISH, "pl": POLISH, "ar": ARABIC}
TASHKEEL = "\u064e\u064f\u0650\u0652\u0651"


def zipf_weights(n: int) -> list[float]:
    return [1.0 / (rank + 1) for rank in range(n)]


def strip_diacritics(word: str) -> str:
    base = "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))
    return base.replace("ł", "l").replace("Ł", "L")


def decorate_arabic(word: str, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return "".join(c + rng.choice(TASHKEEL) if rng.random() < 0.6 else c for c in word)
    middle = len(word) // 2
    return word[:middle] + "\u0640" * rng.randint(1, 4) + word[middle:]


def message_text(rng: random.Random, language: str) -> str:
    vocabulary = LANGUAGES[language]
    words = rng.choices(vocabulary, weights=zipf_weights(len(vocabulary)), k=rng.randint(3, 16))
    if language == "pl" and rng.random() < 1 / 3:
        words = [strip_diacritics(w) for w in words]
    if language == "ar" and rng.random() < 1 / 3:
        words = [decorate_arabic(w, rng) for w in words]
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice([".", "!", "?", "", ","])


@dataclass
class World:
    """The accounts and rooms the bench created."""

    users: list[str] = field(default_factory=list)
    rooms: list[tuple[str, list[str], str]] = field(default_factory=list)  # id, members, lang


async def open_runtime(args: argparse.Namespace, workdir: Path) -> tuple[Runtime, str | None]:
    write_new_key(workdir / "signing.key")
    schema = f"bench_{uuid.uuid4().hex[:12]}" if args.database_url else None
    config = bench_config(workdir, database_url=args.database_url, schema=schema)
    return await Runtime.open(config), schema


async def create_world(runtime: Runtime, rng: random.Random) -> World:
    services, world = runtime.services, World()
    for i in range(USERS):
        world.users.append(
            await services.accounts.create_user(
                Operator("bench"), f"user{i}", PASSWORD, is_admin=False
            )
        )
    languages = rng.choices(list(LANGUAGES), weights=[4, 3, 3], k=ROOMS)
    for language in languages:
        members = rng.sample(world.users, MEMBERS_PER_ROOM)
        creator = Requester(members[0], "BENCH", is_admin=False)
        room_id = await services.rooms.create_room(creator, CreateRoomRequest(preset="public_chat"))
        for member in members[1:]:
            await services.membership.join(Requester(member, "BENCH", is_admin=False), room_id)
        world.rooms.append((room_id, members, language))
    return world


async def fill(runtime: Runtime, world: World, rng: random.Random, total: int, deadline: float):
    """Write `total` messages, BATCH per transaction; returns (written, seconds)."""
    # The bench writes through the pipeline every send uses, many events per transaction.
    pipeline = runtime.services.messages._pipeline
    room_weights = zipf_weights(len(world.rooms))
    written, started = 0, time.perf_counter()
    while written < total and time.monotonic() < deadline:
        count = min(BATCH, total - written)
        batch = []
        for room_id, members, main in rng.choices(world.rooms, weights=room_weights, k=count):
            language = rng.choice(list(LANGUAGES)) if rng.random() < 0.1 else main
            content = {"msgtype": "m.text", "body": message_text(rng, language)}
            batch.append((room_id, EventDraft("m.room.message", rng.choice(members), content)))
        await pipeline.append_batch(batch)
        written += count
        if written % 10_000 == 0:
            rate = written / (time.perf_counter() - started)
            print(f"  {written} messages ({rate:.0f}/s)", file=sys.stderr)
    return written, time.perf_counter() - started


def query_kinds(rng: random.Random) -> dict[str, Callable[[], str]]:
    def common(vocabulary: list[str]) -> str:
        return rng.choice(vocabulary[:15])

    def rare(vocabulary: list[str]) -> str:
        return rng.choice(vocabulary[60:])

    return {
        "en_common": lambda: common(ENGLISH),
        "en_rare": lambda: rare(ENGLISH),
        "en_two_words": lambda: f"{common(ENGLISH)} {rng.choice(ENGLISH[:60])}",
        "pl_no_diacritics": lambda: strip_diacritics(rng.choice(POLISH[:80])),
        "pl_rare": lambda: rare(POLISH),
        "ar_common": lambda: common(ARABIC),
        "ar_rare": lambda: rare(ARABIC),
    }


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda p: ordered[min(len(ordered) - 1, int(p * len(ordered)))]  # noqa: E731
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(pick(0.95), 2),
        "max_ms": round(ordered[-1], 2),
    }


async def measure(runtime: Runtime, world: World, rng: random.Random, queries: int) -> dict:
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        tokens = {}
        for user in world.users:
            login = {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": user.split(":")[0][1:]},
                "password": PASSWORD,
            }
            resp = await http.post("/_matrix/client/v3/login", json=login)
            tokens[user] = resp.json()["access_token"]
        kinds = query_kinds(rng)
        names = list(kinds)
        samples: dict[str, list[float]] = {name: [] for name in names}
        counts: dict[str, list[int]] = {name: [] for name in names}
        for i in range(queries + 20):
            name = names[i % len(names)]
            criteria: dict[str, Any] = {"search_term": kinds[name]()}
            if rng.random() < 0.25:
                criteria["order_by"] = "recent"
            if rng.random() < 0.1:
                criteria["event_context"] = {"before_limit": 3, "after_limit": 3}
            headers = {"Authorization": f"Bearer {tokens[rng.choice(world.users)]}"}
            body = {"search_categories": {"room_events": criteria}}
            started = time.perf_counter()
            resp = await http.post("/_matrix/client/v3/search", json=body, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            if resp.status_code != 200:
                raise RuntimeError(f"search failed: {resp.status_code} {resp.text}")
            if i >= 20:  # the first 20 warm caches and are not counted
                samples[name].append(elapsed)
                counts[name].append(resp.json()["search_categories"]["room_events"]["count"])
    report = {name: percentiles(s) | {"median_count": statistics.median(counts[name])}
              for name, s in samples.items()}  # fmt: skip
    report["all"] = percentiles([x for s in samples.values() for x in s])
    return report


async def run(args: argparse.Namespace) -> dict[str, Any]:
    deadline = time.monotonic() + args.deadline
    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="bastion-search-bench-"))
    runtime, schema = await open_runtime(args, workdir)
    try:
        world = await create_world(runtime, rng)
        written, seconds = await fill(runtime, world, rng, args.messages, deadline)
        print(f"filled {written} messages in {seconds:.0f} s", file=sys.stderr)
        latency = await measure(runtime, world, rng, args.queries)
        size = (workdir / "bastion.db").stat().st_size if schema is None else None
    finally:
        await runtime.close()
        if schema is not None:
            await drop_schema(args.database_url, schema)
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir)
    return {
        "database": runtime.db.dialect,
        "messages": written,
        "fill_seconds": round(seconds, 1),
        "fill_messages_per_s": round(written / seconds) if seconds else None,
        "sqlite_file_mb": round(size / 1e6, 1) if size else None,
        "users": USERS,
        "rooms": ROOMS,
        "members_per_room": MEMBERS_PER_ROOM,
        "latency": latency,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--deadline", type=float, default=900.0, help="seconds for the fill")
    parser.add_argument("--database-url", help="postgresql://...; default: SQLite in a temp dir")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    result = asyncio.run(run(parser.parse_args()))
    print(json.dumps(result, indent=2, ensure_ascii=False))
    overall = result["latency"]["all"]
    print(
        f"{result['database']}: {result['messages']} messages, {overall['n']} searches:"
        f" p50 {overall['p50_ms']} ms, p95 {overall['p95_ms']} ms, max {overall['max_ms']} ms",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
