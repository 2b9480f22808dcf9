"""Payload shapes of the Durable HTTP API: management URLs and the ``durableClient`` binding JSON.

These are the DF extension's ``HttpManagementPayload`` and ``BindingHelper`` shapes; the engine does
not know them (it has no URL), the HTTP API and the host's client binding do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

WEBHOOK_PATH = "/runtime/webhooks/durabletask"
RPC_PATH = "/durabletask"


@dataclass(frozen=True)
class DurableUrls:
    """URLs of the Durable HTTP API for one task hub.

    ``base_url`` is the host's origin (``http://127.0.0.1:7071``) or the full webhook base
    (``.../runtime/webhooks/durabletask``); both are accepted. ``key`` is the system key the public
    webhooks require (management URLs carry it as ``code=``). ``rpc_base_url`` is where the SDK's
    client calls go: like the extension's loopback listener (``http://127.0.0.1:17071/durabletask/``)
    it needs no key; None means the webhook base (no separate listener, no key: unit tests).
    """

    base_url: str
    hub_name: str
    key: str | None = None
    rpc_base_url: str | None = None

    @property
    def webhook_base(self) -> str:
        base = self.base_url.rstrip("/")
        return base if base.endswith(WEBHOOK_PATH) else base + WEBHOOK_PATH

    def management_query(self) -> str:
        """The query string the extension appends to management URLs."""
        query = f"taskHub={self.hub_name}&connection=Storage"
        return f"{query}&code={self.key}" if self.key else query

    def management_urls(self, instance_id: str) -> dict[str, str]:
        """The HttpManagementPayload for one instance."""
        base = f"{self.webhook_base}/instances/{instance_id}"
        query = self.management_query()
        return {
            "id": instance_id,
            "statusQueryGetUri": f"{base}?{query}",
            "sendEventPostUri": f"{base}/raiseEvent/{{eventName}}?{query}",
            "terminatePostUri": f"{base}/terminate?reason={{text}}&{query}",
            "rewindPostUri": f"{base}/rewind?reason={{text}}&{query}",
            "purgeHistoryDeleteUri": f"{base}?{query}",
            "restartPostUri": f"{base}/restart?{query}",
            "suspendPostUri": f"{base}/suspend?reason={{text}}&{query}",
            "resumePostUri": f"{base}/resume?reason={{text}}&{query}",
        }

    def client_binding_json(self) -> str:
        """The JSON string a ``durableClient`` binding receives (DF extension's BindingHelper shape)."""
        query = self.management_query()
        webhook_base = self.webhook_base
        start = f"{webhook_base}/orchestrators/{{functionName}}[/{{instanceId}}]?{query}"
        payload = {
            "taskHubName": self.hub_name,
            "connectionName": "Storage",
            "creationUrls": {
                "createNewInstancePostUri": start,
                "createAndWaitOnNewInstancePostUri": start.replace(
                    "?", "?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&", 1
                ),
            },
            "managementUrls": self.management_urls("INSTANCEID"),
            "baseUrl": webhook_base,
            "requiredQueryStringParameters": f"code={self.key}" if self.key else "",
            "rpcBaseUrl": self.rpc_base_url or webhook_base + "/",
            "httpBaseUrl": None,
        }
        return json.dumps(payload)
