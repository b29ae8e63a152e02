"""Routing: the configuration file (receivers, routes, rules, inhibition, time intervals,
escalation policies) and the routing tree, as pure, synchronous code."""
