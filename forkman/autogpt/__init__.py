"""The first user's extras: AutoGPT block checks and scaffolding, the example upstream, the demo."""
