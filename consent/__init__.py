"""Data subjects, their consent records, and the consent API."""
