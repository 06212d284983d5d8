"""Staff roles and what each may do."""

from __future__ import annotations

REPORTER = "reporter"
OFFICER = "officer"
ADMIN = "admin"
ROLES = (REPORTER, OFFICER, ADMIN)


def parse_role(value: str) -> str:
    """Return a canonical role name, accepting Vietnamese aliases; raise ValueError otherwise."""
    aliases = {
        "reporter": REPORTER, "baocaovien": REPORTER, "canbo": REPORTER, "cbcs": REPORTER,
        "officer": OFFICER, "canbovanphong": OFFICER, "ban": OFFICER,
        "admin": ADMIN, "quantri": ADMIN,
    }
    key = value.strip().lower().replace(" ", "").replace("_", "")
    if key not in aliases:
        raise ValueError(f"unknown role {value!r}; use one of {', '.join(ROLES)}")
    return aliases[key]


def is_staff_over(role: str) -> bool:
    """Return True for roles that see their unit's whole subtree."""
    return role in (OFFICER, ADMIN)
