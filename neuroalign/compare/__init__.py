"""neuroalign.compare."""

__all__: list[str] = []
