"""Pure risk calculations: the real-time book, measures, protection rules."""
