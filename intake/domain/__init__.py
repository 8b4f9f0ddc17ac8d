"""Intake's pure rules: case ids."""
