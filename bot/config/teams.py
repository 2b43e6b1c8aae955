"""The ``platforms.teams`` section: the bot's Azure identity, and who may act per brand."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

_AAD_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


class TeamsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    app_id: str = Field(
        description="The bot's Microsoft App ID (a GUID, on the Azure Bot resource's "
        "Configuration page); use ${TEAMS_APP_ID}. Empty "
        "only for local tests on a loopback http.host: every request is then accepted "
        "unauthenticated."
    )
    app_password: SecretStr | None = Field(
        None, description="Its client secret; use ${TEAMS_APP_PASSWORD}."
    )
    tenant_id: str = Field(
        "",
        description="Directory (tenant) id, a GUID: activities from any other Microsoft 365 "
        "organisation are refused (403). Required for SingleTenant; recommended always, since "
        "anyone can install a multi-tenant app in their own organisation.",
    )
    app_type: Literal["MultiTenant", "SingleTenant", "UserAssignedMSI"] = Field(
        "MultiTenant", description="How the Azure Bot resource was created."
    )
    cloud: Literal["public", "us-government"] = Field(
        "public",
        description="Which Azure cloud the bot lives in: 'us-government' for Azure Government "
        "(GCC High, DoD): its token issuer, login and connector audience.",
    )
    openid_metadata_url: str | None = Field(
        None,
        description="Override where the Bot Connector's signing keys are described (a private "
        "deployment, a test); everything else stays the cloud's.",
    )
    responders: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Who may acknowledge, snooze, resolve and silence, per brand slug ('*' for "
        "all): Microsoft Entra (AAD) object ids. Empty: anyone who sees a card.",
    )
    approvers: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Who may approve, edit or reject reply drafts, per brand slug ('*' for all): "
        "Entra object ids. Empty: nobody.",
    )

    @field_validator("app_id")
    @classmethod
    def _app_id(cls, app_id: str) -> str:
        app_id = app_id.strip()
        if app_id and not _AAD_ID.match(app_id):
            raise ValueError(
                f"{app_id!r} is not a Microsoft App ID: it is a GUID "
                "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx), shown as 'Microsoft App ID' on the "
                "Azure Bot resource's Configuration page; Teams' tokens are addressed to it"
            )
        return app_id

    @field_validator("tenant_id")
    @classmethod
    def _tenant_id(cls, tenant_id: str) -> str:
        tenant_id = tenant_id.strip()
        if tenant_id and not _AAD_ID.match(tenant_id):
            raise ValueError(
                f"{tenant_id!r} is not a directory (tenant) id: it is a GUID "
                "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx), not a domain name; Teams sends that "
                "GUID with every activity, so any other value refuses them all (403). Find it "
                "as 'Tenant ID' on Microsoft Entra ID's Overview page in the Azure portal (or "
                "'App Tenant ID' on the Azure Bot's Configuration page)"
            )
        return tenant_id

    @field_validator("responders", "approvers")
    @classmethod
    def _object_ids(cls, people: dict[str, list[str]]) -> dict[str, list[str]]:
        for brand, ids in people.items():
            for object_id in ids:
                if not _AAD_ID.match(object_id):
                    raise ValueError(
                        f"{brand}: {object_id!r} is not a Microsoft Entra object id "
                        "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, in the user's Entra profile)"
                    )
        return {brand: [i.lower() for i in ids] for brand, ids in people.items()}

    @model_validator(mode="after")
    def _credentials(self) -> TeamsSettings:
        if self.app_id and self.app_type != "UserAssignedMSI" and self.app_password is None:
            raise ValueError("platforms.teams needs app_password with app_id")
        if self.app_type == "SingleTenant" and not self.tenant_id:
            raise ValueError("platforms.teams: SingleTenant needs tenant_id")
        return self
