"""Built-in policies for attractor: event sinks, status sources, classifiers, failover, LLM."""
