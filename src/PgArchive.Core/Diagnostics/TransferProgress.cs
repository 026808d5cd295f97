namespace PgArchive.Diagnostics;

/// <summary>How far a backup or restore has come: bytes of files done, and the expected total when known.</summary>
/// <param name="BytesDone">Bytes of files read (backup) or written (restore) so far.</param>
/// <param name="BytesTotal">The expected total, or null when unknown.</param>
/// <param name="CurrentItem">What is being worked on (a file or partition), for display.</param>
public readonly record struct TransferProgress(long BytesDone, long? BytesTotal, string? CurrentItem);
