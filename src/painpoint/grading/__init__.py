"""The grader: measurements, the judge, the scorecard, the debrief and the validation sets."""
