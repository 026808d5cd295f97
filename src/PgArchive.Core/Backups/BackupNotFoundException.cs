namespace PgArchive.Backups;

/// <summary>The backup asked for does not exist (or, for LATEST, there is no backup at all).</summary>
public sealed class BackupNotFoundException : PgArchiveException
{
    /// <summary>Creates the exception.</summary>
    public BackupNotFoundException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public BackupNotFoundException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception.</summary>
    public BackupNotFoundException() : base("The backup does not exist.") { }
}
