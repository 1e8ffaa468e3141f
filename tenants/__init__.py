"""Tenancy: groups → shops (locations) → staff, the plan catalogue and entitlements."""

if __name__ != "bayline.tenants":  # the source folder imported by its folder name: a second copy of the models
    raise ImportError(f"{__name__!r} is the source folder tenants/ of the package 'bayline.tenants' (setup.cfg maps "
                      "it): import bayline.tenants, never the folder by its own name")


