"""The container image's recipe: hadolint-clean, its promises checked, its build stage run for real.

No Docker daemon is needed. The Dockerfile is parsed here (instructions, line continuations,
exec-form JSON arrays; Dockerfile reference: https://docs.docker.com/reference/dockerfile/),
its static promises are asserted, and then the build stage's COPY and RUN steps are replayed in
a temporary directory (the same `pip install`, so it reaches the package index as an image
build would) and the result is started the way the image starts it: the final stage's ENV,
WORKDIR and CMD, with the container's absolute paths mapped into the temporary directory.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.e2e.harness import ROOT, TOKENS, BotProcess, free_port
from tests.fakes.sentry_server import FakeSentry
from tests.fakes.slack_server import FakeSlack

DOCKERFILE = ROOT / "Dockerfile"
DATA = "/data"
OFFICIAL_SLIM_PYTHON = re.compile(
    r"^(?:(?:docker\.io/)?library/)?python:3\.\d+(?:\.\d+)?-slim(?:-[a-z]+)?(?:@sha256:[0-9a-f]{64})?$"
)
BUILD_SECONDS = 300


# -- a small Dockerfile parser --------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    """One instruction; `args` is its text after the keyword, continuations joined."""

    keyword: str
    args: str
    line: int

    def flags(self) -> tuple[dict[str, str], str]:
        """Leading `--name=value` options, and the text after them."""
        options: dict[str, str] = {}
        rest = self.args
        while match := re.match(r"--([a-z-]+)(?:=(\S*))?\s*", rest):
            options[match.group(1)] = match.group(2) or ""
            rest = rest[match.end() :]
        return options, rest

    def exec_form(self, text: str | None = None) -> list[str] | None:
        """The JSON-array form of a command, or None for the shell form."""
        body = (self.args if text is None else text).strip()
        if not body.startswith("["):
            return None
        try:
            value = json.loads(body)
        except ValueError:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None
        return value

    def words(self) -> list[str]:
        """Arguments as words: the JSON array when there is one, else whitespace-split."""
        return self.exec_form() or self.flags()[1].split()


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert found, f"no {keyword} in the stage FROM {self.image}"
        return found[-1]

    def env(self, base: Mapping[str, str]) -> dict[str, str]:
        """The stage's ENV variables, each value expanded against what came before."""
        env = dict(base)
        declared: dict[str, str] = {}
        for instruction in self.all("ENV"):
            for key, value in env_pairs(instruction.args):
                declared[key] = env[key] = expand(value, env)
        return declared


def instructions(text: str) -> list[Instruction]:
    """Split a Dockerfile into instructions; comment lines (and directives) are skipped."""
    found: list[Instruction] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if not pending:
            start = number
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1]
            continue
        logical = (pending + raw).strip()
        pending = ""
        keyword, _, args = logical.partition(" ")
        found.append(Instruction(keyword.upper(), args.strip(), start))
    assert not pending, "the Dockerfile ends inside a line continuation"
    return found


def stages(text: str) -> list[Stage]:
    parsed: list[Stage] = []
    for instruction in instructions(text):
        if instruction.keyword == "FROM":
            words = instruction.flags()[1].split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            parsed.append(Stage(image=words[0], name=name))
        else:
            assert parsed, f"line {instruction.line}: {instruction.keyword} before FROM"
            parsed[-1].instructions.append(instruction)
    return parsed


def env_pairs(args: str) -> list[tuple[str, str]]:
    """`ENV a=1 b="two words"`, or the legacy `ENV name value with spaces`."""
    words = shlex.split(args)
    if words and "=" not in words[0]:
        return [(words[0], args.split(None, 1)[1] if len(words) > 1 else "")]
    return [(key, value) for key, _, value in (word.partition("=") for word in words)]


def expand(value: str, env: Mapping[str, str]) -> str:
    """`$NAME` and `${NAME}` substitution, as ENV and WORKDIR do it."""
    return re.sub(r"\$(?:\{(\w+)\}|(\w+))", lambda m: env.get(m.group(1) or m.group(2), ""), value)


@pytest.fixture(scope="module")
def build() -> Stage:
    return stages(DOCKERFILE.read_text())[0]


@pytest.fixture(scope="module")
def final() -> Stage:
    return stages(DOCKERFILE.read_text())[-1]


def image_env(final: Stage) -> dict[str, str]:
    return final.env({"PATH": os.environ.get("PATH", "/usr/bin:/bin")})


def venv_path(final: Stage) -> str:
    """What the final stage copies from the build stage: the virtual environment."""
    [copy] = final.all("COPY")
    return copy.words()[0]


# -- static promises ------------------------------------------------------------------------


def test_hadolint_passes() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    assert hadolint.exists(), f"hadolint is not installed next to {sys.executable}"
    result = subprocess.run(
        [str(hadolint), str(DOCKERFILE)], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_two_stages_both_from_official_slim_python() -> None:
    parsed = stages(DOCKERFILE.read_text())
    assert len(parsed) == 2
    for stage in parsed:
        assert OFFICIAL_SLIM_PYTHON.match(stage.image), stage.image
    assert parsed[0].name, "the build stage is named, so the final stage can copy from it"


def test_final_stage_copies_only_the_venv_from_the_build_stage(build: Stage, final: Stage) -> None:
    assert final.all("ADD") == []
    copies = final.all("COPY")
    assert len(copies) == 1, [c.args for c in copies]
    options, _ = copies[0].flags()
    assert options.get("from") == build.name
    venv = venv_path(final)
    assert copies[0].words() == [venv, venv]
    assert any(f"-m venv {venv}" in run.args for run in build.all("RUN"))


def test_runs_as_a_numeric_non_root_user(final: Stage) -> None:
    user, _, group = final.last("USER").args.partition(":")
    assert user.isdigit(), "numeric, so Kubernetes' runAsNonRoot can verify it"
    assert int(user) != 0
    assert not group or group.isdigit()


def test_the_database_lives_in_the_data_volume(final: Stage) -> None:
    volumes = [v for volume in final.all("VOLUME") for v in volume.words()]
    assert volumes == [DATA]
    database = make_url(image_env(final)["DATABASE_URL"]).database or ""
    assert database.startswith(f"{DATA}/"), database
    assert expand(final.last("WORKDIR").args, image_env(final)) == DATA


def test_exposes_the_port_it_listens_on(final: Stage) -> None:
    exposed = [p.split("/")[0] for e in final.all("EXPOSE") for p in e.words()]
    assert exposed == [image_env(final)["PORT"]]


def test_healthcheck_requests_healthz(final: Stage) -> None:
    command, _ = healthcheck_command(final)
    assert "/healthz" in " ".join(command)


def test_cmd_runs_the_module(final: Stage) -> None:
    assert final.last("CMD").exec_form() == ["python", "-m", "bot"]
    assert final.all("ENTRYPOINT") == []


def healthcheck_command(final: Stage) -> tuple[list[str], float]:
    """The HEALTHCHECK's exec-form command and its `--timeout` in seconds."""
    options, rest = final.last("HEALTHCHECK").flags()
    keyword, _, command = rest.partition(" ")
    assert keyword.upper() == "CMD", rest
    argv = final.last("HEALTHCHECK").exec_form(command)
    assert argv, "HEALTHCHECK CMD in exec form (no shell in the loop)"
    timeout = options.get("timeout", "30s")
    assert re.fullmatch(r"\d+s", timeout), f"--timeout={timeout}: whole seconds expected"
    return argv, float(timeout[:-1])


# -- the build stage, performed for real ----------------------------------------------------


class Rootfs:
    """Container paths mapped into a temporary directory."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def path(self, container_path: str) -> Path:
        return self.base / container_path.lstrip("/")

    def rewrite(self, text: str, container_paths: list[str]) -> str:
        for container_path in sorted(container_paths, key=len, reverse=True):
            pattern = re.escape(container_path) + r"(?=/|\b|$)"
            text = re.sub(pattern, str(self.path(container_path)), text)
        return text


def copy_into(sources: list[str], dest: Path, *, into_dir: bool) -> None:
    """COPY semantics: a directory's contents go to dest; files go into dest/ or become dest."""
    for source in sources:
        origin = ROOT / source
        assert origin.exists(), f"COPY source {source} is missing from the build context"
        if origin.is_dir():
            shutil.copytree(
                origin, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
            )
        elif into_dir:
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, dest / origin.name)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, dest)


def perform_build_stage(stage: Stage, rootfs: Rootfs, mapped: list[str]) -> None:
    """WORKDIR, COPY and RUN of the build stage, in order, inside `rootfs`."""
    # `python` is the base image's interpreter there; here, this test's interpreter.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, **stage.env({"PATH": path})}
    workdir = rootfs.path("/")
    for instruction in stage.instructions:
        if instruction.keyword == "WORKDIR":
            workdir = rootfs.path(expand(instruction.args, env))
            workdir.mkdir(parents=True, exist_ok=True)
        elif instruction.keyword == "COPY":
            options, _ = instruction.flags()
            assert "from" not in options, "the build stage copies from the context only"
            *sources, target = instruction.words()
            dest = (rootfs.path(target) if target.startswith("/") else workdir / target).resolve()
            copy_into(sources, dest, into_dir=target.endswith("/") or len(sources) > 1)
        elif instruction.keyword == "RUN":
            assert instruction.exec_form() is None, "shell-form RUN expected"
            command = rootfs.rewrite(instruction.args, mapped)
            result = subprocess.run(
                ["/bin/sh", "-c", command],
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=BUILD_SECONDS,
                check=False,
            )
            assert result.returncode == 0, (
                f"RUN (line {instruction.line}) failed:\n{result.stdout}{result.stderr}"
            )


@pytest.fixture
def fakes() -> Iterator[tuple[FakeSentry, FakeSlack]]:
    with (
        FakeSentry(org="acme", token=TOKENS["SENTRY_TOKEN"]) as sentry,
        FakeSlack(
            bot_token=TOKENS["SLACK_BOT_TOKEN"], app_token=TOKENS["SLACK_APP_TOKEN"]
        ) as slack,
    ):
        yield sentry, slack


@pytest.mark.e2e
def test_the_built_venv_runs_the_bot_as_the_image_does(
    tmp_path: Path, build: Stage, final: Stage, fakes: tuple[FakeSentry, FakeSlack]
) -> None:
    sentry, slack = fakes
    rootfs = Rootfs(tmp_path / "rootfs")
    venv = venv_path(final)
    mapped = [venv, DATA]
    perform_build_stage(build, rootfs, mapped)
    python = rootfs.path(venv) / "bin" / "python"
    assert python.exists()

    # The final stage: its ENV (container paths mapped), WORKDIR, CMD and HEALTHCHECK.
    data = rootfs.path(DATA)
    data.mkdir(parents=True)
    env = {key: rootfs.rewrite(value, mapped) for key, value in image_env(final).items()}
    env.update(
        {
            "HOST": "127.0.0.1",
            "PORT": str(free_port()),
            "SENTRY_HOST": sentry.url,
            "SENTRY_TOKEN": TOKENS["SENTRY_TOKEN"],
            "SENTRY_ORG": "acme",
            "SLACK_BOT_TOKEN": TOKENS["SLACK_BOT_TOKEN"],
            "SLACK_SIGNING_SECRET": TOKENS["SLACK_SIGNING_SECRET"],
            "SLACK_API_URL": slack.api_url,
        }
    )
    cmd = final.last("CMD").exec_form()
    assert cmd is not None
    interpreter = shutil.which(cmd[0], path=env["PATH"])
    assert interpreter == str(python), "PATH puts the venv's python first"
    assert rootfs.path(final.last("WORKDIR").args) == data

    health, timeout = healthcheck_command(final)
    health[0] = shutil.which(health[0], path=env["PATH"]) or health[0]

    def healthcheck() -> int:
        return subprocess.run(
            health, env=env, cwd=data, capture_output=True, timeout=timeout + 5, check=False
        ).returncode

    assert healthcheck() != 0, "nothing listens yet: the check must fail"
    bot = BotProcess(env, workdir=data, python=interpreter)
    with bot:
        bot.wait_ready(timeout=30)
        assert healthcheck() == 0, bot.log()
        code = bot.stop(signal.SIGTERM)
    assert code == 0, bot.log()
    database = make_url(env["DATABASE_URL"]).database or ""
    assert Path(database).is_file()
    assert Path(database).is_relative_to(data)
