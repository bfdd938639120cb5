"""The persona library: the shipped `personas/` folder plus any file a coach points at."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from painpoint.errors import DataFileError, UnknownPersonaError
from painpoint.resources import data_dir
from painpoint.scenario.loader import load_file
from painpoint.scenario.persona import Persona

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Library:
    """Personas that loaded, and the files that did not (with why)."""

    personas: list[Persona]
    errors: list[DataFileError]

    def get(self, persona_id: str) -> Persona:
        """The persona with this id.

        Raises:
            UnknownPersonaError: listing the ids that exist.
        """
        for persona in self.personas:
            if persona.id == persona_id:
                return persona
        known = ", ".join(p.id for p in self.personas) or "none"
        raise UnknownPersonaError(f"No persona with id {persona_id!r}. Known ids: {known}.")


def persona_files(folder: Path | None = None) -> list[Path]:
    """The persona files in a folder, sorted."""
    folder = folder or data_dir("personas")
    return sorted(p for p in folder.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))


def load_library(folder: Path | None = None) -> Library:
    """Load every persona in the folder; a broken file is skipped with a logged reason, never fatal."""
    personas: list[Persona] = []
    errors: list[DataFileError] = []
    seen: dict[str, Path] = {}
    for path in persona_files(folder):
        try:
            persona = load_file(Persona, path)
        except DataFileError as exc:
            log.warning("skipping persona file: %s", exc)
            errors.append(exc)
            continue
        if persona.id in seen:
            error = DataFileError(str(path), [f"id: {persona.id!r} is already used by {seen[persona.id]}"])
            log.warning("skipping persona file: %s", error)
            errors.append(error)
            continue
        seen[persona.id] = path
        personas.append(persona)
    return Library(personas, errors)


def resolve_persona(ref: str, folder: Path | None = None) -> Persona:
    """A persona by id from the library, or from a file path.

    Raises:
        DataFileError: when the path exists but the file is invalid.
        UnknownPersonaError: when it is neither a known id nor a file.
    """
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise UnknownPersonaError(f"No persona file at {path}.")
        return load_file(Persona, path)
    return load_library(folder).get(ref)
