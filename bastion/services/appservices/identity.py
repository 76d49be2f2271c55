"""An application service acting as its users (spec: application-service-api, "Identity
assertion" and "Server admin style permissions").

A request whose access token is a registration's `as_token` acts as the user of its `user_id`
query parameter (or the registration's sender) and, with `device_id`, as that device. Refusals:
- a user outside its namespaces: 403 M_FORBIDDEN (Synapse's answer);
- a user it has not registered: 403 M_FORBIDDEN (the sender is created on first use);
- a deactivated account: 403 M_USER_DEACTIVATED; an account an admin locked: 401 M_USER_LOCKED
  (offboarding a bridged user ends the service's power to act as them, at once);
- a device that is not the user's: 400 M_UNKNOWN_DEVICE.
The requester is never a server admin, whatever the account (principal.py: a service acts as
its users, never as an admin), and carries the registration's ID, which the audit log names.
Without `device_id` it has no device (`device_id` ""): endpoints that need one refuse.

Registration (`m.login.application_service`) creates passwordless accounts in the service's
namespaces (400 M_EXCLUSIVE outside them or in another service's exclusive namespace) and
login issues a device and token for one of its users; both are audited with the service as
the actor.
"""

from __future__ import annotations

from bastion.errors import Errcode, MatrixError
from bastion.ids import is_valid_device_id
from bastion.services.accounts import AccountService
from bastion.services.appservices.registration import AppServiceRegistration
from bastion.services.appservices.registry import AppServiceRegistry
from bastion.services.auth import AuthService, Session
from bastion.services.credentials import account_locked, refuse_unusable
from bastion.services.principal import AppService, Requester
from bastion.services.ratelimit import RateLimiter
from bastion.store.database import Database
from bastion.store.protocols import DeviceStore, UserStore

LOGIN_TYPE = "m.login.application_service"


class AppServiceIdentities:
    """Identity assertion, and the service's registration and login of its users."""

    def __init__(
        self,
        db: Database,
        registry: AppServiceRegistry,
        stores: tuple[UserStore, DeviceStore],
        accounts: AccountService,
        auth: AuthService,
        limiter: RateLimiter,
    ) -> None:
        self._db = db
        self.registry = registry
        self._users, self._devices = stores
        self._accounts = accounts
        self._auth = auth
        self._limiter = limiter

    async def assert_identity(
        self, registration: AppServiceRegistration, user_id: str | None, device_id: str | None
    ) -> Requester:
        """The requester an as_token request acts as (module docstring)."""
        target = user_id or registration.sender
        if not registration.owns_user(target):
            raise MatrixError(
                403,
                Errcode.FORBIDDEN,
                f"Application service {registration.id} cannot masquerade as {target}",
            )
        user = await self._users.get_user(self._db, target)
        if user is None and target == registration.sender:
            await self.ensure_sender(registration)
            user = await self._users.get_user(self._db, target)
        if user is None:
            raise MatrixError(
                403, Errcode.FORBIDDEN, f"Application service has not registered {target}"
            )
        refuse_unusable(user)
        if device_id and await self._devices.get_device(self._db, target, device_id) is None:
            raise MatrixError(400, Errcode.UNKNOWN_DEVICE, f"{target} has no device {device_id}")
        if registration.rate_limited and target != registration.sender:
            self._limiter.hit(target)
        return Requester(target, device_id or "", False, appservice=registration.id)

    async def ensure_sender(self, registration: AppServiceRegistration) -> None:
        """Create the service's own user if it does not exist (any state of an existing one
        is kept)."""
        if await self._users.get_user(self._db, registration.sender) is not None:
            return
        try:
            await self._create(registration, registration.sender)
        except MatrixError as exc:  # made meanwhile by another request or process
            if exc.errcode != Errcode.USER_IN_USE:
                raise

    async def register(
        self,
        registration: AppServiceRegistration,
        username: str | None,
        *,
        inhibit_login: bool,
        device: tuple[str | None, str | None] = (None, None),
    ) -> tuple[str, Session | None]:
        """`POST /register` with `m.login.application_service`: a passwordless account."""
        if not username:
            raise MatrixError(400, Errcode.MISSING_PARAM, "username is required")
        localpart = username[1:].partition(":")[0] if username.startswith("@") else username
        user_id = self._accounts.user_id_for(localpart, for_appservice=True)
        self.registry.check_user_creation(user_id, registration.id)
        if device[0] is not None and not is_valid_device_id(device[0]):
            raise MatrixError(400, Errcode.INVALID_PARAM, "device_id must be printable ASCII")
        session = await self._create(
            registration, user_id, session=None if inhibit_login else device
        )
        return user_id, session

    async def login(
        self,
        registration: AppServiceRegistration,
        user_id: str,
        device: tuple[str | None, str | None],
    ) -> Session:
        """`POST /login` with `m.login.application_service`: a device and token for one of
        its users (403 M_EXCLUSIVE for another user)."""
        if not registration.owns_user(user_id):
            raise MatrixError(
                403, Errcode.EXCLUSIVE, f"{user_id} is outside the namespaces of {registration.id}"
            )
        user = await self._users.get_user(self._db, user_id)
        if user is None or user.is_deactivated:
            raise MatrixError(403, Errcode.FORBIDDEN, f"{user_id} cannot log in")
        if user.admin_locked:
            raise account_locked()
        device_id, display_name = device
        if device_id is not None and not is_valid_device_id(device_id):
            raise MatrixError(400, Errcode.INVALID_PARAM, "device_id must be printable ASCII")
        actor = AppService(registration.id)
        async with self._db.transaction() as txn:
            session = await self._auth.issue_session(txn, user_id, device_id, display_name)
            details = {"device_id": session.device_id}
            await self._accounts.audit.record(txn, actor, "login.success", user_id, details)
        if device_id is not None:
            await self._auth.tokens_replaced(user_id)
        return session

    async def _create(
        self,
        registration: AppServiceRegistration,
        user_id: str,
        *,
        session: tuple[str | None, str | None] | None = None,
    ) -> Session | None:
        """Insert the account (audited, the service as actor) and maybe its first session."""
        actor = AppService(registration.id)
        issued = None
        async with self._db.transaction() as txn:
            await self._accounts.insert_account(
                txn, user_id, None, is_admin=False, creator=registration.id
            )
            await self._accounts.audit.record(
                txn, actor, "user.create", user_id, {"appservice": registration.id}
            )
            if session is not None:
                issued = await self._auth.issue_session(txn, user_id, *session)
        await self._accounts.announce_created(user_id)
        return issued
