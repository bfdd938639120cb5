"""painpoint: rehearse a job interview as a sales call with a hiring manager who hides pain points."""

__version__ = "0.1.0"
