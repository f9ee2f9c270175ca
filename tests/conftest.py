"""Shared fixtures: a small network, named personas, and signing in the real way."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import OrganizationFactory, SiteFactory
from uketome.accounts.models import User
from uketome.accounts.roles import Role
from uketome.accounts.services import membership_grant, staff_create
from uketome.network.models import Organization, OrganizationKind, Site

PASSWORD = "correct horse battery staple 7"


def pytest_report_header(config: Any) -> str:
    url = os.environ.get("UKETOME_TEST_DATABASE_URL", "")
    return f"uketome database: {url.split('@')[-1] if url else 'SQLite (temporary)'}"


@pytest.fixture(autouse=True)
def _check_ci_database(request: pytest.FixtureRequest) -> None:
    """In CI, a run asked to use PostgreSQL must really be on PostgreSQL."""
    if os.environ.get("CI") and os.environ.get("UKETOME_TEST_DATABASE_URL", "").startswith(
        "postgres"
    ):
        assert connection.vendor == "postgresql"


@pytest.fixture(scope="session", autouse=True)
def _chat_database_thread(django_db_setup: Any) -> Any:
    """The chat's database threads and asgiref's sync thread keep their connections;
    close them before the test database is dropped."""
    yield
    from asgiref.sync import sync_to_async
    from django.db import connections

    from uketome.chat.hub import background_thread, database_thread

    database_thread.close_connections()
    background_thread.close_connections()
    run_async(lambda: sync_to_async(connections.close_all)())


@pytest.fixture
def server_up_for_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process started long ago: the sweep may return a chat whose listener is gone
    (it returns none in a process's first minutes, chat/services.py ``STARTED``), whatever
    the tests that ran before this one."""
    from datetime import timedelta

    from django.utils import timezone

    from uketome.chat import services

    monkeypatch.setattr(services, "STARTED", timezone.now() - timedelta(days=1))


def process_env(data_dir: Any, **extra: str) -> dict[str, str]:
    """The environment for an ``uketome`` child process: this one's without any
    ``UKETOME_`` setting or settings module, in debug mode with its own data directory."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("UKETOME_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env.update({"UKETOME_DEBUG": "true", "UKETOME_DATA_DIR": str(data_dir), **extra})
    return env


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def network(db: Any) -> dict[str, Any]:
    """The operator, a government department and two sites (津 and 鈴鹿)."""
    operator = OrganizationFactory(name="運営NPO", is_operator=True)
    government = OrganizationFactory(
        name="県子ども・福祉部", kind=OrganizationKind.GOVERNMENT, is_signatory=True
    )
    tsu = SiteFactory(name="津", slug="tsu", organization=operator)
    suzuka = SiteFactory(name="鈴鹿", slug="suzuka", organization=operator)
    return {"operator": operator, "government": government, "tsu": tsu, "suzuka": suzuka}


@pytest.fixture
def make_staff(network: dict[str, Any]) -> Callable[..., User]:
    """make_staff(role, site="tsu") -> a user with that role, password PASSWORD."""
    counter = iter(range(1, 10_000))

    def make(role: Role, site: str | None = None, username: str | None = None) -> User:
        n = next(counter)
        user = staff_create(
            actor=None,
            username=username or f"{role}-{n}",
            last_name="山田",
            first_name=f"花子{n}",
            password=PASSWORD,
        )
        organization: Organization = (
            network["government"] if role == Role.GOVERNMENT_PARTNER else network["operator"]
        )
        where: Site | None = network[site] if site else None
        membership_grant(actor=None, user=user, role=role, organization=organization, site=where)
        return user

    return make


@pytest.fixture
def personas(make_staff: Callable[..., User]) -> dict[str, User]:
    """One person per role: a listener at 津, a supervisor at 鈴鹿, and so on."""
    return {
        "listener_tsu": make_staff(Role.LISTENER, "tsu", "listener_tsu"),
        "supporter_tsu": make_staff(Role.SUPPORTER, "tsu", "supporter_tsu"),
        "supervisor_suzuka": make_staff(Role.SUPERVISOR, "suzuka", "supervisor_suzuka"),
        "coordinator_tsu": make_staff(Role.SITE_COORDINATOR, "tsu", "coordinator_tsu"),
        "secretariat": make_staff(Role.SECRETARIAT, None, "secretariat"),
        "government": make_staff(Role.GOVERNMENT_PARTNER, None, "government"),
        "fostercare": make_staff(Role.FOSTER_CARE_STAFF, None, "fostercare"),
        "sysadmin": make_staff(Role.SYSTEM_ADMIN, None, "sysadmin"),
    }


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.fixture
def sign_in() -> Callable[..., Client]:
    """sign_in(user) -> a client signed in through the login page, with 2FA where the
    role needs it (enrolling a device first if the user has none)."""

    def do(user: User, client: Client | None = None) -> Client:
        client = client or Client()
        response = client.post(
            reverse("accounts:login"), {"username": user.username, "password": PASSWORD}
        )
        assert response.status_code == 302, response.content[:500]
        if user.needs_two_factor:
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
            if device is None:
                client.get(reverse("accounts:two_factor"))
                device = TOTPDevice.objects.get(user=user, confirmed=False)
            response = client.post(reverse("accounts:two_factor"), {"token": current_code(device)})
            assert response.status_code == 302, response.content[:500]
        return client

    return do


def run_async(factory: Callable[[], Any]) -> Any:
    """Run a coroutine to the end in a thread of its own (with its own event loop).

    The browser tests keep Playwright's event loop running in the main thread for the
    whole session, so async test code must not start its loop there.
    """
    import asyncio
    import threading

    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(factory())
        except BaseException as error:  # re-raised in the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=60)
    if thread.is_alive():
        raise TimeoutError("the coroutine did not finish within 60 seconds")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
