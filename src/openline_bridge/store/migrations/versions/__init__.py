"""Migration revisions, oldest first by revision id."""
