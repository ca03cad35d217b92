"""The exception tree. Outcomes (such as NotModified) are values, not exceptions."""

from __future__ import annotations


class AggregatorError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(AggregatorError):
    """One or more problems in a configuration file; each names the file and key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class SourceError(AggregatorError):
    """One source failed; the others go on."""

    kind = "source"

    def __init__(self, source_id: str, url: str, detail: str, *, status: int | None = None) -> None:
        self.source_id = source_id
        self.url = url
        self.detail = detail
        self.status = status  # the HTTP status behind the failure, when there was one
        super().__init__(f"source {source_id!r} ({url}): {self.kind}: {detail}")

    def __reduce__(self) -> tuple[object, ...]:
        # Parse errors cross a process boundary; the default pickling would call
        # __init__ with the message alone.
        return (_rebuild, (type(self), self.__dict__))


class FetchError(SourceError):
    kind = "fetch"


class RateLimited(FetchError):
    kind = "rate-limited"

    def __init__(
        self, source_id: str, url: str, detail: str, retry_after: float | None,
        *, status: int | None = None,
    ) -> None:  # fmt: skip
        self.retry_after = retry_after
        super().__init__(source_id, url, detail, status=status)


class Gone(FetchError):
    """HTTP 410: the publisher retired the feed."""

    kind = "gone"


class ParseError(SourceError):
    kind = "parse"


def _rebuild(cls: type[SourceError], state: dict[str, object]) -> SourceError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(
        error, f"source {error.source_id!r} ({error.url}): {cls.kind}: {error.detail}"
    )
    return error


class StorageError(AggregatorError):
    """The database failed; the cycle stops."""


class PublishError(AggregatorError):
    def __init__(self, topic: str, detail: str) -> None:
        self.topic = topic
        self.detail = detail
        super().__init__(f"topic {topic!r}: {detail}")

    def __reduce__(self) -> tuple[type[PublishError], tuple[str, str]]:
        # Raised in an archive-rendering process, it crosses back pickled.
        return PublishError, (self.topic, self.detail)
