namespace PgArchive.Storage;

/// <summary>
/// An object read from the store is not the one that was written: it was truncated, altered or replaced
/// (<see cref="ObjectNotAuthenticatedException"/> when authentication tells so).
/// </summary>
public class ObjectCorruptException : PgArchiveException
{
    /// <summary>Creates the exception for <paramref name="key"/>.</summary>
    public ObjectCorruptException(string key, string detail)
        : base($"'{key}' is damaged: {detail}")
    {
        Key = key;
    }

    /// <summary>Creates the exception.</summary>
    public ObjectCorruptException()
    {
        Key = "";
    }

    /// <summary>Creates the exception.</summary>
    public ObjectCorruptException(string message, Exception innerException)
        : base(message, innerException)
    {
        Key = "";
    }

    /// <summary>Creates the exception for <paramref name="key"/> with a message of its own.</summary>
    protected ObjectCorruptException(string key, string message, Exception? innerException)
        : base(message, innerException)
    {
        Key = key;
    }

    /// <summary>The object's key.</summary>
    public string Key { get; }
}
