using PgArchive.Diagnostics;

namespace PgArchive.Wal;

/// <summary>The archive holds no WAL file of the name asked for (wal-fetch exits 74, as WAL-G does).</summary>
public sealed class WalFileNotFoundException : PgArchiveException, ITelemetryErrorKind
{
    /// <summary>Creates the exception for <paramref name="walFileName"/>.</summary>
    public WalFileNotFoundException(string walFileName)
        : base($"{walFileName} is not in the archive.") => WalFileName = walFileName;

    /// <summary>Creates the exception.</summary>
    public WalFileNotFoundException() : this("The WAL file") { }

    /// <summary>Creates the exception.</summary>
    public WalFileNotFoundException(string message, Exception? innerException) : base(message, innerException) => WalFileName = "";

    /// <summary>The file name asked for.</summary>
    public string WalFileName { get; }

    string ITelemetryErrorKind.ErrorKind => "not_found";
}
