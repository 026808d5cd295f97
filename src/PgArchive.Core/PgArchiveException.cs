namespace PgArchive;

/// <summary>
/// The root of every exception PgArchive throws for an expected failure: the message says what went
/// wrong and what to do about it, and never contains a secret.
/// </summary>
public class PgArchiveException : Exception
{
    /// <summary>Creates an exception with an actionable message.</summary>
    public PgArchiveException(string message) : base(message) { }

    /// <summary>Creates an exception with an actionable message and the underlying cause.</summary>
    public PgArchiveException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates an exception with no message; prefer the overloads that take one.</summary>
    public PgArchiveException() { }
}

/// <summary>A setting is missing or invalid; the message names the setting.</summary>
public sealed class PgArchiveConfigurationException : PgArchiveException
{
    /// <inheritdoc />
    public PgArchiveConfigurationException(string message) : base(message) { }

    /// <inheritdoc />
    public PgArchiveConfigurationException(string message, Exception? innerException) : base(message, innerException) { }

    /// <inheritdoc />
    public PgArchiveConfigurationException() { }
}
