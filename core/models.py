"""Import every core model so ``Base.metadata`` is complete (Alembic, tests)."""
from bayline.auth.models import ApiKey, User
from bayline.claims.models import Claim, EtaHistory, Stage, StageHistory
from bayline.messages.models import Message
from bayline.messaging.models import ConsentEvent, ConsentRecord, OutboxItem, Suppression
from bayline.photos.models import Attachment, FileAudit, Photo
from bayline.portal.models import PortalAttempt, PortalToken
from bayline.tenants.models import (
    Group,
    GroupMembership,
    Membership,
    Plan,
    PlanFeature,
    Shop,
    ShopAddon,
    ShopFeatureToggle,
    ShopSetting,
    StageTemplate,
)

__all__ = [
    "ApiKey", "Attachment", "Claim", "ConsentEvent", "ConsentRecord", "EtaHistory", "FileAudit", "Group",
    "GroupMembership", "Membership", "Message", "OutboxItem", "Photo", "Plan", "PlanFeature", "PortalAttempt",
    "PortalToken", "Shop", "ShopAddon", "ShopFeatureToggle", "ShopSetting", "Stage", "StageHistory", "StageTemplate",
    "Suppression", "User",
]
