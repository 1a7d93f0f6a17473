"""The test PostgreSQL server starts, authenticates by password, and keeps databases apart."""

from __future__ import annotations

import pytest

from tests.services.postgres import PostgresServer


def test_server_answers_with_password_and_makes_databases(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database("services_selftest")
    assert url.endswith(f"@127.0.0.1:{postgres_server.port}/services_selftest")
    postgres_server.psql(
        "CREATE TABLE t (id int primary key); INSERT INTO t VALUES (1)", "services_selftest"
    )
    assert postgres_server.psql("SELECT count(*) FROM t", "services_selftest").strip() == "1"


def test_wrong_password_is_refused(postgres_server: PostgresServer) -> None:
    wrong = PostgresServer(
        postgres_server.host,
        postgres_server.port,
        postgres_server.user,
        "not-it",
        postgres_server.bindir,
    )
    with pytest.raises(RuntimeError, match="password authentication failed"):
        wrong.psql("SELECT 1")
