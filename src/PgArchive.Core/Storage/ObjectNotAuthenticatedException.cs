namespace PgArchive.Storage;

/// <summary>
/// With archive authentication on (<see cref="AuthenticatingObjectStore"/>), an object whose authentication record is
/// missing or does not verify, or whose bytes are not those the record names. Every reader treats it as it treats a
/// damaged object; the message names the object and the reason, never the key.
/// </summary>
public sealed class ObjectNotAuthenticatedException : ObjectCorruptException
{
    /// <summary>Creates the exception for <paramref name="key"/>.</summary>
    public ObjectNotAuthenticatedException(string key, AuthenticationFailure failure)
        : base(key, $"'{key}' is not authenticated by the configured key ({Describe(failure)}): " +
            "the archive was written without authentication, with another key, or altered", null, ownMessage: true)
    {
        Failure = failure;
    }

    /// <summary>Creates the exception.</summary>
    public ObjectNotAuthenticatedException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public ObjectNotAuthenticatedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Why the object was refused.</summary>
    public AuthenticationFailure Failure { get; }

    private static string Describe(AuthenticationFailure failure) => failure switch
    {
        AuthenticationFailure.SidecarMissing => "sidecar missing",
        AuthenticationFailure.SidecarUnreadable => "sidecar unreadable",
        AuthenticationFailure.MacMismatch => "MAC mismatch",
        _ => "content differs",
    };
}
