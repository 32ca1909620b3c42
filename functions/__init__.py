"""Lambda handlers: thin Powertools entry points over the maxtrader package."""
