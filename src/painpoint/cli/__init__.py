"""The `painpoint` command."""
