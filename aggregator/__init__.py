"""aggregator: a self-hosted feed aggregator that republishes curated topic feeds."""

__version__ = "0.1.0"
