"""neuroalign.zoo."""

__all__: list[str] = []
