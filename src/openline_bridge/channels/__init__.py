"""Visitor-facing channels (the website widget; later others) and what they share: the channel interface and
the signed file routes."""
