namespace PgArchive.Storage;

/// <summary>
/// An object read from the store is not the one that was written (truncated, altered or replaced), or not one PgArchive
/// can accept (a JSON object with a missing or mistyped field, an object over its size limit);
/// <see cref="ObjectNotAuthenticatedException"/> when archive authentication tells so.
/// </summary>
public class ObjectCorruptException : PgArchiveException
{
    /// <summary>Creates the exception for <paramref name="key"/>.</summary>
    public ObjectCorruptException(string key, string detail)
        : this(key, detail, null)
    {
    }

    /// <summary>Creates the exception for <paramref name="key"/>, with what found the damage.</summary>
    public ObjectCorruptException(string key, string detail, Exception? innerException)
        : base($"'{key}' is damaged: {detail}", innerException)
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

    /// <summary>Creates the exception for <paramref name="key"/> with a message of its own (a subclass's), not "is damaged".</summary>
#pragma warning disable CA1801, IDE0060 // the flag only tells this constructor from the public one of the same types
    private protected ObjectCorruptException(string key, string message, Exception? innerException, bool ownMessage)
#pragma warning restore CA1801, IDE0060
        : base(message, innerException)
    {
        Key = key;
    }

    /// <summary>The object's key.</summary>
    public string Key { get; }
}
