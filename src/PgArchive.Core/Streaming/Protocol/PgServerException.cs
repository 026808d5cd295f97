namespace PgArchive.Streaming.Protocol;

/// <summary>The server answered with an ErrorResponse: its SQLSTATE, severity and message, prefixed with what was asked.</summary>
internal sealed class PgServerException : PgArchiveException
{
    public PgServerException(string message, string sqlState, string serverMessage, bool isFatal)
        : base(message)
    {
        SqlState = sqlState;
        ServerMessage = serverMessage;
        IsFatal = isFatal;
    }

    public PgServerException() : this("The server reported an error.", "", "", false) { }

    public PgServerException(string message) : this(message, "", message, false) { }

    public PgServerException(string message, Exception? innerException) : base(message, innerException)
    {
        SqlState = "";
        ServerMessage = message;
    }

    /// <summary>The SQLSTATE, e.g. <c>42704</c> (undefined object), <c>28000</c> (invalid authorization), <c>53300</c> (too many connections).</summary>
    public string SqlState { get; }

    /// <summary>The server's primary message.</summary>
    public string ServerMessage { get; }

    /// <summary>FATAL or PANIC: the server closes the connection.</summary>
    public bool IsFatal { get; }
}
