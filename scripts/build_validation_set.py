"""Turn the candidate scripts in evals/scripts/ into labeled transcripts in evals/transcripts/.

Each script's candidate lines are played against the offline (scripted) manager at the persona's default
settings, so the manager's replies are the real ones. Run it again whenever personas or the engine change:

    .venv/bin/python scripts/build_validation_set.py
"""

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from painpoint.conversation.session import build_interview
from painpoint.errors import PainpointError
from painpoint.grading.validation import Labels
from painpoint.scenario.library import load_library
from painpoint.settings import Settings

library = load_library()
out = ROOT / "evals" / "transcripts"
out.mkdir(exist_ok=True)
for path in sorted((ROOT / "evals" / "scripts").glob("*.yaml")):
    script = yaml.safe_load(path.read_text())
    labels = Labels.model_validate(script["labels"])
    interview = build_interview(library.get(script["persona"]), settings=Settings())
    interview.open()
    for line in script["candidate"]:
        try:
            interview.respond(line)
        except PainpointError as exc:
            sys.exit(f"{path.name}: {exc}")
    data = interview.transcript.model_dump(mode="json", exclude_none=True)
    data["started_at"] = "2026-11-21T00:00:00+00:00"  # stable files: only the conversation matters
    data["labels"] = labels.model_dump(exclude_none=True)
    data["note"] = script.get("note", "")
    (out / f"{path.stem}.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    print(f"{path.stem}: {len(script['candidate'])} candidate lines")
