"""Clips, the review queue, assignments, shifts and transcripts."""
