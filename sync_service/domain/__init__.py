"""Domain rules of the portal: who may do what, and what an order or invitation must satisfy.

Pure functions over contracts' records: no database, no Kafka, no web framework.
"""
