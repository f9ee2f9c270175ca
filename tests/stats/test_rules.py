"""Who may do what with the statistics (the rules in core/permissions.py)."""

from __future__ import annotations

import pytest

from uketome.accounts.models import User

RULES = {
    "stats.view_statistics": {"secretariat", "government"},
    "stats.edit_report": {"secretariat", "government"},
    "stats.view_exact_counts": {"secretariat"},
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_role_allowed_and_denied(personas: dict[str, User], rule: str) -> None:
    for name, user in personas.items():
        assert user.has_perm(rule) is (name in RULES[rule]), f"{rule} for {name}"
