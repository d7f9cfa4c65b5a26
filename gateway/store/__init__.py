"""SQLAlchemy models and async repositories: the only place that speaks SQL."""
