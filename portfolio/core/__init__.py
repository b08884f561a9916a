"""Project-wide building blocks that every app may import (outside the app layering,
like the settings): the versioned-model base, optimistic locking and API plumbing."""
