"""Today's offline analyzer on the blind utterance set (evals/blind/utterances): an out-of-sample baseline."""

import collections
import glob
from pathlib import Path

import yaml

from painpoint.conversation.analyzer import OfflineAnalyzer
from painpoint.scenario.library import load_library

library = load_library()
analyzer = OfflineAnalyzer()
right: collections.Counter[str] = collections.Counter()
total: collections.Counter[str] = collections.Counter()
form_right = form_total = 0
for path in sorted(glob.glob("evals/blind/utterances/*.yaml")):
    data = yaml.safe_load(Path(path).read_text())
    persona = library.get(data["scenario"])
    for u in data["utterances"]:
        a = analyzer.analyze(persona, u["say"])
        kind = u["target"]
        if kind == "pain_point":
            ok = a.targets[:1] == [u["pain_point"]]
        elif kind == "ad_item":
            ok = a.ad_items[:1] == [u["ad_item"]] and not a.targets
        elif kind == "small_talk":
            ok = a.small_talk and not a.targets
        elif kind == "manipulation":
            ok = a.manipulation
        else:  # topic, about_candidate: reaching no hidden pain point is the least a right reading does
            ok = not a.targets
        total[kind] += 1
        right[kind] += ok
        expected_form = {"open": "open", "closed": "closed", "statement": "none"}[u["form"]]
        form_total += 1
        form_right += a.form.value == expected_form
for kind in total:
    print(f"{kind:16} {right[kind]:3}/{total[kind]:3} = {right[kind] / total[kind]:.1%}")
print(f"{'all':16} {sum(right.values()):3}/{sum(total.values()):3} = {sum(right.values()) / sum(total.values()):.1%}")
print(f"{'form':16} {form_right:3}/{form_total:3} = {form_right / form_total:.1%}")
