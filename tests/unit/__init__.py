"""Tests of the rules and outcomes as pure functions: a Course folded from records, no CLI, no store."""
