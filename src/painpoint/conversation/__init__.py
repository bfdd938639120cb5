"""One interview: reading the candidate's turn, the engine's rules, the manager's voice, the transcript."""
