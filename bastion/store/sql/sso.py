"""SQL for `sso_sessions`, `sso_login_tokens`, `sso_identities` and `sso_reauths` (migration
0035).

Taking a session or a token is one `DELETE ... RETURNING`: two concurrent callbacks (or two
logins with the same token), on any process, cannot both get the row.
"""

from __future__ import annotations

from bastion.store.database import Queryable
from bastion.store.protocols.sso import LoginTokenOwner, SsoSessionRow


class SqlSsoStore:
    async def insert_session(self, q: Queryable, row: SsoSessionRow) -> None:
        await q.execute(
            "INSERT INTO sso_sessions"
            " (state_hash, browser_hash, idp_id, redirect_url, created_ts, uia_session)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            row.state_hash,
            row.browser_hash,
            row.idp_id,
            row.redirect_url,
            row.created_ts,
            row.uia_session,
        )

    async def take_session(self, q: Queryable, state_hash: str) -> SsoSessionRow | None:
        row = await q.fetch_one(
            "DELETE FROM sso_sessions WHERE state_hash = ?"
            " RETURNING state_hash, browser_hash, idp_id, redirect_url, created_ts, uia_session",
            state_hash,
        )
        if row is None:
            return None
        uia_session = None if row[5] is None else str(row[5])
        return SsoSessionRow(
            str(row[0]), str(row[1]), str(row[2]), str(row[3]), int(row[4]), uia_session
        )

    async def delete_sessions_before(self, q: Queryable, created_before_ts: int) -> int:
        return await q.execute("DELETE FROM sso_sessions WHERE created_ts < ?", created_before_ts)

    async def insert_login_token(
        self, q: Queryable, token_hash: str, owner: LoginTokenOwner, expires_ts: int
    ) -> None:
        await q.execute(
            "INSERT INTO sso_login_tokens (token_hash, user_id, idp_id, expires_ts)"
            " VALUES (?, ?, ?, ?)",
            token_hash,
            owner.user_id,
            owner.idp_id,
            expires_ts,
        )

    async def take_login_token(
        self, q: Queryable, token_hash: str, now_ms: int
    ) -> LoginTokenOwner | None:
        row = await q.fetch_one(
            "DELETE FROM sso_login_tokens WHERE token_hash = ?"
            " RETURNING user_id, idp_id, expires_ts",
            token_hash,
        )
        if row is None or int(row[2]) <= now_ms:  # an expired token is deleted and refused
            return None
        return LoginTokenOwner(str(row[0]), str(row[1]))

    async def delete_expired_login_tokens(self, q: Queryable, now_ms: int) -> int:
        return await q.execute("DELETE FROM sso_login_tokens WHERE expires_ts <= ?", now_ms)

    async def account_of_subject(self, q: Queryable, idp_id: str, subject: str) -> str | None:
        row = await q.fetch_one(
            "SELECT user_id FROM sso_identities WHERE idp_id = ? AND subject = ?", idp_id, subject
        )
        return None if row is None else str(row[0])

    async def subject_of_account(self, q: Queryable, idp_id: str, user_id: str) -> str | None:
        row = await q.fetch_one(
            "SELECT subject FROM sso_identities WHERE idp_id = ? AND user_id = ?", idp_id, user_id
        )
        return None if row is None else str(row[0])

    async def link_subject(
        self, q: Queryable, idp_id: str, subject: str, user_id: str, now_ms: int
    ) -> None:
        await q.execute(
            "INSERT INTO sso_identities (idp_id, subject, user_id, created_ts) VALUES (?, ?, ?, ?)",
            idp_id,
            subject,
            user_id,
            now_ms,
        )

    async def record_reauth(
        self, q: Queryable, uia_session: str, user_id: str, now_ms: int
    ) -> None:
        await q.execute(
            "DELETE FROM sso_reauths WHERE uia_session = ?", uia_session
        )  # a second confirmation of one session replaces the first
        await q.execute(
            "INSERT INTO sso_reauths (uia_session, user_id, completed_ts) VALUES (?, ?, ?)",
            uia_session,
            user_id,
            now_ms,
        )

    async def take_reauth(self, q: Queryable, uia_session: str) -> str | None:
        row = await q.fetch_one(
            "DELETE FROM sso_reauths WHERE uia_session = ? RETURNING user_id", uia_session
        )
        return None if row is None else str(row[0])

    async def subjects_of_user(self, q: Queryable, user_id: str) -> list[tuple[str, str]]:
        rows = await q.fetch_all(
            "SELECT idp_id, subject FROM sso_identities WHERE user_id = ? ORDER BY idp_id",
            user_id,
        )
        return [(str(r[0]), str(r[1])) for r in rows]

    async def replace_subjects(
        self, q: Queryable, user_id: str, links: list[tuple[str, str]], now_ms: int
    ) -> None:
        await q.execute("DELETE FROM sso_identities WHERE user_id = ?", user_id)
        for idp_id, subject in links:
            await self.link_subject(q, idp_id, subject, user_id, now_ms)
