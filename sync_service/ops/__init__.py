"""The ops layer: what ops watch (lag, stuck partitions) and what they act on, over the workers."""
