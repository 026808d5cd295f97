namespace PgArchive.Wal;

/// <summary>wal-push found a different file already archived under the same name and did not overwrite it.</summary>
public sealed class WalArchiveConflictException : PgArchiveException
{
    /// <summary>Creates the exception.</summary>
    public WalArchiveConflictException(string walFileName, string key)
        : base($"{walFileName} is already archived as '{key}' with different content; it was not overwritten. " +
               "Two clusters may be archiving to the same prefix: give each its own storage prefix.") { }

    /// <summary>Creates the exception.</summary>
    public WalArchiveConflictException() : base("A WAL file is already archived with different content.") { }

    /// <summary>Creates the exception.</summary>
    public WalArchiveConflictException(string message, Exception? innerException) : base(message, innerException) { }
}
