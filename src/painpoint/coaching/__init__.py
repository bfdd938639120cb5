"""Coaches and learners: accounts, coaching records, reviews and scenario authoring."""
