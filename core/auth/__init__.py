"""Staff authentication: users, roles, passwords, API keys."""
