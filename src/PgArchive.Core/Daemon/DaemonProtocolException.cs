namespace PgArchive.Daemon;

/// <summary>A message of the daemon protocol is malformed (a truncated or inconsistent body, a length out of range).</summary>
internal sealed class DaemonProtocolException : PgArchiveException
{
    /// <inheritdoc />
    public DaemonProtocolException(string message) : base(message) { }

    /// <inheritdoc />
    public DaemonProtocolException(string message, Exception? innerException) : base(message, innerException) { }

    /// <inheritdoc />
    public DaemonProtocolException() { }
}
