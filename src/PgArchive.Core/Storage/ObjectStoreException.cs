using PgArchive.Diagnostics;

namespace PgArchive.Storage;

/// <summary>An object store operation failed. The backend's own exception, if any, is the inner exception.</summary>
public sealed class ObjectStoreException : PgArchiveException, ITelemetryErrorKind
{
    /// <summary>Creates the exception.</summary>
    public ObjectStoreException(ObjectStoreErrorKind kind, string? key, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
        Key = key;
    }

    /// <summary>Creates the exception with kind <see cref="ObjectStoreErrorKind.Other"/>.</summary>
    public ObjectStoreException(string message) : this(ObjectStoreErrorKind.Other, null, message) { }

    /// <summary>Creates the exception with kind <see cref="ObjectStoreErrorKind.Other"/>.</summary>
    public ObjectStoreException(string message, Exception? innerException) : this(ObjectStoreErrorKind.Other, null, message, innerException) { }

    /// <summary>Creates the exception with kind <see cref="ObjectStoreErrorKind.Other"/>.</summary>
    public ObjectStoreException() : this(ObjectStoreErrorKind.Other, null, "The object store operation failed.") { }

    /// <summary>Why the operation failed.</summary>
    public ObjectStoreErrorKind Kind { get; }

    /// <summary>The key the operation was about, when there was one.</summary>
    public string? Key { get; }

    /// <summary>Whether retrying the same operation later may succeed.</summary>
    public bool IsTransient => Kind is ObjectStoreErrorKind.Throttled or ObjectStoreErrorKind.Unavailable;

    string ITelemetryErrorKind.ErrorKind => "store." + Kind.ToString().ToLowerInvariant();

    /// <summary>The object <paramref name="key"/> does not exist.</summary>
    public static ObjectStoreException NotFound(string key, Exception? inner = null) =>
        new(ObjectStoreErrorKind.NotFound, key, $"Object '{key}' does not exist in the store.", inner);

    /// <summary>A create-only put of <paramref name="key"/> found an existing object.</summary>
    public static ObjectStoreException AlreadyExists(string key, Exception? inner = null) =>
        new(ObjectStoreErrorKind.AlreadyExists, key, $"Object '{key}' already exists and was not overwritten.", inner);
}
