"""Staff sign-in: two-factor for everyone who can read counselling content, lockout,
idle timeout and secure headers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD, current_code
from uketome.accounts.models import User
from uketome.core.models import AuditEntry

PROTECTED = ["/staff/", "/staff/roster/", "/staff/network/", "/staff/core/audit/", "/staff/admin/"]


def _password_only(user: User) -> Client:
    client = Client()
    response = client.post(
        reverse("accounts:login"), {"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    return client


def test_staff_area_starts_at_the_login_page(db: Any, client: Client) -> None:
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login/")
    page = client.get("/staff/login/")
    assert page.status_code == 200
    assert "スタッフ ログイン" in page.content.decode()


@pytest.mark.parametrize(
    "persona",
    [
        "listener_tsu",
        "supporter_tsu",
        "supervisor_suzuka",
        "coordinator_tsu",
        "secretariat",
        "fostercare",
        "sysadmin",
    ],
)
def test_no_confirmed_device_no_protected_page(personas: dict[str, User], persona: str) -> None:
    client = _password_only(personas[persona])
    for path in PROTECTED:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(reverse("accounts:two_factor")), path


def test_enrolment_shows_a_qr_code_and_a_wrong_code_is_refused(
    personas: dict[str, User],
) -> None:
    user = personas["listener_tsu"]
    client = _password_only(user)
    page = client.get(reverse("accounts:two_factor")).content.decode()
    assert "<svg" in page
    assert "QRコード" in page
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    wrong = f"{(int(current_code(device)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("accounts:two_factor"), {"token": wrong})
    assert response.status_code == 200
    assert "コードが正しくありません" in response.content.decode()
    assert client.get("/staff/roster/").status_code == 302
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def test_enrolment_with_the_right_code_opens_the_staff_area(personas: dict[str, User]) -> None:
    user = personas["coordinator_tsu"]
    client = _password_only(user)
    client.get(reverse("accounts:two_factor"))
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    # Full-width digits, as a Japanese input method may type them, are accepted.
    code = current_code(device).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    response = client.post(reverse("accounts:two_factor"), {"token": code})
    assert response.status_code == 302
    assert client.get("/staff/roster/").status_code == 200
    assert TOTPDevice.objects.filter(user=user, confirmed=True).count() == 1
    assert AuditEntry.objects.filter(action="account.two_factor_enrolled").exists()


def test_enrolled_user_must_give_a_code_each_sign_in(
    personas: dict[str, User], sign_in: Callable[..., Client]
) -> None:
    user = personas["secretariat"]
    sign_in(user)  # enrols
    second = _password_only(user)
    assert second.get("/staff/").status_code == 302
    page = second.get(reverse("accounts:two_factor")).content.decode()
    assert "<svg" not in page  # no new QR code for an enrolled user
    response = second.post(reverse("accounts:two_factor"), {"token": "000000"})
    assert response.status_code == 200
    assert second.get("/staff/core/audit/").status_code == 302


def test_government_partner_signs_in_without_second_factor(
    personas: dict[str, User],
) -> None:
    client = _password_only(personas["government"])
    assert client.get("/staff/").status_code == 200


def test_lockout_after_repeated_failed_logins(personas: dict[str, User]) -> None:
    user = personas["listener_tsu"]
    client = Client()
    for _ in range(5):
        response = client.post(
            reverse("accounts:login"), {"username": user.username, "password": "wrong password"}
        )
    assert "ロック" in response.content.decode()
    # Now even the right password is refused, from any device.
    other = Client()
    response = other.post(
        reverse("accounts:login"), {"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 429
    assert "ロック" in response.content.decode()
    assert "_auth_user_id" not in other.session


def test_wrong_password_keeps_the_user_name_and_says_why(personas: dict[str, User]) -> None:
    response = Client().post(
        reverse("accounts:login"), {"username": "listener_tsu", "password": "wrong"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'value="listener_tsu"' in page
    assert "ユーザー名またはパスワードが正しくありません" in page


def test_idle_session_expires(
    personas: dict[str, User], sign_in: Callable[..., Client], settings: Any
) -> None:
    client = sign_in(personas["listener_tsu"])
    assert client.get("/staff/").status_code == 200
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE == 30 * 60
    # Thirty-one idle minutes later the session is gone.
    Session.objects.update(expire_date=timezone.now() - timedelta(minutes=1))
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login/")


def test_activity_keeps_the_session_alive(
    personas: dict[str, User], sign_in: Callable[..., Client]
) -> None:
    client = sign_in(personas["listener_tsu"])
    Session.objects.update(expire_date=timezone.now() + timedelta(minutes=1))
    assert client.get("/staff/").status_code == 200
    session = Session.objects.get()
    assert session.expire_date > timezone.now() + timedelta(minutes=29)


@pytest.mark.parametrize("path", ["/", "/staff/login/"])
def test_security_headers(db: Any, client: Client, path: str) -> None:
    response = client.get(path)
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_sign_out(personas: dict[str, User], sign_in: Callable[..., Client]) -> None:
    client = sign_in(personas["government"])
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert client.get("/staff/").status_code == 302


def test_next_parameter_cannot_send_people_elsewhere(personas: dict[str, User]) -> None:
    client = _password_only(personas["listener_tsu"])
    client.get(reverse("accounts:two_factor"))
    device = TOTPDevice.objects.get(user=personas["listener_tsu"], confirmed=False)
    response = client.post(
        reverse("accounts:two_factor") + "?next=https://evil.example/",
        {"token": current_code(device)},
    )
    assert response["Location"] == "/staff/"


def test_passwords_are_hashed_with_argon2(personas: dict[str, User]) -> None:
    stored = User.objects.get(username="listener_tsu").password
    assert stored.startswith("argon2$argon2id$")
    assert PASSWORD not in stored
