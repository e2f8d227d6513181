"""`/ws`: authenticate, then read client messages until the connection ends.

Authentication is an access token, as `?token=` or as the first message
(`{"op": "auth", "token": ...}` within `ws_auth_timeout_s`); browsers cannot set headers on
a WebSocket, and a token in the first message stays out of URLs and access logs. The same
message later replaces the token before it expires (same user only). Every channel needs
its permission; trading channels also need an account the user owns.

Each connection runs two tasks beside the ASGI one: the reader (client messages) and the
pump (frames out). Whichever way the connection ends, `Connection.done` is set, both
tasks are cancelled, and the close frame carries the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import orjson
import structlog
from starlette.websockets import WebSocket

from argosy.kernel.errors import ArgosyError, Forbidden, Invalid, Unauthorized
from argosy.services.gateway.authn import BearerAuth, principal_of
from argosy.services.gateway.domain.channels import (
    CLOSE_AUTH,
    CLOSE_OVERLOADED,
    CLOSE_RATE,
    Command,
    parse_command,
    resolve_channel,
)
from argosy.services.gateway.domain.limits import Limit
from argosy.services.gateway.ratelimit import Admission
from argosy.services.gateway.settings import GatewaySettings
from argosy.services.gateway.streams.accounts import AccountDirectory
from argosy.services.gateway.streams.connection import Connection
from argosy.services.gateway.streams.hub import Hub

__all__ = ["WsEndpoint"]

log = structlog.get_logger("argosy.gateway.ws")


def _reply(op: str, cmd: Command | None = None, **fields: object) -> str:
    body: dict[str, object] = {"op": op, **fields}
    if cmd is not None and cmd.id is not None:
        body["id"] = cmd.id
    return orjson.dumps(body).decode()


def _error(exc: ArgosyError, cmd: Command | None = None) -> str:
    return _reply("error", cmd, code=exc.code, message=exc.message, field=exc.field)


class WsEndpoint:
    def __init__(
        self,
        hub: Hub,
        bearer: BearerAuth,
        accounts: AccountDirectory,
        admission: Admission,
        settings: GatewaySettings,
        client_ip: Callable[[WebSocket], str],
    ) -> None:
        self.hub, self.bearer, self.accounts, self.admission = hub, bearer, accounts, admission
        self.settings, self._client_ip = settings, client_ip
        self._rate = Limit(settings.ws_messages_per_s, settings.ws_messages_per_s * 2)

    async def __call__(self, ws: WebSocket) -> None:
        ip = self._client_ip(ws)
        try:
            self.admission.enter(ip)
        except ArgosyError:
            await ws.close(code=CLOSE_OVERLOADED)
            return
        conn: Connection | None = None
        try:
            await ws.accept()
            conn = Connection(ws, ip=ip, max_queue=self.settings.ws_queue_size,
                              rate=self._rate, now=time.monotonic(),
                              ping_interval_s=self.hub.ping_interval_s)
            if await self._authenticate(conn):
                await self._serve(conn)
        finally:
            self.admission.leave(ip)
            if conn is not None:
                await self.hub.unregister(conn)

    async def _authenticate(self, conn: Connection) -> bool:
        token = conn.ws.query_params.get("token")
        cmd: Command | None = None
        try:
            if token is None:
                async with asyncio.timeout(self.settings.ws_auth_timeout_s):
                    raw = await conn.ws.receive_text()
                cmd = parse_command(raw)
                if cmd.op != "auth" or cmd.token is None:
                    raise Unauthorized("first message must be {\"op\": \"auth\", \"token\": ...}")
                token = cmd.token
            claims = await self.bearer.verify(token)
        except (TimeoutError, ArgosyError) as exc:
            err = exc if isinstance(exc, ArgosyError) else Unauthorized("no token in time")
            with contextlib.suppress(Exception):
                await conn.ws.send_text(_error(err, cmd))
            conn.kill(CLOSE_AUTH, err.message)
            await conn.close()
            return False
        except Exception:  # the client left during the handshake
            return False
        conn.claims, conn.principal = claims, principal_of(claims)
        conn.offer(_reply("authenticated", cmd, user=claims.sub, expires_at=claims.exp))
        return True

    async def _serve(self, conn: Connection) -> None:
        self.hub.register(conn)
        pump = asyncio.create_task(conn.pump())
        reader = asyncio.create_task(self._read(conn))
        try:
            await conn.done.wait()
        finally:
            for task in (reader, pump):
                task.cancel()
            await asyncio.gather(reader, pump, return_exceptions=True)
            if conn.closing is not None:
                await conn.close()

    async def _read(self, conn: Connection) -> None:
        try:
            while conn.closing is None:
                message = await conn.ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                raw = message.get("text") or message.get("bytes") or b""
                if conn.bucket.take(time.monotonic()) > 0:
                    self.hub.drop(conn, CLOSE_RATE, "too many messages", "rate")
                    break
                await self._dispatch(conn, raw)
        finally:
            conn.done.set()

    async def _dispatch(self, conn: Connection, raw: str | bytes) -> None:
        cmd: Command | None = None
        try:
            cmd = parse_command(raw)
            if cmd.op == "subscribe":
                await self._subscribe(conn, cmd)
            elif cmd.op == "unsubscribe":
                await self._unsubscribe(conn, cmd)
            elif cmd.op == "auth":
                await self._reauth(conn, cmd)
            elif cmd.op == "ping":
                conn.offer(_reply("pong", cmd))
            else:  # pong
                self.hub.pong(conn)
        except ArgosyError as exc:
            conn.offer(_error(exc, cmd))

    async def _subscribe(self, conn: Connection, cmd: Command) -> None:
        assert cmd.channel is not None
        assert conn.principal is not None
        assert conn.claims is not None
        channel = resolve_channel(cmd.channel, account=cmd.account, user_id=conn.claims.sub)
        if channel.key in conn.channels:
            conn.offer(_reply("subscribed", cmd, channel=channel.name, account=channel.account))
            return
        if len(conn.channels) >= self.settings.ws_max_subscriptions:
            raise Invalid(f"at most {self.settings.ws_max_subscriptions} subscriptions",
                          field="channel")
        conn.principal.require(channel.permission)
        if channel.account is not None and not await self.accounts.owns(
            conn.principal, channel.account
        ):
            raise Forbidden(f"account {channel.account} is not yours", field="account")
        await self.hub.subscribe(conn, channel)
        conn.offer(_reply("subscribed", cmd, channel=channel.name, account=channel.account))

    async def _unsubscribe(self, conn: Connection, cmd: Command) -> None:
        assert cmd.channel is not None
        assert conn.claims is not None
        channel = resolve_channel(cmd.channel, account=cmd.account, user_id=conn.claims.sub)
        await self.hub.unsubscribe(conn, channel.key)
        conn.offer(_reply("unsubscribed", cmd, channel=channel.name, account=channel.account))

    async def _reauth(self, conn: Connection, cmd: Command) -> None:
        assert cmd.token is not None
        assert conn.claims is not None
        claims = await self.bearer.verify(cmd.token)
        if claims.sub != conn.claims.sub:
            raise Unauthorized("a connection keeps its user; open a new one")
        conn.claims, conn.principal = claims, principal_of(claims)
        conn.offer(_reply("authenticated", cmd, user=claims.sub, expires_at=claims.exp))
