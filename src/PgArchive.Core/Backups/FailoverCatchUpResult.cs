namespace PgArchive.Backups;

/// <summary>What <see cref="FailoverCatchUp"/> copied to one store.</summary>
/// <param name="Storage">The store's name (<c>default</c> for the primary).</param>
/// <param name="Backups">The backups copied to it whole (sentinel last), with the WAL their restore needs.</param>
/// <param name="Copied">Objects written to it, backups' and WAL's together.</param>
/// <param name="BytesCopied">Bytes written to it.</param>
public sealed record FailoverCatchUpResult(string Storage, IReadOnlyList<string> Backups, int Copied, long BytesCopied);
