"""Import every core model so ``Base.metadata`` is complete (Alembic, tests)."""
from bayline.auth.models import ApiKey, User
from bayline.claims.models import Claim, EtaHistory, Stage, StageHistory
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
    "ApiKey", "Claim", "EtaHistory", "Group", "GroupMembership", "Membership", "Plan", "PlanFeature",
    "Shop", "ShopAddon", "ShopFeatureToggle", "ShopSetting", "Stage", "StageHistory", "StageTemplate", "User",
]
