"""Shared fixtures: a real Redis server, a real database (SQLite always, PostgreSQL too when
TEST_DATABASE_URL is set), and the Flask app wired to both."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import inspect, text

from service.config import Settings
from service.embedded_redis import EmbeddedRedis
from service.storage import Base, make_engine, make_session_factory
from service.storage.migrate import recreate, upgrade

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(scope="session", autouse=True)
def _model_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """An empty model registry: the shipped default classifier is active (and stays so,
    whatever a developer promoted in ./instance)."""
    old = os.environ.get("VIMOD_MODEL_REGISTRY")
    os.environ["VIMOD_MODEL_REGISTRY"] = str(tmp_path_factory.mktemp("registry"))
    yield
    if old is None:
        os.environ.pop("VIMOD_MODEL_REGISTRY", None)
    else:
        os.environ["VIMOD_MODEL_REGISTRY"] = old


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """TEST_REDIS_URL if given, else our own redis-server on a free port."""
    if url := os.environ.get("TEST_REDIS_URL"):
        yield url
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis")).start()
    yield server.url
    server.stop()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    else:
        url = os.environ["TEST_DATABASE_URL"]
        recreate(url)
        return url
    upgrade(url)
    return url


@pytest.fixture
def engine(database_url: str):  # noqa: ANN201
    engine = make_engine(database_url)
    _delete_all_rows(engine)
    yield engine
    engine.dispose()


def _delete_all_rows(engine) -> None:  # noqa: ANN001
    tables = [t for t in reversed(Base.metadata.sorted_tables) if inspect(engine).has_table(t.name)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(t.name for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture
def sessions(engine):  # noqa: ANN001, ANN201
    return make_session_factory(engine)


@pytest.fixture
def settings(tmp_path: Path, database_url: str, redis_url: str) -> Settings:
    return Settings(
        instance=tmp_path / "instance",
        database_url=database_url,
        redis_url=redis_url,
        secret_key="test-secret",
        ratelimit_ip="1000 per minute",
        ratelimit_site="10000 per minute",
        metrics_public=True,  # as `vimod dev`; tests/test_metrics_access.py tests the rest
    )


@pytest.fixture
def app(settings: Settings, engine, redis_client):  # noqa: ANN001, ANN201
    from service.app import create_app

    app = create_app(settings, TESTING=True)
    yield app
    app.extensions["vimod.engine"].dispose()


@pytest.fixture
def client(app):  # noqa: ANN001, ANN201
    return app.test_client()


@pytest.fixture
def site(sessions):  # noqa: ANN001, ANN201
    """A site and its secret key: (site_id, api_key)."""
    from service.accounts import create_site

    with sessions() as session:
        new = create_site(session, "Báo Thử Nghiệm", domain="baothu.vn")
        session.commit()
        return new.site.id, new.api_key


@pytest.fixture
def resources(sessions, redis_client):  # noqa: ANN001, ANN201
    """What the pipeline phases use: the test database and the real test Redis."""
    from workers.pipeline.resources import Resources

    return Resources(sessions, redis_client)
