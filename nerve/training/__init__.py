"""The training loop and what feeds it: data adapters and compiled losses/metrics."""
