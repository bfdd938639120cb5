"""Settings: defaults, then a settings file, then the environment, then command-line flags."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from painpoint.errors import ConfigError
from painpoint.scenario.loader import format_validation_error

VoiceName = Literal["scripted", "local", "openai"]

# Environment variables, and the setting each one fills.
ENVIRONMENT = {
    "OPENAI_API_KEY": "api_key",
    "OPENAI_BASE_URL": "base_url",
    "PAINPOINT_VOICE": "voice",
    "PAINPOINT_MODEL": "model",
    "PAINPOINT_MODEL_PATH": "model_path",
    "PAINPOINT_ANALYZER": "analyzer",
    "PAINPOINT_JUDGE": "judge",
    "PAINPOINT_REQUEST_TIMEOUT": "request_timeout",
    "PAINPOINT_AUTH": "auth",
    "PAINPOINT_AUTH_HEADER": "auth_header",
}


class Settings(BaseModel):
    """How painpoint runs. Every field can come from `painpoint.toml`, the environment or a flag."""

    model_config = ConfigDict(extra="forbid")

    voice: VoiceName = Field(default="scripted", description="Who speaks for the manager.")
    analyzer: Literal["offline", "llm"] = Field(default="offline", description="Who reads the candidate's turns.")
    judge: bool = Field(default=False, description="Add an LLM judge (the openai endpoint) to the offline grader.")
    judge_model: str | None = Field(default=None, description="Model for the judge; default: `model`.")
    model: str = Field(default="gpt-4o-mini", description="Model name for the openai voice.")
    base_url: str | None = Field(default=None, description="An OpenAI-compatible endpoint; None for OpenAI itself.")
    api_key: SecretStr | None = Field(default=None, description="API key for the endpoint.")
    model_path: Path | None = Field(default=None, description="A GGUF chat model on disk, for the local voice.")
    temperature: float = Field(default=0.4, ge=0, le=2)
    max_reply_tokens: int = Field(default=160, ge=16, le=2048)
    repeat_penalty: float = Field(default=1.15, ge=1, le=2, description="Local voice only.")
    context_tokens: int = Field(default=4096, ge=512, description="Local voice: the model's context size.")
    threads: int | None = Field(default=None, ge=1, description="Local voice: CPU threads (default: all cores).")
    request_timeout: float = Field(default=30.0, gt=0, description="Seconds to wait for the endpoint.")
    max_retries: int = Field(default=2, ge=0, le=10, description="Retries (with backoff) on timeouts, 429 and 5xx.")
    window_turns: int = Field(default=6, ge=0, le=40, description="Recent turns sent to an LLM, verbatim.")
    max_prompt_tokens: int = Field(default=3000, ge=256)
    max_message_tokens: int = Field(default=400, ge=16, description="Longest candidate message accepted.")
    auth: Literal["auto", "password", "header"] = Field(
        default="auto",
        description="Web sign-in: auto (passwords once an account exists, else one local user), password, or "
        "header (a single-sign-on proxy names the user in `auth_header`; only behind a proxy that sets it).",
    )
    auth_header: str = Field(default="X-Forwarded-User", description="The header a sign-on proxy names the user in.")


def settings_file() -> Path | None:
    """The settings file in use: $PAINPOINT_CONFIG, else ./painpoint.toml if present."""
    configured = os.environ.get("PAINPOINT_CONFIG")
    if configured:
        return Path(configured)
    local = Path("painpoint.toml")
    return local if local.is_file() else None


def load_settings(overrides: dict[str, Any] | None = None, path: Path | None = None) -> Settings:
    """Build settings from every source, later ones winning.

    Raises:
        ConfigError: naming the source and field that is wrong.
    """
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}  # where each value came from, to name it in an error
    file = path or settings_file()
    if file is not None:
        try:
            data = tomllib.loads(file.read_bytes().decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{file}: not UTF-8 text (bad byte at offset {exc.start})") from None
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{file}: cannot read the settings file: {exc}") from None
        table = data.get("painpoint", data)
        if not isinstance(table, dict):
            raise ConfigError(f"{file}: painpoint: expected a [painpoint] table of settings")
        values.update(table)
        origin.update(dict.fromkeys(table, str(file)))
    for variable, name in ENVIRONMENT.items():
        if os.environ.get(variable):
            values[name] = os.environ[variable]
            origin[name] = f"${variable}"
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    values.update(flags)
    origin.update(dict.fromkeys(flags, "command line"))
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        problems = []
        for item, line in zip(exc.errors(), format_validation_error(exc, values), strict=True):
            name = str(item["loc"][0]) if item["loc"] else ""
            if item["type"] == "extra_forbidden":
                line = f"{name}: unknown setting (check the spelling)"
            problems.append(f"{origin.get(name, 'settings')}: {line}")
        raise ConfigError("; ".join(problems)) from None
