"""neuroalign.geometry."""

__all__: list[str] = []
