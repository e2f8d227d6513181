"""Every rules version is mirrored to the real config service (in-process), and a rollback
done there comes back as a new risk version."""

from __future__ import annotations

import httpx

from argosy.platform.auth.internal import Principal
from argosy.platform.clients.base import ServiceClient
from argosy.platform.clients.config import HttpConfigSource
from argosy.platform.settings import PlatformSettings
from argosy.services.config.app import create_app as create_config_app
from argosy.services.risk.service.rules import CONFIG_NAMESPACE
from tests.integration.risk.conftest import risk_settings, running

V1 = [{"id": "qty", "kind": "max_order_quantity", "limit": "1"}]
V2 = [{"id": "qty", "kind": "max_order_quantity", "limit": "5"}]


async def test_versions_mirrored_and_config_rollback_adopted(
    platform_settings: PlatformSettings,
) -> None:
    config_app = create_config_app(platform_settings)
    async with config_app.router.lifespan_context(config_app):
        await config_app.state.runtime.deps.ready("db")
        async with running(platform_settings, risk_settings()) as h:
            rt = h.runtime
            client = ServiceClient(
                "config", "http://config", auth=rt.auth, caller=rt.identity,
                transport=httpx.ASGITransport(app=config_app),
            )  # fmt: skip
            rules = h.state.rules
            rules._config = client
            await HttpConfigSource(client).register(
                "risk", [n.wire() for n in rt.live._namespaces.values()]
            )
            await h.call("PUT", "/api/v1/risk/rules", json={"rules": V1})
            assert await rules.mirror()
            await h.call("PUT", "/api/v1/risk/rules", json={"rules": V2})
            assert await rules.mirror()
            doc = await HttpConfigSource(client).fetch("risk", CONFIG_NAMESPACE)
            assert doc is not None
            assert doc.version == 2
            assert doc.content["risk_version"] == 2
            assert doc.content["rules"][0]["limit"] == "5"
            # an operator rolls back in the config service
            operator = Principal("operator:ops", frozenset({"config:read", "config:write"}))
            ops = ServiceClient(
                "config",
                "http://config",
                auth=rt.auth,
                caller=operator,
                transport=httpx.ASGITransport(app=config_app),
            )
            back = await ops.post_json(
                f"/api/v1/config/documents/risk/{CONFIG_NAMESPACE}/rollback", {"version": 1}
            )
            assert back["version"] == 3
            # what LiveConfig does on `config.changed.risk`
            await rules.on_config_change(CONFIG_NAMESPACE, back["content"], back["version"])
            current = (await h.call("GET", "/api/v1/risk/rules")).json()
            assert current["version"] == 3
            assert current["rules"][0]["limit"] == "1"
            # our own mirror of version 3 coming back is not adopted again
            assert await rules.mirror()
            mirrored = await HttpConfigSource(client).fetch("risk", CONFIG_NAMESPACE)
            assert mirrored is not None
            await rules.on_config_change(CONFIG_NAMESPACE, mirrored.content, mirrored.version)
            assert (await h.call("GET", "/api/v1/risk/rules")).json()["version"] == 3
            # a stale document (older than what was mirrored) never rolls the rules back
            await rules.on_config_change(CONFIG_NAMESPACE, doc.content, doc.version)
            assert (await h.call("GET", "/api/v1/risk/rules")).json()["version"] == 3
            await client.close()
            await ops.close()
