"""neuroalign.io."""

__all__: list[str] = []
