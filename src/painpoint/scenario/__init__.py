"""The scenario a coach writes: the persona model, its strict loader and the library of scenarios."""
