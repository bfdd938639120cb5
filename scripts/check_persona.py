"""Validate persona files and labeled utterance files while authoring (a helper for writers)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import yaml

from painpoint.errors import DataFileError
from painpoint.scenario.loader import load_file
from painpoint.scenario.persona import Persona

ok = True
for arg in sys.argv[1:]:
    path = Path(arg)
    try:
        if "utterances" in path.parts:
            data = yaml.safe_load(path.read_text())
            persona = load_file(Persona, Path("personas") / f"{data['persona']}.yaml")
            ids = {p.id for p in persona.pain_points}
            for i, u in enumerate(data["utterances"]):
                assert set(u) <= {"text", "pain_point", "form", "kind"}, (i, u)
                assert u["pain_point"] is None or u["pain_point"] in ids, (i, u)
                assert u["form"] in {"open", "closed", "statement"}, (i, u)
                assert u["kind"] in {
                    "discovery",
                    "generic_needs",
                    "small_talk",
                    "about_self",
                    "fluff",
                    "role",
                    "next_step",
                    "manipulation",
                    "tie_in",
                }, (i, u)
            print(f"{path}: ok, {len(data['utterances'])} utterances")
        else:
            p = load_file(Persona, path)
            assert path.stem == p.id, f"file name must be {p.id}.yaml"
            print(f"{path}: ok ({p.name}, {len(p.pain_points)} pain points)")
    except (DataFileError, AssertionError, KeyError) as exc:
        ok = False
        print(f"{path}: FAILED {exc}")
sys.exit(0 if ok else 2)
