namespace PgArchive.Storage;

/// <summary>Why <see cref="AuthenticatingObjectStore"/> refused an object.</summary>
public enum AuthenticationFailure
{
    /// <summary>No authentication record is stored beside the object: it was written without authentication, or added by someone else.</summary>
    SidecarMissing,

    /// <summary>The authentication record is not one PgArchive writes (malformed, too large, another version or algorithm).</summary>
    SidecarUnreadable,

    /// <summary>The record's MAC does not verify: it was made with another key, for another object name, or altered.</summary>
    MacMismatch,

    /// <summary>The record is authentic but the object's bytes (size or SHA-256) are not those it names: the object was altered.</summary>
    ContentDiffers,
}
