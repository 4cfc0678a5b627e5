"""Use cases: keys, voices, synthesis, jobs. No HTTP here; api and cli call these."""
