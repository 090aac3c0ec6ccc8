"""The recipes in ``deploy/``: their structure, every command they run, and those commands run for real.

Docker and Kubernetes are not on the test machines: the files are parsed, each command is checked
against the code (module, class, management command, every option), and the worker, web, migrate and
Redis commands are then started as processes with production settings.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis

from arq_django import embedded, enqueue
from tests.conftest import ROOT, WorkerProcess, wait_for
from tests.deploy_recipes import (
    COMPOSE_FILES,
    DEPLOY,
    PENDING_COMMANDS,
    PENDING_URLS,
    STOP_MARGIN,
    Command,
    Invocation,
    Pending,
    all_commands,
    check,
    compose,
    dockerfile,
    env_assignments,
    interpolate,
    k8s_documents,
    k8s_object,
    load_yaml,
    pod_spec,
    seconds,
    unit,
)

COMMANDS = all_commands()
WORKER_UNIT = DEPLOY / "systemd" / "arq-worker@.service"
WEB_UNIT = DEPLOY / "systemd" / "arq-web.service"
SUPERVISOR = DEPLOY / "supervisor" / "arq_django.conf"


def invocations(program: str, *, with_check: bool | None = None) -> list[Invocation]:
    """The distinct invocations of ``program`` across every recipe (``--check`` ones apart)."""
    found = {
        c.invocation
        for c in COMMANDS
        if c.invocation.program == program
        and (with_check is None or ("--check" in c.invocation.args) == with_check)
    }
    return sorted(found, key=lambda i: i.args)


def config_map() -> dict[str, str]:
    return dict(k8s_object("ConfigMap", "arq-django")["data"])


def container(doc: dict[str, Any], name: str) -> dict[str, Any]:
    spec = pod_spec(doc)
    assert spec is not None
    (found,) = [c for c in spec["containers"] if c["name"] == name]
    return dict(found)


def require_url(path: str) -> None:
    """The path resolves in the project's URLconf, or is pending (xfail)."""
    from django.urls import Resolver404, resolve

    try:
        resolve(path)
    except Resolver404:
        if path in PENDING_URLS:
            pytest.xfail(PENDING_URLS[path])
        raise AssertionError(f"{path} does not resolve in settings.urls") from None


# --- every command names real code ---------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS, ids=[c.source for c in COMMANDS])
def test_every_command_names_real_code_and_options(command: Command) -> None:
    try:
        check(command)
    except Pending as e:
        pytest.xfail(str(e))


def test_the_checker_rejects_what_does_not_exist() -> None:
    bad = [
        ("arq", "arq_django.worker.NoSuchSettings"),
        ("arq", "arq_django.worker.WorkerSettings", "--chek"),
        ("arq", "arq_django.conf.Config"),  # a class, but no functions
        ("python", "manage.py", "arq_wrker"),
        ("python", "manage.py", "migrate", "--no-inpt"),
        ("python", "manage.py", "migrate", "--noin"),  # argparse would take the prefix
        ("gunicorn", "settings.wsgi:nothing", "--bind", "0.0.0.0:8000"),
        ("gunicorn", "settings.wsgi:application", "--workers", "two"),
        ("python", "deploy/no_probe.py"),
        ("python", "deploy/http_probe.py", "http://x/", "--hots", "localhost"),
        ("gunicron", "settings.wsgi:application"),
    ]
    for argv in bad:
        with pytest.raises(AssertionError):
            check(Command("test", argv))


def test_pending_names_are_still_missing() -> None:
    """A pending name that exists now is checked like any other: it must leave the pending lists."""
    from django.core.management import get_commands
    from django.urls import Resolver404, resolve

    for name in PENDING_COMMANDS:
        assert name not in get_commands(), f"manage.py {name} exists now: remove it from PENDING_COMMANDS"
    for path in PENDING_URLS:
        try:
            resolve(path)
        except Resolver404:
            continue
        raise AssertionError(f"{path} resolves now: remove it from PENDING_URLS")


def test_every_recipe_runs_our_worker_and_web_commands() -> None:
    sources = {c.source.split()[0].split("/")[1] for c in COMMANDS if c.invocation.program == "arq"}
    assert sources >= {*COMPOSE_FILES, "k8s", "systemd", "supervisor"}
    assert invocations("arq", with_check=False) == [Invocation("arq", ("arq_django.worker.WorkerSettings",))]
    web = {c.source.split()[0].split("/")[1] for c in COMMANDS if c.invocation.program == "gunicorn"}
    assert web >= {"Dockerfile", *COMPOSE_FILES, "k8s", "systemd", "supervisor"}


def test_the_readme_describes_every_recipe() -> None:
    readme = (DEPLOY / "README.md").read_text()
    for path in sorted(DEPLOY.rglob("*")):
        if path.is_file() and path.name != "README.md":
            assert path.name in readme, f"deploy/README.md does not mention {path.relative_to(DEPLOY)}"
    for name in PENDING_COMMANDS:
        assert name in readme


# --- Dockerfile ----------------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_non_root_with_a_healthcheck() -> None:
    instructions = dockerfile()
    froms = [i.value for i in instructions if i.keyword == "FROM"]
    assert len(froms) >= 2 and re.search(r"\sAS build$", froms[0], re.I), froms
    assert any(i.keyword == "COPY" and i.value.startswith("--from=build ") for i in instructions)
    users = [i.value for i in instructions if i.keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), users
    # USER comes after the last RUN: nothing runs as root at start-up.
    last_run = max(n for n, i in enumerate(instructions) if i.keyword == "RUN")
    assert max(n for n, i in enumerate(instructions) if i.keyword == "USER") > last_run
    (health,) = [i.value for i in instructions if i.keyword == "HEALTHCHECK"]
    assert " CMD " in f" {health}" and "--interval=" in health


def test_dockerfile_copies_what_exists_and_installs_real_extras() -> None:
    import tomllib

    instructions = dockerfile()
    for ins in instructions:
        if ins.keyword == "COPY" and not ins.value.startswith("--from="):
            *sources, _ = [w for w in ins.value.split() if not w.startswith("--")]
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    installs = [re.search(r"\.\[([\w,]+)\]", i.value) for i in instructions if "pip install" in i.value]
    assert installs and all(installs)
    for match in installs:
        assert match is not None
        assert set(match.group(1).split(",")) <= extras, match.group(0)
    assert "deploy" in extras  # gunicorn and django-environ


# --- docker-compose.yml --------------------------------------------------------------------------


def test_compose_has_web_workers_redis_with_aof_and_postgres() -> None:
    services = compose()["services"]
    assert {"web", "worker", "redis", "db", "migrate"} <= set(services)
    redis_args = list(services["redis"]["command"])
    assert redis_args[redis_args.index("--appendonly") + 1] == "yes"
    assert services["db"]["image"].startswith("postgres:")
    assert services["worker"]["stop_signal"] == "SIGTERM"


def test_compose_wires_everything_by_environment() -> None:
    services = compose()["services"]
    env = services["web"]["environment"]
    for name in ("worker", "migrate"):
        assert services[name]["environment"] == env, f"{name} must share the web's settings"
    assert {"SECRET_KEY", "REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"} <= set(env)
    assert env["DJANGO_SETTINGS_MODULE"] == "settings.prod"
    shell = {"SECRET_KEY": "s3cret", "POSTGRES_PASSWORD": "pw"}
    assert urlsplit(interpolate(env["REDIS_URL"], shell)).hostname == "redis"
    database = urlsplit(interpolate(env["DATABASE_URL"], shell))
    db = services["db"]["environment"]
    assert (database.hostname, database.username) == ("db", db["POSTGRES_USER"])
    assert database.password == interpolate(db["POSTGRES_PASSWORD"], shell)
    assert database.path == f"/{db['POSTGRES_DB']}"
    for required in ("SECRET_KEY", "POSTGRES_PASSWORD"):  # no default secrets: compose must refuse to start
        with pytest.raises(KeyError, match=required):
            interpolate(env["SECRET_KEY"] + env["DATABASE_URL"], {**shell, required: ""})
    # The image's HEALTHCHECK sends Host: localhost.
    assert "localhost" in interpolate(env["DJANGO_ALLOWED_HOSTS"], {}).split(",")


def test_compose_worker_can_be_scaled() -> None:
    worker = compose()["services"]["worker"]
    for key in ("container_name", "ports", "hostname"):
        assert key not in worker, f"worker.{key} breaks `docker compose up --scale worker=N`"


CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")


def test_compose_references_exist() -> None:
    doc = compose()
    services = doc["services"]
    for name, service in services.items():
        for target, spec in service.get("depends_on", {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            assert spec["condition"] in CONDITIONS
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{target} has no healthcheck"
        if "build" in service:
            context = (DEPLOY / service["build"]["context"]).resolve()
            assert context == ROOT
            assert (context / service["build"]["dockerfile"]).is_file()
        for volume in service.get("volumes", []):
            assert volume.split(":")[0] in doc["volumes"]


# --- Kubernetes ----------------------------------------------------------------------------------


def test_k8s_web_probes_use_the_health_endpoints_with_an_allowed_host() -> None:
    web = container(k8s_object("Deployment", "arq-django-web"), "web")
    allowed = config_map()["DJANGO_ALLOWED_HOSTS"].split(",")
    assert web["readinessProbe"]["httpGet"]["path"] == "/arq/health/"
    assert web["livenessProbe"]["httpGet"]["path"] == "/arq/health/live"
    ports = {p["name"] for p in web["ports"]}
    for probe in ("readinessProbe", "livenessProbe"):
        get = web[probe]["httpGet"]
        assert get["port"] in ports
        headers = {h["name"]: h["value"] for h in get.get("httpHeaders", [])}
        assert headers.get("Host") in allowed, f"{probe}: Django answers 400 to a Host not in ALLOWED_HOSTS"


def test_k8s_worker_exec_probe_and_grace_period() -> None:
    deployment = k8s_object("Deployment", "arq-django-worker")
    worker = container(deployment, "worker")
    assert worker["livenessProbe"]["exec"]["command"]
    assert "readinessProbe" not in worker or "exec" in worker["readinessProbe"]
    wait = float(config_map()["ARQ_JOB_COMPLETION_WAIT"])
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace >= wait + STOP_MARGIN


def test_k8s_objects_reference_each_other() -> None:
    names = {(doc["kind"], doc["metadata"]["name"]) for _, doc in k8s_documents()}
    images = set()
    for path, doc in k8s_documents():
        spec = pod_spec(doc)
        assert "namespace" not in doc["metadata"], f"{path.name}: namespace-less, set it with kubectl -n"
        if spec is None:
            continue
        if doc["kind"] == "Deployment":
            labels = doc["spec"]["template"]["metadata"]["labels"]
            assert doc["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert spec["securityContext"]["runAsNonRoot"] is True
        for c in spec["containers"]:
            images.add(c["image"])
            for source in c.get("envFrom", []):
                for kind, ref in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                    if ref in source:
                        assert (kind, source[ref]["name"]) in names, f"{path.name}: no {kind}"
    assert len(images) == 1, f"web, workers and migrations must run one image: {images}"
    service = k8s_object("Service", "arq-django-web")
    web = k8s_object("Deployment", "arq-django-web")
    assert service["spec"]["selector"].items() <= web["spec"]["template"]["metadata"]["labels"].items()
    port_names = {p["name"] for p in container(web, "web")["ports"]}
    assert all(p["targetPort"] in port_names for p in service["spec"]["ports"])


def test_k8s_kustomization_lists_the_manifests() -> None:
    (kustomization,) = load_yaml(DEPLOY / "k8s" / "kustomization.yaml")
    listed = set(kustomization["resources"])
    present = {p.name for p in (DEPLOY / "k8s").glob("*.yaml")} - {"kustomization.yaml"}
    assert listed <= present
    # Applied by hand (see deploy/README.md): the Secret holds real values, the Job runs per release.
    assert present - listed == {"secret.example.yaml", "migrate-job.yaml"}


def test_k8s_secret_example_holds_what_settings_prod_requires() -> None:
    required = set(re.findall(r'env\("(\w+)"\)', (ROOT / "settings" / "prod.py").read_text()))
    assert {"SECRET_KEY", "REDIS_URL"} <= required
    secret = set(k8s_object("Secret", "arq-django")["stringData"])
    assert required | {"DATABASE_URL"} <= secret
    assert not secret & set(config_map()), "secrets belong in the Secret, not the ConfigMap"


# --- systemd and supervisor ----------------------------------------------------------------------


def test_systemd_units() -> None:
    assert WORKER_UNIT.name.endswith("@.service"), "a template: arq-worker@1.service ... @N"
    for path in (WORKER_UNIT, WEB_UNIT):
        service = unit(path)["Service"]
        assert service["KillSignal"] == "SIGTERM"
        assert service["User"] not in ("root", "0")
        assert "ExecStart" in service
        assert env_assignments(service["Environment"])["DJANGO_SETTINGS_MODULE"] == "settings.prod"
        assert unit(path)["Install"]["WantedBy"] == "multi-user.target"


def test_supervisor_programs() -> None:
    parser = unit(SUPERVISOR)
    programs = [s.removeprefix("program:") for s in parser.sections() if s.startswith("program:")]
    assert set(parser["group:arq_django"]["programs"].split(",")) == set(programs)
    for name in programs:
        program = parser[f"program:{name}"]
        assert program["stopsignal"] == "TERM"
        if int(program.get("numprocs", "1")) > 1:
            assert "%(process_num)" in program["process_name"], "supervisor needs a name per process"
        env = env_assignments(program["environment"])
        assert env["DJANGO_SETTINGS_MODULE"] == "settings.prod"
        for secret in ("SECRET_KEY", "REDIS_URL", "DATABASE_URL"):
            assert env[secret] == f"%(ENV_{secret})s", "secrets come from supervisord's environment"


def stop_timeouts() -> list[tuple[str, float, float]]:
    """(recipe, seconds before SIGKILL, ARQ_JOB_COMPLETION_WAIT it sets) for every worker recipe."""
    services = compose()["services"]
    worker_unit = unit(WORKER_UNIT)["Service"]
    worker_program = unit(SUPERVISOR)["program:arq_worker"]
    k8s = k8s_object("Deployment", "arq-django-worker")["spec"]["template"]["spec"]
    return [
        (
            "compose",
            seconds(services["worker"]["stop_grace_period"]),
            float(services["worker"]["environment"]["ARQ_JOB_COMPLETION_WAIT"]),
        ),
        ("k8s", k8s["terminationGracePeriodSeconds"], float(config_map()["ARQ_JOB_COMPLETION_WAIT"])),
        (
            "systemd",
            seconds(worker_unit["TimeoutStopSec"]),
            float(env_assignments(worker_unit["Environment"])["ARQ_JOB_COMPLETION_WAIT"]),
        ),
        (
            "supervisor",
            float(worker_program["stopwaitsecs"]),
            float(env_assignments(worker_program["environment"])["ARQ_JOB_COMPLETION_WAIT"]),
        ),
    ]


@pytest.mark.parametrize("recipe, timeout, wait", stop_timeouts(), ids=[t[0] for t in stop_timeouts()])
def test_stop_timeout_exceeds_the_job_completion_wait(recipe: str, timeout: float, wait: float) -> None:
    assert timeout >= wait + STOP_MARGIN, f"{recipe}: jobs would be SIGKILLed before the wait ends"


def test_durations() -> None:
    assert [seconds(t) for t in ("30", "30s", "1m30s", "2min", 40)] == [30, 30, 90, 120, 40]
    with pytest.raises(ValueError):
        seconds("30 parsecs")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    """Unknown keys, bad signal names and bad values are warnings: the output must be empty."""
    for path in (WORKER_UNIT, WEB_UNIT):
        text = path.read_text().replace("/srv/arq_django/.venv/bin", str(Path(sys.executable).parent))
        copy = tmp_path / path.name
        copy.write_text(text.replace("/srv/arq_django", str(ROOT)))
        result = subprocess.run(
            ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stderr


# --- the commands, run as processes --------------------------------------------------------------


def prod_env(redis_url: str, tmp: Path) -> dict[str, str]:
    """The ConfigMap's settings (settings.prod) with this machine's Redis, a throwaway SQLite database
    and a test secret; HOME in tmp for gunicorn's control socket."""
    return {
        **os.environ,
        **config_map(),
        "SECRET_KEY": "deploy-test-secret-key",
        "REDIS_URL": redis_url,
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "HOME": str(tmp),
    }


def run(inv: Invocation, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(inv.process_argv(), env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.integration
def test_worker_command_runs_jobs_passes_its_check_and_stops_on_sigterm(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    env = prod_env(redis_url, tmp_path)
    assert env["DJANGO_SETTINGS_MODULE"] == "settings.prod"
    (command,) = invocations("arq", with_check=False)
    checks = invocations("arq", with_check=True)
    assert checks, "the compose worker's healthcheck runs `arq ... --check`"
    worker = WorkerProcess(command.process_argv(), env, tmp_path / "worker.log")
    try:
        wait_for(lambda: worker.process.poll() is not None or worker.ready(), timeout=60)
        assert worker.process.poll() is None, worker.output()
        handle = enqueue("email", to="ops@example.com", subject="deploy", body="from a prod worker")
        assert handle is not None
        assert handle.result(timeout=30)["sent"] == 1
        wait_for(lambda: redis_client.exists("arq:queue:health-check"), timeout=30)
        for inv in checks:
            result = run(inv, env)
            assert result.returncode == 0, result.stdout + result.stderr
        worker.signal(signal.SIGTERM)
        assert worker.wait(timeout=float(env["ARQ_JOB_COMPLETION_WAIT"]) + STOP_MARGIN) == 0, worker.output()
    finally:
        worker.stop()


@pytest.mark.integration
def test_redis_command_starts_with_aof_and_noeviction(tmp_path: Path) -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    (argv,) = [c.argv for c in COMMANDS if c.source.endswith("services.redis.command")]
    port = embedded.free_port()
    server = subprocess.Popen(
        [*argv, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path), "--save", ""],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    client = redis.Redis(port=port, socket_connect_timeout=1)
    try:
        wait_for(lambda: server.poll() is not None or embedded.answers(f"redis://127.0.0.1:{port}/0"))
        assert server.poll() is None, "redis-server rejected the compose options"
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
    finally:
        client.close()
        server.terminate()
        server.wait(30)


@dataclass(frozen=True)
class Web:
    command: Invocation
    base_url: str
    env: dict[str, str]
    log: Path

    def get(self, path: str, host: str = "localhost") -> int:
        request = urllib.request.Request(self.base_url + path, headers={"Host": host})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as e:
            e.close()
            return int(e.code)


def bind_to(inv: Invocation, address: str) -> Invocation:
    args = list(inv.args)
    index = next(i for i, a in enumerate(args) if a in ("--bind", "-b"))
    args[index + 1] = address
    return Invocation(inv.program, tuple(args))


@pytest.fixture(scope="module")
def migrated_env(redis_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Production settings on a fresh database, migrated by the recipes' own migrate command."""
    env = prod_env(redis_server_url, tmp_path_factory.mktemp("site"))
    migrations = [i for i in invocations("manage.py") if i.args[0] == "migrate"]
    assert migrations, "compose and k8s run `manage.py migrate`"
    for migrate in migrations:
        result = run(migrate, env)
        assert result.returncode == 0, result.stdout + result.stderr
    return env


WEB_COMMANDS = invocations("gunicorn")


@pytest.fixture(scope="module", params=WEB_COMMANDS, ids=[" ".join(i.args[1:5]) for i in WEB_COMMANDS])
def web(
    request: pytest.FixtureRequest, migrated_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Web]:
    """One of the recipes' gunicorn commands on a free local port."""
    tmp = tmp_path_factory.mktemp("web")
    env = migrated_env
    port = embedded.free_port()
    command = bind_to(request.param, f"127.0.0.1:{port}")
    log = tmp / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command.process_argv(), env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    server = Web(request.param, f"http://127.0.0.1:{port}", env, log)

    def up() -> bool:
        if process.poll() is not None:
            return True
        try:
            server.get("/admin/login/")
        except OSError:
            return False
        return True

    try:
        wait_for(up, timeout=60, interval=0.1)
        assert process.poll() is None, log.read_text()
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(30) == 0, log.read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.integration
def test_web_command_serves_the_project_with_prod_settings(web: Web) -> None:
    assert web.get("/admin/login/") == 200
    assert web.get("/admin/login/", host="evil.example.com") == 400  # ALLOWED_HOSTS from the ConfigMap
    assert web.get("/no-such-page/") == 404


def healthcheck_invocation(port: str) -> Invocation:
    (health,) = [c.invocation for c in COMMANDS if c.source.endswith("HEALTHCHECK")]
    args = list(health.args)
    url = urlsplit(args[0])
    args[0] = urlunsplit(url._replace(netloc=f"127.0.0.1:{port}"))
    return Invocation(health.program, tuple(args))


@pytest.mark.integration
def test_the_http_probe_fails_on_anything_but_200(web: Web) -> None:
    port = urlsplit(web.base_url).port
    probe = healthcheck_invocation(str(port))
    page = Invocation(probe.program, (f"{web.base_url}/admin/login/", *probe.args[1:]))
    missing = Invocation(probe.program, (f"{web.base_url}/no-such-page/", *probe.args[1:]))
    assert run(page, web.env).returncode == 0
    assert run(missing, web.env).returncode == 1
    assert run(Invocation(probe.program, ("http://127.0.0.1:1/",)), web.env).returncode == 1


@pytest.mark.integration
def test_the_image_healthcheck_passes(web: Web) -> None:
    probe = healthcheck_invocation(str(urlsplit(web.base_url).port))
    require_url(urlsplit(probe.args[0]).path)
    result = run(probe, web.env)
    assert result.returncode == 0, result.stderr


K8S_PROBES = ["readinessProbe", "livenessProbe"]


@pytest.mark.integration
@pytest.mark.parametrize("probe", K8S_PROBES)
def test_k8s_web_probe_answers_200(web: Web, probe: str, tmp_path: Path) -> None:
    get = container(k8s_object("Deployment", "arq-django-web"), "web")[probe]["httpGet"]
    require_url(get["path"])
    host = {h["name"]: h["value"] for h in get["httpHeaders"]}["Host"]
    if probe == "livenessProbe":
        assert web.get(get["path"], host=host) == 200
        return
    # Readiness is /arq/health/, whose default checks also want a live worker on the default queue.
    (command,) = invocations("arq", with_check=False)
    worker = WorkerProcess(command.process_argv(), web.env, tmp_path / "worker.log")
    try:
        wait_for(lambda: worker.process.poll() is not None or worker.ready(), timeout=60)
        assert worker.process.poll() is None, worker.output()
        assert web.get(get["path"], host=host) == 200
    finally:
        worker.stop()
