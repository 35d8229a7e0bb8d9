"""The error of a Darwin Core value that cannot be interpreted at all."""


class MalformedValue(ValueError):
    """A Darwin Core value that cannot be interpreted at all."""

    def __init__(self, field: str, reason: str) -> None:
        """Name the field (`dwc:decimalLatitude`) and say why, in a sentence."""
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
