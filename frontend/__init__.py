"""Server-rendered pages for annotators, supervisors and data subjects."""
