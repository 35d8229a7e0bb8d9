"""A complete Specimen RDM instance for end-to-end tests, on the real services.

It gets its own PostgreSQL database, search index prefix, Redis databases, RabbitMQ virtual
host, file locations and instance folder, so that it never touches the development instance
that `make run` uses. It is set up with the same script as `make run` (scripts/setup-instance.sh),
then a gunicorn web server (UI + REST API) and a Celery worker start as subprocesses.

Vocabularies: the test instance loads 17 languages, 4 programming languages and 25 ORCID names
instead of InvenioRDM's 7,847, 706 and 6,585 (8 minutes of fixtures); everything else is the
project's app_data.
"""

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
VENV_BIN = ROOT / ".venv" / "bin"

TEST_LANGUAGES = {
    "eng", "fra", "deu", "spa", "ita", "nld", "por", "lat", "zho", "jpn",
    "rus", "swe", "dan", "nor", "fin", "pol", "ces",
}  # fmt: skip
TEST_PROGRAMMING_LANGUAGES = {"python", "r", "java", "javascript"}
TEST_NAMES = 25  # of InvenioRDM's 6,585 ORCID names (2.5 minutes of fixtures)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveInstance:
    """Database, indices, web server and worker of one test run."""

    name: str = field(
        default_factory=lambda: os.environ.get("SPECIMEN_TEST_INSTANCE", "specimen_rdm_test")
    )
    web_port: int = field(default_factory=free_port)
    extra_env: dict = field(default_factory=dict)
    processes: list = field(default_factory=list)

    @property
    def var(self) -> Path:
        """This run's files: instance folder, file locations, logs."""
        return ROOT / "var" / self.name

    @property
    def pipelines_file(self) -> Path:
        """This run's ML pipeline registry (absent: no pipelines)."""
        return self.var / "pipelines.yaml"

    @property
    def index_prefix(self) -> str:
        """Prefix of this run's search indices (never a prefix of the development ones)."""
        return "test-" + self.name.replace("_", "-") + "-"

    @property
    def url(self) -> str:
        """Base URL of the web app (UI; the REST API is under /api)."""
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def env(self) -> dict:
        """Environment of every command and process of this instance."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("INVENIO_")}
        redis = f"redis://127.0.0.1:{env.get('REDIS_PORT', '6379')}"
        rabbit_port = env.get("RABBITMQ_PORT", "5672")
        broker = f"amqp://guest:guest@127.0.0.1:{rabbit_port}/{self.name}"
        user = env.get("POSTGRES_USER", "specimen")
        password = env.get("POSTGRES_PASSWORD", "specimen")
        pg_port = env.get("POSTGRES_PORT", "5432")
        search_port = env.get("OPENSEARCH_PORT", "9200")
        env.update(
            POSTGRES_DB=self.name,
            INVENIO_SQLALCHEMY_DATABASE_URI=(
                f"postgresql+psycopg2://{user}:{password}@127.0.0.1:{pg_port}/{self.name}"
            ),
            INVENIO_SEARCH_HOSTS=f"['http://127.0.0.1:{search_port}']",
            WEB_PORT=str(self.web_port),
            INVENIO_INSTANCE_PATH=str(self.var / "instance"),
            INVENIO_SEARCH_INDEX_PREFIX=self.index_prefix,
            INVENIO_BROKER_URL=broker,
            INVENIO_CELERY_BROKER_URL=broker,
            INVENIO_CACHE_REDIS_URL=f"{redis}/10",
            INVENIO_ACCOUNTS_SESSION_REDIS_URL=f"{redis}/11",
            INVENIO_CELERY_RESULT_BACKEND=f"{redis}/12",
            INVENIO_RATELIMIT_STORAGE_URI=f"{redis}/13",
            INVENIO_COMMUNITIES_IDENTITIES_CACHE_REDIS_URL=f"{redis}/14",
            INVENIO_SITE_UI_URL=self.url,
            INVENIO_SITE_API_URL=f"{self.url}/api",
            INVENIO_TRUSTED_HOSTS="['127.0.0.1', 'localhost']",
            INVENIO_RATELIMIT_ENABLED="False",
            # No pipelines unless a test writes them (the shipped registry runs OCR and
            # image features on every published specimen).
            INVENIO_MLMODELS_PIPELINES_FILE=str(self.pipelines_file),
            SPECIMEN_DATA_DIR=str(self.var / "data"),
            SPECIMEN_ARCHIVE_DIR=str(self.var / "archive"),
            ADMIN_EMAIL="admin@example.org",
            ADMIN_PASSWORD="admin-test-password",
            PATH=f"{VENV_BIN}:{env['PATH']}",
        )
        env.update(self.extra_env)
        return env

    # --- preparation ------------------------------------------------------------------------
    def prepare(self) -> None:
        """Reset and set up, or with SPECIMEN_TEST_KEEP=1 reuse the previous run's data."""
        if os.environ.get("SPECIMEN_TEST_KEEP") == "1" and (self.var / "instance").exists():
            return
        self.reset()
        self.setup()

    def reset(self) -> None:
        """Drop everything a previous run left: database, indices, queues, files, stamps."""
        port = os.environ.get("POSTGRES_PORT", "5432")
        psql = ["psql", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-qAt", "-c"]
        subprocess.run([*psql, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'], check=True)
        owner = os.environ.get("POSTGRES_USER", "specimen")
        subprocess.run([*psql, f'CREATE DATABASE "{self.name}" OWNER "{owner}"'], check=True)
        search = f"http://127.0.0.1:{os.environ.get('OPENSEARCH_PORT', '9200')}"
        requests.delete(
            f"{search}/{self.index_prefix}*?expand_wildcards=all", timeout=60
        ).raise_for_status()
        self._reset_queues()
        shutil.rmtree(self.var, ignore_errors=True)
        shutil.rmtree(ROOT / "var" / "setup" / self.name, ignore_errors=True)
        self._write_instance_folder()

    def _reset_queues(self) -> None:
        subprocess.run(
            ["bash", str(ROOT / "services" / "services.sh"), "reset-vhost", self.name],
            check=True,
        )

    def _write_instance_folder(self) -> None:
        instance = self.var / "instance"
        instance.mkdir(parents=True)
        (instance / "invenio.cfg").symlink_to(ROOT / "invenio.cfg")
        (instance / "templates").symlink_to(ROOT / "templates")
        real_instance = ROOT / ".venv" / "var" / "instance"
        for built in ("static", "assets"):
            if (real_instance / built).exists():
                (instance / built).symlink_to(real_instance / built)
        app_data = instance / "app_data"
        shutil.copytree(ROOT / "app_data", app_data)
        self._write_small_vocabularies(app_data)

    def _write_small_vocabularies(self, app_data: Path) -> None:
        import invenio_rdm_records.fixtures as rdm_fixtures

        package = Path(rdm_fixtures.__file__).parent / "data" / "vocabularies"
        vocabularies_file = app_data / "vocabularies.yaml"
        vocabularies = (
            yaml.safe_load(vocabularies_file.read_text()) if vocabularies_file.exists() else {}
        )
        vocabularies = vocabularies or {}
        subsets = {
            "languages": ("lng", package / "languages.yaml", TEST_LANGUAGES),
            "code:programmingLanguages": (
                "pl",
                package / "contrib" / "codemeta" / "programming_languages.yaml",
                TEST_PROGRAMMING_LANGUAGES,
            ),
            "names": ("names", package / "names_orcid.yaml", TEST_NAMES),
        }
        for vocabulary, (pid_type, source, keep) in subsets.items():
            entries = yaml.safe_load(source.read_text())
            if isinstance(keep, int):
                entries = entries[:keep]
            else:
                entries = [e for e in entries if e["id"] in keep]
            target = app_data / f"test-{pid_type}.yaml"
            target.write_text(yaml.safe_dump(entries))
            vocabularies[vocabulary] = {"pid-type": pid_type, "data-file": target.name}
        vocabularies_file.write_text(yaml.safe_dump(vocabularies, sort_keys=False))

    def setup(self) -> None:
        """Run the same setup script as `make run` against this instance's database."""
        self.run_script("scripts/setup-instance.sh")

    def _run(self, command: list[str], env: dict | None = None) -> str:
        """Run a command with this instance's environment; its output, or an error with the tail."""
        result = subprocess.run(
            command, check=False, env=env or self.env, cwd=ROOT, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result.stdout

    def run_script(self, script: str, *args: str) -> str:
        """Run a project script (e.g. scripts/setup-instance.sh) against this instance."""
        return self._run(["bash", str(ROOT / script), *args])

    def invenio(self, *args: str, env: dict | None = None) -> str:
        """Run an `invenio` CLI command against this instance; its standard output.

        `env` replaces the instance's environment (start from `self.env` to change it).
        """
        return self._run([str(VENV_BIN / "invenio"), *args], env=env)

    # --- processes --------------------------------------------------------------------------
    def start(self) -> None:
        """Start the Celery worker (with beat) and the web server; wait until the API answers."""
        logs = self.var / "log"
        logs.mkdir(exist_ok=True)
        queues = "celery,indexing,low,pipelines-cpu,pipelines-gpu"
        self._spawn(
            "worker",
            [str(VENV_BIN / "celery"), "-A", "invenio_app.celery", "worker", "--beat",
             "-n", f"{self.name}-{os.getpid()}@%h",
             f"--schedule={self.var / 'celerybeat-schedule'}", "-Q", queues,
             "--concurrency", "2", "-l", "INFO"],
        )  # fmt: skip
        self.start_bulk_worker()
        self._spawn(
            "web",
            [str(VENV_BIN / "gunicorn"), "-b", f"127.0.0.1:{self.web_port}", "-w", "2",
             "--timeout", "300", "specimen_rdm.wsgi:application"],
        )  # fmt: skip
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/api/records", timeout=30).status_code == 200:
                    return
            except requests.RequestException:
                pass
            for name, process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited:\n{self.log_tail(name)}")
            time.sleep(1)
        raise RuntimeError(f"web app did not answer:\n{self.log_tail('web')}")

    def start_bulk_worker(self) -> None:
        """Start the workers of the `bulk` queue (bulk deposit jobs) and, at a lower CPU
        priority, of `bulk-followup`, as `make run` does."""
        self._spawn(
            "bulk-worker",
            [str(VENV_BIN / "celery"), "-A", "invenio_app.celery", "worker",
             "-n", f"{self.name}-bulk-{os.getpid()}@%h", "-Q", "bulk",
             "--prefetch-multiplier", "1", "--concurrency", "2", "-l", "INFO"],
        )  # fmt: skip
        if not any(name == "bulk-followup-worker" for name, _ in self.processes):
            self._spawn(
                "bulk-followup-worker",
                ["nice", "-n", "19", str(VENV_BIN / "celery"), "-A", "invenio_app.celery",
                 "worker", "-n", f"{self.name}-followup-{os.getpid()}@%h",
                 "-Q", "bulk-followup", "--concurrency", "2", "-l", "INFO"],
            )  # fmt: skip

    def _spawn(self, name: str, command: list[str], mode: str = "w") -> None:
        # The child keeps its own copy of the log's file descriptor.
        with open(self.var / "log" / f"{name}.log", mode) as log:
            process = subprocess.Popen(
                command, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        process.command = command
        self.processes.append((name, process))

    def process(self, name: str) -> subprocess.Popen:
        """The running process called `name` (web, worker, bulk-worker)."""
        return next(p for n, p in self.processes if n == name)

    def kill(self, name: str) -> None:
        """Kill a process without warning (SIGKILL to it and its children), as a crash would."""
        import psutil

        process = self.process(name)
        children = psutil.Process(process.pid).children(recursive=True)
        for child in children:
            child.kill()
        process.kill()
        process.wait(timeout=30)
        self.processes = [(n, p) for n, p in self.processes if p is not process]
        self._killed = {**getattr(self, "_killed", {}), name: process.command}

    def restart(self, name: str) -> None:
        """Start a killed process again with the same command (its log is appended to)."""
        self._spawn(name, self._killed.pop(name), mode="a")

    def log_tail(self, name: str, lines: int = 60) -> str:
        """The last lines of a process's log (for failure messages)."""
        path = self.var / "log" / f"{name}.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )

    def stop(self) -> None:
        """Stop the web server and worker, waiting for them to exit."""
        for _, process in self.processes:
            process.terminate()
        for _, process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    def sql(self, query: str) -> list[list[str]]:
        """The rows of `query` on this instance's database (psql, fields as text)."""
        port = os.environ.get("POSTGRES_PORT", "5432")
        result = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-d", self.name, "-qAt",
             "-F", "\t", "-c", query],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        return [line.split("\t") for line in result.stdout.splitlines() if line]

    # --- users ------------------------------------------------------------------------------
    def token(self, email: str) -> str:
        """A personal access token for `email` (the user is created if needed)."""
        return self.invenio("specimens", "token", "--email", email).strip().splitlines()[-1]
