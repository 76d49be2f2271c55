"""What the in-process benchmarks (search.py, presence_sync.py, push_send.py) share: a config for
a throwaway Bastion with every limit out of the way, on SQLite in a folder or a PostgreSQL schema.
"""

from __future__ import annotations

from pathlib import Path

from bastion.config import (
    AuthConfig,
    Config,
    DatabaseConfig,
    MediaConfig,
    PresenceConfig,
    RateLimit,
    RateLimitsConfig,
)


def bench_config(
    workdir: Path, *, database_url: str | None, schema: str | None, presence: bool = True
) -> Config:
    """A config for a benchmark's own server: SQLite in `workdir` unless `database_url` names a
    PostgreSQL server (then `schema` in it), argon2 at its lowest cost, no rate limits."""
    if database_url:
        database = DatabaseConfig(url=database_url, schema=schema or "", pool_size=4)
    else:
        database = DatabaseConfig(url=f"sqlite:///{workdir / 'bastion.db'}")
    unlimited = RateLimit(per_second=100000.0, burst=100000)
    limits = dict.fromkeys(RateLimitsConfig.__struct_fields__, unlimited)
    return Config(
        server_name="bench.local",
        signing_key_path=str(workdir / "signing.key"),
        database=database,
        auth=AuthConfig(
            token_hmac_key="bench", argon2_time_cost=1, argon2_memory_kib=1024,
            argon2_parallelism=1,
        ),
        media=MediaConfig(store_path=str(workdir / "media")),
        rate_limits=RateLimitsConfig(**limits),
        presence=PresenceConfig(enabled=presence),
    )  # fmt: skip
