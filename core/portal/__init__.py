"""Customer portal access: token links (hash-only storage), verification attempts."""
